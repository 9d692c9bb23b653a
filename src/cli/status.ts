// `ringcast status`: connects as a client and asks the daemon for its status on the reserved
// group #ringcast-status (src/client/statusProtocol.ts). What the handshake tells (private
// group, daemon name and version) is printed in any case.
// TODO(session): until the daemon's session layer answers status requests, the report part is
// "not available"; nothing here needs to change when it does.
import type { Command } from 'commander';
import { UsageError } from '../errors';
import { DEFAULT_DAEMON, parseDaemonAddress } from '../client/address';
import { connect } from '../client/connect';
import { STATUS_GROUP, requestStatus, type StatusReport } from '../client/statusProtocol';
import type { Session } from '../client/session';
import { numberOption } from './options';

export interface StatusOutput {
  readonly daemon: string;
  readonly daemonName: string;
  readonly daemonVersion: string;
  readonly privateGroup: string;
  /** null: the daemon did not answer the status request. */
  readonly status: StatusReport | null;
}

export function statusOutput(session: Session, report: StatusReport | undefined): StatusOutput {
  const v = session.daemonVersion;
  return {
    daemon: session.daemon,
    daemonName: session.daemonName,
    daemonVersion: `${v.major}.${v.minor}.${v.patch}`,
    privateGroup: session.privateGroup,
    status: report ?? null,
  };
}

const counters = (c: Readonly<Record<string, number>> | undefined): string =>
  c === undefined ? '' : Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ');

/** The plain report. */
export function formatStatus(out: StatusOutput, timeoutMs: number): string[] {
  const lines = [
    `daemon     ${out.daemonName} at ${out.daemon} (Spread protocol ${out.daemonVersion})`,
    `session    ${out.privateGroup}`,
  ];
  const s = out.status;
  if (s === null) {
    lines.push(`status     not available: no answer on ${STATUS_GROUP} within ${timeoutMs} ms (the daemon has no status service: a Spread daemon, or a ringcast daemon without it yet)`);
    return lines;
  }
  lines.push(s.ring ? `ring       ${s.ring.id}: ${s.ring.members.join(' ')}` : 'ring       none (not in a ring yet)');
  for (const [member, links] of Object.entries(s.links ?? {})) {
    for (const link of links) lines.push(`link       ${member} ${link.address} ${link.state} ${counters(link.counters)}`);
  }
  if (s.sessions) {
    const per = s.sessions.perDaemon ? ` (${Object.entries(s.sessions.perDaemon).map(([d, n]) => `${d}: ${n}`).join(', ')})` : '';
    lines.push(`sessions   ${s.sessions.local} here${per}`);
  }
  if (s.counters) lines.push(`counters   ${counters(s.counters)}`);
  return lines;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('ask a daemon for its ring, members, links, sessions and counters')
    .option('--daemon <address>', 'daemon: PORT@HOST, PORT (TCP on 127.0.0.1) or a Unix socket path', DEFAULT_DAEMON)
    .option('--json', 'print one JSON object')
    .option('--timeout <ms>', 'how long to wait for the status reply', numberOption('--timeout', true), 2000)
    .action(async (flags: { daemon: string; json?: boolean; timeout: number }) => {
      try {
        parseDaemonAddress(flags.daemon);
      } catch (err) {
        throw new UsageError(`--daemon: ${(err as Error).message}`);
      }
      const session = await connect({ daemon: flags.daemon, membership: false });
      try {
        const report = await requestStatus(session, flags.timeout);
        const out = statusOutput(session, report);
        process.stdout.write(flags.json ? JSON.stringify(out) + '\n' : formatStatus(out, flags.timeout).join('\n') + '\n');
      } finally {
        await session.disconnect();
      }
    });
}
