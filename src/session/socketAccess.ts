// Who may use the Unix client socket. The socket is bound with a umask that leaves group and
// others no access, so it is never open wider than asked, not even for a moment; then it gets
// its owner and group (chown) and its mode (chmod). Spread makes it 0666, open to every local
// user; ringcast's default is 0660 for the daemon's own user and group.
// Node has no getpwnam: user and group names are looked up in /etc/passwd and /etc/group;
// numeric ids are taken as they are.
import * as fs from 'node:fs';
import { RingcastError } from '../errors';

export interface SocketAccess {
  /** Permission bits, e.g. 0o660. */
  readonly mode: number;
  /** User name or uid to own the socket; null: the daemon's user. */
  readonly owner: string | null;
  /** Group name or gid; null: the daemon's group. */
  readonly group: string | null;
}

/**
 * Runs `bind` (which must create the socket synchronously, as net.Server.listen does) with umask
 * 0177, so the socket starts as 0600 at most.
 */
export function withPrivateUmask<T>(bind: () => T): T {
  let old: number | undefined;
  try {
    old = process.umask(0o177);
  } catch {
    old = undefined; // worker threads may not change the umask: chmod below still applies
  }
  try {
    return bind();
  } finally {
    if (old !== undefined) process.umask(old);
  }
}

/**
 * Gives the socket at `path` its owner, group and mode (owner first, so it is never open to
 * the wrong group).
 * @throws RingcastError SESSION_LISTEN when a name is unknown or chown/chmod fails.
 */
export function applySocketAccess(path: string, access: SocketAccess): void {
  try {
    const uid = access.owner === null ? -1 : lookupId('/etc/passwd', 'user', access.owner);
    const gid = access.group === null ? -1 : lookupId('/etc/group', 'group', access.group);
    if (uid !== -1 || gid !== -1) fs.chownSync(path, uid, gid);
    fs.chmodSync(path, access.mode);
  } catch (e) {
    if (e instanceof RingcastError) throw e;
    throw new RingcastError('SESSION_LISTEN', `cannot set the access of client socket ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * A uid or gid: `name` itself when numeric, else its entry in `file` (name:x:id:…).
 * @throws RingcastError SESSION_LISTEN for a name that is not there.
 */
export function lookupId(file: string, what: 'user' | 'group', name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    /* no such file: the name is unknown */
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] !== undefined && /^\d+$/.test(fields[2])) return Number(fields[2]);
  }
  throw new RingcastError('SESSION_LISTEN', `unknown ${what} "${name}" for the client socket (not in ${file}; a numeric id works too)`);
}
