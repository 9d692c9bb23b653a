// `ringcast user`: an interactive client in the manner of Spread's spuser. Reads commands from
// stdin (a terminal or a pipe), prints what the session receives.
import * as readline from 'node:readline';
import type { Command } from 'commander';
import { SERVICE_NAMES, isServiceName, type ServiceName } from '../core/service';
import { RingcastError, UsageError } from '../errors';
import { DEFAULT_DAEMON, parseDaemonAddress } from '../client/address';
import { connect } from '../client/connect';
import { describeMessage } from '../client/describe';
import type { ReceivedMessage } from '../client/received';
import type { Session } from '../client/session';
import { AUTH_FLAG_HELP, authMethodsOption } from './options';

export type UserCommand =
  | { readonly kind: 'join'; readonly group: string }
  | { readonly kind: 'leave'; readonly group: string }
  /** text undefined: ask for the message on the next line. */
  | { readonly kind: 'send'; readonly groups: readonly string[]; readonly text?: string }
  | { readonly kind: 'burst'; readonly group: string; readonly count: number }
  | { readonly kind: 'service'; readonly service: ServiceName }
  | { readonly kind: 'messType'; readonly messType: number }
  | { readonly kind: 'selfDiscard'; readonly on?: boolean }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'help' }
  | { readonly kind: 'quit' }
  | { readonly kind: 'nothing' }
  | { readonly kind: 'error'; readonly message: string };

/** One-letter service selectors (SAFE: `service SAFE`, or just `SAFE`). */
export const SERVICE_LETTERS: Readonly<Record<string, ServiceName>> = {
  u: 'UNRELIABLE',
  r: 'RELIABLE',
  f: 'FIFO',
  c: 'CAUSAL',
  a: 'AGREED',
};

export const USER_HELP = [
  'Commands:',
  '  j <group>                 join a group',
  '  l <group>                 leave a group',
  '  s <group> [text]          send to a group (without text: the next line is the message)',
  '  s <g1> <g2>… -- <text>    send one message to several groups',
  '  m <g1> <g2>…              send one message to several groups; the next line is the message',
  '  b <group> [n]             send a burst of n messages (default 10)',
  '  u | r | f | c | a         service UNRELIABLE | RELIABLE | FIFO | CAUSAL | AGREED',
  '  service <NAME>            any service by name (also just: SAFE, agreed, …)',
  '  t <n>                     mess_type of what you send (default 1)',
  '  discard [on|off]          SELF_DISCARD: do not receive your own messages',
  '  w [ms]                    wait (default 500 ms), for scripts',
  '  h | ?                     this help',
  '  q                         quit',
];

function needs(what: string, command: string): UserCommand {
  return { kind: 'error', message: `${command}: give ${what}` };
}

/** Parses one command line (pure). */
export function parseUserLine(line: string): UserCommand {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'nothing' };
  const [word, ...rest] = trimmed.split(/\s+/);
  const command = word!;
  const lower = command.toLowerCase();
  if (rest.length === 0 && isServiceName(command.toUpperCase()) && command.length > 1) {
    return { kind: 'service', service: command.toUpperCase() as ServiceName };
  }
  switch (lower) {
    case 'j':
    case 'join':
      return rest.length === 1 ? { kind: 'join', group: rest[0]! } : needs('one group', command);
    case 'l':
    case 'leave':
      return rest.length === 1 ? { kind: 'leave', group: rest[0]! } : needs('one group', command);
    case 's':
    case 'send':
    case 'm': {
      if (rest.length === 0) return needs('a group', command);
      // Everything after the command word, so the message keeps its own spacing.
      const afterWord = trimmed.slice(command.length).trimStart();
      const separator = afterWord.search(/(^|\s)--(\s|$)/);
      if (separator >= 0) {
        const groups = afterWord.slice(0, separator).split(/\s+/).filter(Boolean);
        const text = afterWord.slice(separator).replace(/^\s*--\s?/, '');
        return groups.length > 0 ? { kind: 'send', groups, text } : needs('a group before --', command);
      }
      if (lower === 'm' || rest.length === 1) return { kind: 'send', groups: rest };
      // `s group text…`
      return { kind: 'send', groups: [rest[0]!], text: afterWord.slice(rest[0]!.length).trimStart() };
    }
    case 'b':
    case 'burst': {
      if (rest.length < 1 || rest.length > 2) return needs('a group and optionally a count', command);
      const count = rest[1] === undefined ? 10 : Number(rest[1]);
      if (!Number.isInteger(count) || count < 1) return { kind: 'error', message: `${command}: count must be a whole number ≥ 1, not "${rest[1]}"` };
      return { kind: 'burst', group: rest[0]!, count };
    }
    case 'service': {
      const name = rest[0]?.toUpperCase();
      if (rest.length !== 1 || name === undefined || !isServiceName(name)) return needs(`one of ${SERVICE_NAMES.join(' ')}`, command);
      return { kind: 'service', service: name };
    }
    case 't':
    case 'type': {
      const n = Number(rest[0]);
      if (rest.length !== 1 || !Number.isInteger(n) || n < -0x8000 || n > 0xffff) return needs('a mess_type (-32768..65535)', command);
      return { kind: 'messType', messType: n };
    }
    case 'discard': {
      if (rest.length === 0) return { kind: 'selfDiscard' };
      const v = rest[0]!.toLowerCase();
      if (rest.length === 1 && (v === 'on' || v === 'off')) return { kind: 'selfDiscard', on: v === 'on' };
      return needs('on or off', command);
    }
    case 'w':
    case 'wait': {
      const ms = rest[0] === undefined ? 500 : Number(rest[0]);
      if (rest.length > 1 || !Number.isFinite(ms) || ms < 0) return needs('milliseconds', command);
      return { kind: 'wait', ms };
    }
    case 'h':
    case '?':
    case 'help':
      return { kind: 'help' };
    case 'q':
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
  }
  const service = SERVICE_LETTERS[lower];
  if (service !== undefined && rest.length === 0) return { kind: 'service', service };
  return { kind: 'error', message: `unknown command "${command}" (h for help)` };
}

