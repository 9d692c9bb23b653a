// `ringcast status`: connects as a client and asks the daemon for its status on the reserved
// group #ringcast-status (src/wire/status.ts; ringcast daemons answer it in src/session). What
// the handshake tells (private group, daemon name and version) is printed in any case, so the
// command also says something useful about a Spread daemon.
import type { Command } from 'commander';
import { UsageError } from '../errors';
import { DEFAULT_DAEMON, parseDaemonAddress } from '../client/address';
import { connect } from '../client/connect';
import { STATUS_GROUP, requestStatus, type StatusReport } from '../client/statusProtocol';
import type { Session } from '../client/session';
import { AUTH_FLAG_HELP, authMethodsOption, numberOption } from './options';

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

const counterText = (c: Readonly<Record<string, number>> | undefined): string =>
  c === undefined ? '' : Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ');

function duration(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return h > 0 ? `${h}h ${m}m ${s}s` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The plain report: one labelled line per fact, continuation lines indented. */
export function formatStatus(out: StatusOutput, timeoutMs: number): string[] {
  const label = (l: string): string => l.padEnd(11);
  const s = out.status;
  const d = s?.daemon;
  const about = d
    ? [
        d.id !== undefined ? `id ${d.id}` : undefined,
        d.incarnation !== undefined ? `incarnation ${d.incarnation}` : undefined,
        d.version !== undefined ? `ringcast ${d.version}` : undefined,
        d.uptimeSec !== undefined ? `up ${duration(d.uptimeSec)}` : undefined,
      ].filter((x) => x !== undefined)
    : [];
  const lines = [
    `${label('daemon')}${out.daemonName} at ${out.daemon} (Spread protocol ${out.daemonVersion}${about.length > 0 ? `; ${about.join(', ')}` : ''})`,
  ];
  if (d?.clients && d.clients.length > 0) lines.push(`${label('clients')}${d.clients.join(', ')}`);
  lines.push(`${label('session')}${out.privateGroup}`);
  if (s === null) {
    lines.push(`${label('status')}not available: no answer on ${STATUS_GROUP} within ${timeoutMs} ms (the daemon has no status service: a Spread daemon, or a ringcast daemon without it yet)`);
    return lines;
  }
  lines.push(s.ring ? `${label('ring')}${s.ring.id}${s.ring.state ? ` (${s.ring.state})` : ''}: ${s.ring.members.join(' ')}` : `${label('ring')}none (not in a ring yet)`);
  if (s.links) {
    let first = true;
    for (const [member, links] of Object.entries(s.links)) {
      for (const link of links) {
        lines.push(`${label(first ? 'links' : '')}${member} ${link.address} ${link.state} ${counterText(link.counters)}`.trimEnd());
        first = false;
      }
    }
    if (first) lines.push(`${label('links')}none`);
  } else {
    lines.push(`${label('links')}${s.linksNote ?? 'link status not available'}`);
  }
  if (s.sessions) {
    const names = s.sessions.names && s.sessions.names.length > 0 ? `: ${s.sessions.names.join(' ')}` : '';
    lines.push(`${label('sessions')}${s.sessions.local} here${names}`);
    if (s.sessions.perDaemon) {
      const per = Object.entries(s.sessions.perDaemon).map(([daemon, n]) => `${daemon} ${n}`);
      lines.push(`${label('')}clients in groups per daemon: ${per.join(', ')}`);
    }
  }
  if (s.groups) {
    const total = s.groupCount ?? s.groups.length;
    const state = s.groupsState && s.groupsState !== 'operational' ? ` (groups layer ${s.groupsState})` : '';
    lines.push(`${label('groups')}${total}${state}${total > 0 ? ':' : ''}`);
    for (const g of s.groups) lines.push(`${label('')}${g.name} ${plural(g.members, 'member')} (id ${g.id})`);
    if (total > s.groups.length) lines.push(`${label('')}… and ${total - s.groups.length} more`);
  }
  if (s.counters) {
    const areas = Object.entries(s.counters);
    const width = Math.max(0, ...areas.map(([area]) => area.length));
    areas.forEach(([area, c], i) => lines.push(`${label(i === 0 ? 'counters' : '')}${area.padEnd(width)}  ${counterText(c)}`));
  }
  if (s.error) lines.push(`${label('error')}${s.error}`);
  return lines;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('ask a daemon for its ring, members, links, sessions and counters')
    .option('--daemon <address>', 'daemon: PORT@HOST, PORT (TCP on 127.0.0.1) or a Unix socket path', DEFAULT_DAEMON)
    .option('--json', 'print one JSON object')
    .option('--timeout <ms>', 'how long to wait for the status reply', numberOption('--timeout', true), 2000)
    .option('--auth <methods>', AUTH_FLAG_HELP, authMethodsOption)
    .action(async (flags: { daemon: string; json?: boolean; timeout: number; auth?: string[] }) => {
      try {
        parseDaemonAddress(flags.daemon);
      } catch (err) {
        throw new UsageError(`--daemon: ${(err as Error).message}`);
      }
      const session = await connect({ daemon: flags.daemon, membership: false, ...(flags.auth ? { authMethods: flags.auth } : {}) });
      try {
        const report = await requestStatus(session, flags.timeout);
        const out = statusOutput(session, report);
        process.stdout.write(flags.json ? JSON.stringify(out) + '\n' : formatStatus(out, flags.timeout).join('\n') + '\n');
      } finally {
        await session.disconnect();
      }
    });
}
