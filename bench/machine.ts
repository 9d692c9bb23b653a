// What a benchmark section says about where it ran: the machine and the commit.
import { execSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

export function machine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return (
    `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
    `${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}; load average at start ${load}`
  );
}

/** The checked-out commit, with "+ uncommitted changes" when the tree differs from it. */
export function commit(cwd = path.resolve(__dirname, '../..')): string {
  try {
    const rev = execSync('git rev-parse --short HEAD', { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${rev} + uncommitted changes` : rev;
  } catch {
    return 'unknown';
  }
}
