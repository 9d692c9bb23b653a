// The shared key file of AuthKeyFile: AUTH_KEY_BYTES random bytes, readable by its owner only
// (root, or the daemon's own user). `ringcast keygen` writes one; the daemon reads it at start
// and refuses one that others could read or that has the wrong size.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RingcastError } from '../errors';
import { AUTH_KEY_BYTES } from '../wire/auth';
import type { SpreadConfig } from './types';

export const DEFAULT_AUTH_KEY_FILE = '/etc/ringcast/authkey';
const KEY_FILE_MODE = 0o600;

/** AuthKeyFile as a path: relative ones are relative to the spread.conf that names them. null = no key. */
export function authKeyPath(config: Pick<SpreadConfig, 'file' | 'options'>): string | null {
  const file = config.options.authKeyFile;
  return file === null ? null : path.resolve(path.dirname(config.file), file);
}

/**
 * Reads a key file.
 * @throws RingcastError ('AUTH_KEY') when it cannot be read, is not a regular file, is owned by
 * another user than root or this process's, may be read or written by group or others, or does
 * not hold exactly AUTH_KEY_BYTES bytes.
 */
export function readAuthKey(file: string): Buffer {
  const fail = (why: string, cause?: unknown): never => {
    throw new RingcastError('AUTH_KEY', `key file ${file}: ${why}`, cause === undefined ? {} : { cause });
  };
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (cause) {
    return fail(`cannot open it: ${(cause as Error).message} (ringcast keygen -o ${file} makes one)`, cause);
  }
  try {
    // One open file for the checks and the read: the file cannot be swapped in between.
    const st = fs.fstatSync(fd);
    if (!st.isFile()) fail('not a regular file');
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== 0 && st.uid !== uid) fail(`owned by uid ${st.uid}, neither root nor this daemon's user (uid ${uid})`);
    if ((st.mode & 0o077) !== 0) {
      fail(`mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} lets group or others at it; it must be readable by its owner only (chmod 600 ${file})`);
    }
    if (st.size !== AUTH_KEY_BYTES) fail(`${st.size} bytes; a key has ${AUTH_KEY_BYTES} (ringcast keygen makes one)`);
    const key = Buffer.alloc(AUTH_KEY_BYTES);
    if (fs.readSync(fd, key, 0, AUTH_KEY_BYTES, 0) !== AUTH_KEY_BYTES) fail('shorter than its size says');
    return key;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a new random key to `file` with mode 0600, all at once (a temporary file renamed into
 * place), creating the folder if needed.
 * @throws RingcastError ('AUTH_KEY') when the file exists and `force` is not set, or it cannot be written.
 */
export function writeAuthKey(file: string, opts: { force?: boolean } = {}): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.rmSync(tmp, { force: true }); // left by a killed run of a process with our pid
    const fd = fs.openSync(tmp, 'wx', KEY_FILE_MODE);
    try {
      fs.fchmodSync(fd, KEY_FILE_MODE); // whatever the umask
      fs.writeSync(fd, randomBytes(AUTH_KEY_BYTES));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (opts.force) fs.renameSync(tmp, file);
    else fs.linkSync(tmp, file); // fails if the file exists: never overwrites without --force
  } catch (cause) {
    const exists = (cause as NodeJS.ErrnoException).code === 'EEXIST' && !opts.force;
    throw new RingcastError('AUTH_KEY', exists ? `${file} exists; --force replaces it (daemons with the old key then reject this one)` : `cannot write key file ${file}: ${(cause as Error).message}`, { cause });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
