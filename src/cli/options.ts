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

/** `--auth NULL,IP`: the auth methods a client chooses (1 to 3). */
export const AUTH_FLAG_HELP = 'auth methods to choose, comma-separated, e.g. IP (default NULL)';
export function authMethodsOption(v: string): string[] {
  const methods = v.split(',').map((m) => m.trim()).filter(Boolean);
  if (methods.length < 1 || methods.length > 3) throw new UsageError(`--auth takes 1 to 3 comma-separated method names, not "${v}"`);
  return methods;
}
