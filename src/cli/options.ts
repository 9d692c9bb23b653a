// Shared option parsing for the CLI commands.
import { UsageError } from '../errors';

/** Parses a number option, with a usage error naming the flag. */
export function numberOption(flag: string, integer = false): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      throw new UsageError(`${flag} takes ${integer ? 'a whole number' : 'a number'}, not "${v}"`);
    }
    return n;
  };
}
