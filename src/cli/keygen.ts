// `ringcast keygen [-o FILE] [--force]`: a new shared key for AuthKeyFile (mode 0600).
import type { Command } from 'commander';
import { DEFAULT_AUTH_KEY_FILE, writeAuthKey } from '../config/authKey';
import { AUTH_KEY_BYTES } from '../wire/auth';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('write a random key for AuthKeyFile (authenticated daemon traffic), readable by its owner only')
    .option('-o, --output <file>', 'where to write it', DEFAULT_AUTH_KEY_FILE)
    .option('--force', 'replace an existing key file')
    .action((flags: { output: string; force?: boolean }) => {
      writeAuthKey(flags.output, { force: flags.force ?? false });
      process.stdout.write(
        `wrote a ${AUTH_KEY_BYTES}-byte key to ${flags.output} (mode 0600); copy it to every daemon's host ` +
          `(e.g. scp -p) and set AuthKeyFile = "${flags.output}" in spread.conf\n`,
      );
    });
}