interface UserState {
  service: ServiceName;
  messType: number;
  selfDiscard: boolean;
}

/** Runs the interactive loop until q, end of input, or the session ends. */
async function runUser(session: Session, input: NodeJS.ReadableStream, output: NodeJS.WritableStream & { isTTY?: boolean }): Promise<void> {
  const interactive = Boolean((input as { isTTY?: boolean }).isTTY && output.isTTY);
  const rl = readline.createInterface({ input, output, terminal: interactive });
  const state: UserState = { service: 'SAFE', messType: 1, selfDiscard: false };
  const prompt = () => {
    if (interactive) {
      rl.setPrompt('User> ');
      rl.prompt(true);
    }
  };
  // Received messages appear above the prompt line.
  const print = (lines: readonly string[]) => {
    if (interactive) {
      readline.clearLine(output, 0);
      readline.cursorTo(output, 0);
    }
    output.write(lines.join('\n') + '\n');
    prompt();
  };
  const show = (m: ReceivedMessage) => print(describeMessage(m, session.privateGroup));
  session.on('message', show);
  session.on('membership', show);
  session.on('reject', show);
  void session.closed.then((error) => {
    if (error) {
      print([`session closed: ${error.message}`]);
      process.exitCode = 1;
    }
    rl.close();
  });

  print([
    `connected to ${session.daemon} (daemon ${session.daemonName}, Spread ${session.daemonVersion.major}.${session.daemonVersion.minor}.${session.daemonVersion.patch}) as ${session.privateGroup}`,
    'h for help',
  ]);

  let pendingSend: readonly string[] | undefined;
  const send = async (groups: readonly string[], text: string) => {
    await session.multicast(groups, `${text}\n`, { service: state.service, messType: state.messType, selfDiscard: state.selfDiscard });
  };

  for await (const line of rl) {
    try {
      if (pendingSend !== undefined) {
        const groups = pendingSend;
        pendingSend = undefined;
        await send(groups, line);
        prompt();
        continue;
      }
      const command = parseUserLine(line);
      switch (command.kind) {
        case 'join':
          await session.join(command.group);
          break;
        case 'leave':
          await session.leave(command.group);
          break;
        case 'send':
          if (command.text === undefined) {
            pendingSend = command.groups;
            if (interactive) {
              rl.setPrompt('message> ');
              rl.prompt();
            }
            continue;
          }
          await send(command.groups, command.text);
          break;
        case 'burst':
          for (let i = 1; i <= command.count; i++) await send([command.group], `mess num ${i}`);
          print([`sent ${command.count} ${state.service} messages to ${command.group}`]);
          continue;
        case 'service':
          state.service = command.service;
          print([`service is now ${state.service}`]);
          continue;
        case 'messType':
          state.messType = command.messType;
          print([`mess_type is now ${state.messType}`]);
          continue;
        case 'selfDiscard':
          state.selfDiscard = command.on ?? !state.selfDiscard;
          print([`SELF_DISCARD is ${state.selfDiscard ? 'on' : 'off'}`]);
          continue;
        case 'wait':
          await new Promise((resolve) => setTimeout(resolve, command.ms));
          break;
        case 'help':
          print([...USER_HELP, `service ${state.service}, mess_type ${state.messType}, SELF_DISCARD ${state.selfDiscard ? 'on' : 'off'}`]);
          continue;
        case 'quit':
          rl.close();
          break;
        case 'nothing':
          break;
        case 'error':
          print([command.message]);
          continue;
      }
    } catch (err) {
      print([err instanceof RingcastError ? `error ${err.code}: ${err.message}` : String(err)]);
      if (session.isClosed) break;
      continue;
    }
    prompt();
  }
  await session.disconnect();
}

export function registerUser(program: Command): void {
  program
    .command('user')
    .description('interactive client in the manner of spuser: join, leave, send, see what arrives')
    .option('--daemon <address>', 'daemon: PORT@HOST, PORT (TCP on 127.0.0.1) or a Unix socket path', DEFAULT_DAEMON)
    .option('--name <name>', 'private name (default: the daemon makes one up)')
    .option('--no-membership', 'do not receive membership messages')
    .option('--auth <methods>', AUTH_FLAG_HELP, authMethodsOption)
    .action(async (flags: { daemon: string; name?: string; membership: boolean; auth?: string[] }) => {
      try {
        parseDaemonAddress(flags.daemon);
      } catch (err) {
        throw new UsageError(`--daemon: ${(err as Error).message}`);
      }
      const session = await connect({
        daemon: flags.daemon,
        ...(flags.name !== undefined ? { name: flags.name } : {}),
        membership: flags.membership,
        ...(flags.auth !== undefined ? { authMethods: flags.auth } : {}),
      });
      await runUser(session, process.stdin, process.stdout);
    });
}
