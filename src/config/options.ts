// The top-level `Name = value` options: what each accepts, and Spread's default for each
// (shared/design/config.md, read off Spread 5.0.1), plus ringcast's own options.

import type { ConfigOptions, ListenAddress, Timeouts } from './types';
import { DEBUG_FLAGS, EVENT_PRIORITIES } from './types';

/** How an option's value is written. */
export type OptionKind =
  | 'number' // whole number in [min, max]
  | 'timeout' // whole number of milliseconds > 0
  | 'bool' // true/false/yes/no/on/off, any case
  | 'portReuse' // on/off/auto (booleans accepted as on/off)
  | 'string' // bare word or quoted string
  | 'choice' // one of `choices`, any case
  | 'authList' // string of space-separated method names
  | 'debugFlags' // { ALL !EXIT ... }
  | 'listenAddress' // ADDR:PORT, [v6]:PORT, or PORT alone (the address is then chosen by the user of the option)
  | 'mode' // octal permission bits, e.g. 0660
  | 'cidrList' // { 127.0.0.0/8 10.0.0.0/8 ::1 } (a bare address is one host)
  | 'flag'; // bare name = on; or `= bool`; EventTimeStamp also `= "format"`

export interface OptionSpec {
  /** As Spread spells it; option names are case-sensitive, as in Spread. */
  name: string;
  kind: OptionKind;
  /** Where the value goes: a ConfigOptions field, or a Timeouts field for kind 'timeout'. */
  key: keyof ConfigOptions | keyof Timeouts;
  min?: number;
  max?: number;
  /** Canonical spellings for kind 'choice'. */
  choices?: readonly string[];
  /** Extra spellings (lower case) → canonical, for kind 'choice'. */
  aliases?: Readonly<Record<string, string>>;
  /** A correct line, shown in hints. */
  example: string;
}

/** Spread's NUMBER token is at most 9 digits. */
const SPREAD_NUMBER_MAX = 999_999_999;

/**
 * ringcast's defaults, chosen to meet its targets (a dead daemon noticed and a new ring installed
 * well within 1.5 s, partitions merged within 1 s) while a busy daemon never misses the token.
 * Spread 5.0.1's LAN values are Token 1250, Hurry 500, Alive 250, Join 250, Rep 625, Seg 500,
 * Gather 1250, Form 1250, Lookup 30000; WAN 5000/1500/250/250/1250/500/2500/2500/45000.
 * What each means here: Token = no token for this long is a failure; Hurry = the token (and the
 * commit token) is resent this often until it is seen to arrive; Alive = a ring's
 * representative probes for other rings this often (merges); Join = join messages are repeated
 * this often while gathering; Gather = daemons silent this long while gathering are declared
 * failed; Form = a ring formation that has not completed in this long starts over.
 * Rep, Seg and Lookup are accepted for compatibility and not used.
 */
export const LAN_TIMEOUTS: Readonly<Timeouts> = {
  token: 500, hurry: 20, alive: 150, join: 30, rep: 625, seg: 500, gather: 200, form: 400, lookup: 30000,
};
export const WAN_TIMEOUTS: Readonly<Timeouts> = {
  token: 2000, hurry: 80, alive: 600, join: 120, rep: 1250, seg: 500, gather: 800, form: 1600, lookup: 45000,
};

/** ringcast's own defaults. 1400 bytes of payload leaves room for IP, UDP and ringcast
 *  headers in a 1500-byte Ethernet MTU. */
export const DEFAULT_PAYLOAD_BUDGET = 1400;
/** When every daemon is on loopback (MTU 64 KiB): fewer, larger datagrams (bench/RESULTS.md). */
export const LOOPBACK_PAYLOAD_BUDGET = 16000;
export const MIN_PAYLOAD_BUDGET = 512;
/** Below a UDP datagram's 65507-byte limit, leaving room for headers. */
export const MAX_PAYLOAD_BUDGET = 65000;
export const DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
/** 1 MiB messages must always work. */
export const MIN_MAX_MESSAGE_SIZE = 1024 * 1024;
export const MAX_MAX_MESSAGE_SIZE = 1024 * 1024 * 1024;
/** Owner and group may use the socket, nobody else (Spread: 0666, any local user). */
export const DEFAULT_CLIENT_SOCKET_MODE = 0o660;
/** The IP auth method lets in loopback clients unless IpAllow says otherwise. */
export const DEFAULT_IP_ALLOW: readonly string[] = ['127.0.0.0/8', '::1/128'];
export const DEFAULT_MAX_SESSIONS = 1000;
export const DEFAULT_MAX_GROUPS_PER_SESSION = 1000;
/** 16 messages of the largest default size: a slow client cannot hold more than this. */
export const DEFAULT_MAX_SESSION_BYTES = 64 * 1024 * 1024;
export const DEFAULT_CLIENT_HANDSHAKE_TIMEOUT = 10_000;

/** Every option with a value that does not depend on the rest of the file. */
export const FIXED_DEFAULTS: Readonly<Omit<ConfigOptions, 'activeIpVersion' | 'wideAreaNetwork' | 'timeouts'>> = {
  eventLogFile: null,
  eventTimeStamp: false,
  eventTimeStampFormat: null,
  eventPreciseTimeStamp: false,
  debugFlags: ['EXIT', 'PRINT'],
  eventPriority: 'INFO',
  dangerousMonitor: false,
  socketPortReuse: 'auto',
  runtimeDir: '/var/run/spread',
  daemonUser: 'spread',
  daemonGroup: 'spread',
  allowedAuthMethods: ['NULL'],
  requiredAuthMethods: [],
  accessControlPolicy: 'PERMIT',
  maxSessionMessages: 1000,
  window: 160,
  personalWindow: 20,
  acceleratedWindow: 15,
  // ringcast's default (Spread 5.0.1's is false): the token moves on before this turn's packets,
  // which measured +30% on 1 KB messages with three loopback daemons (bench/RESULTS.md).
  acceleratedRing: true,
  excludeSegAddrsFromHash: false,
  ignoreMulticastJoinErrors: false,
  multipath: 'active',
  authKeyFile: null,
  encryption: false,
  payloadBudget: DEFAULT_PAYLOAD_BUDGET,
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  clientSocketDir: '/tmp',
  unicastSegment: false,
  metricsAddress: null,
  clientSocketMode: DEFAULT_CLIENT_SOCKET_MODE,
  clientSocketOwner: null,
  clientSocketGroup: null,
  ipAllow: [...DEFAULT_IP_ALLOW],
  maxSessions: DEFAULT_MAX_SESSIONS,
  maxGroupsPerSession: DEFAULT_MAX_GROUPS_PER_SESSION,
  maxSessionBytes: DEFAULT_MAX_SESSION_BYTES,
  clientHandshakeTimeout: DEFAULT_CLIENT_HANDSHAKE_TIMEOUT,
};

const number = (name: string, key: keyof ConfigOptions, min: number, max: number, example: string): OptionSpec =>
  ({ name, kind: 'number', key, min, max, example });
const timeout = (name: string, key: keyof Timeouts): OptionSpec =>
  ({ name, kind: 'timeout', key, min: 1, max: SPREAD_NUMBER_MAX, example: `${name} = ${LAN_TIMEOUTS[key]}` });
const bool = (name: string, key: keyof ConfigOptions): OptionSpec =>
  ({ name, kind: 'bool', key, example: `${name} = true` });
const string = (name: string, key: keyof ConfigOptions, example: string): OptionSpec =>
  ({ name, kind: 'string', key, example });

const SPECS: OptionSpec[] = [
  string('EventLogFile', 'eventLogFile', 'EventLogFile = /var/log/spread-%h.log'),
  { name: 'EventTimeStamp', kind: 'flag', key: 'eventTimeStamp', example: 'EventTimeStamp = "[%a %d %b %Y %H:%M:%S]"' },
  { name: 'EventPreciseTimeStamp', kind: 'flag', key: 'eventPreciseTimeStamp', example: 'EventPreciseTimeStamp' },
  { name: 'DebugFlags', kind: 'debugFlags', key: 'debugFlags', example: 'DebugFlags = { PRINT EXIT }' },
  {
    name: 'EventPriority', kind: 'choice', key: 'eventPriority', choices: EVENT_PRIORITIES,
    aliases: { debug: 'pDEBUG' }, example: 'EventPriority = INFO',
  },
  bool('DangerousMonitor', 'dangerousMonitor'),
  { name: 'SocketPortReuse', kind: 'portReuse', key: 'socketPortReuse', example: 'SocketPortReuse = AUTO' },
  string('RuntimeDir', 'runtimeDir', 'RuntimeDir = /var/run/spread'),
  string('DaemonUser', 'daemonUser', 'DaemonUser = spread'),
  string('DaemonGroup', 'daemonGroup', 'DaemonGroup = spread'),
  { name: 'AllowedAuthMethods', kind: 'authList', key: 'allowedAuthMethods', example: 'AllowedAuthMethods = "NULL IP"' },
  { name: 'RequiredAuthMethods', kind: 'authList', key: 'requiredAuthMethods', example: 'RequiredAuthMethods = "IP"' },
  // Spread only ships the PERMIT policy; another name would fail there too.
  {
    name: 'AccessControlPolicy', kind: 'choice', key: 'accessControlPolicy', choices: ['PERMIT'],
    example: 'AccessControlPolicy = PERMIT',
  },
  number('MaxSessionMessages', 'maxSessionMessages', 1, SPREAD_NUMBER_MAX, 'MaxSessionMessages = 1000'),
  {
    name: 'ActiveIPVersion', kind: 'choice', key: 'activeIpVersion', choices: ['IPv4', 'IPv6'],
    example: 'ActiveIPVersion = IPv4',
  },
  number('Window', 'window', 1, SPREAD_NUMBER_MAX, 'Window = 160'),
  number('PersonalWindow', 'personalWindow', 1, SPREAD_NUMBER_MAX, 'PersonalWindow = 20'),
  number('AcceleratedWindow', 'acceleratedWindow', 0, SPREAD_NUMBER_MAX, 'AcceleratedWindow = 15'),
  bool('AcceleratedRing', 'acceleratedRing'),
  bool('WideAreaNetwork', 'wideAreaNetwork'),
  timeout('TokenTimeout', 'token'),
  timeout('HurryTimeout', 'hurry'),
  timeout('AliveTimeout', 'alive'),
  timeout('JoinTimeout', 'join'),
  timeout('RepTimeout', 'rep'),
  timeout('SegTimeout', 'seg'),
  timeout('GatherTimeout', 'gather'),
  timeout('FormTimeout', 'form'),
  timeout('LookupTimeout', 'lookup'),
  bool('ExcludeSegAddrsFromHash', 'excludeSegAddrsFromHash'),
  bool('IgnoreMulticastJoinErrors', 'ignoreMulticastJoinErrors'),
  // ringcast extensions
  { name: 'Multipath', kind: 'choice', key: 'multipath', choices: ['active', 'passive'], example: 'Multipath = active' },
  string('AuthKeyFile', 'authKeyFile', 'AuthKeyFile = "/etc/ringcast/authkey"'),
  bool('Encryption', 'encryption'),
  number('PayloadBudget', 'payloadBudget', MIN_PAYLOAD_BUDGET, MAX_PAYLOAD_BUDGET, `PayloadBudget = ${DEFAULT_PAYLOAD_BUDGET}`),
  number('MaxMessageSize', 'maxMessageSize', MIN_MAX_MESSAGE_SIZE, MAX_MAX_MESSAGE_SIZE, `MaxMessageSize = ${DEFAULT_MAX_MESSAGE_SIZE}`),
  string('ClientSocketDir', 'clientSocketDir', 'ClientSocketDir = /tmp'),
  bool('UnicastSegment', 'unicastSegment'),
  { name: 'MetricsAddress', kind: 'listenAddress', key: 'metricsAddress', example: 'MetricsAddress = 127.0.0.1:9464' },
  // client access and limits (ringcast)
  { name: 'ClientSocketMode', kind: 'mode', key: 'clientSocketMode', example: 'ClientSocketMode = 0660' },
  string('ClientSocketOwner', 'clientSocketOwner', 'ClientSocketOwner = spread'),
  string('ClientSocketGroup', 'clientSocketGroup', 'ClientSocketGroup = spread'),
  { name: 'IpAllow', kind: 'cidrList', key: 'ipAllow', example: 'IpAllow = { 127.0.0.0/8 10.0.0.0/8 }' },
  number('MaxSessions', 'maxSessions', 1, SPREAD_NUMBER_MAX, `MaxSessions = ${DEFAULT_MAX_SESSIONS}`),
  number('MaxGroupsPerSession', 'maxGroupsPerSession', 1, SPREAD_NUMBER_MAX, `MaxGroupsPerSession = ${DEFAULT_MAX_GROUPS_PER_SESSION}`),
  number('MaxSessionBytes', 'maxSessionBytes', MIN_MAX_MESSAGE_SIZE, SPREAD_NUMBER_MAX, `MaxSessionBytes = ${DEFAULT_MAX_SESSION_BYTES}`),
  number('ClientHandshakeTimeout', 'clientHandshakeTimeout', 1, SPREAD_NUMBER_MAX, `ClientHandshakeTimeout = ${DEFAULT_CLIENT_HANDSHAKE_TIMEOUT}`),
];

export const OPTION_SPECS: ReadonlyMap<string, OptionSpec> = new Map(SPECS.map((spec) => [spec.name, spec]));
export const OPTION_NAMES: readonly string[] = SPECS.map((spec) => spec.name);
export const DEBUG_FLAG_WORDS: readonly string[] = [...DEBUG_FLAGS, 'ALL', 'NONE'];

/** Parsed option values, before derived defaults are filled in. */
export interface OptionSettings {
  values: Partial<ConfigOptions>;
  timeouts: Partial<Timeouts>;
}

export type OptionValue = number | boolean | string | string[] | ListenAddress;

/** Records one `Name = value` line; a later line for the same option wins, as in Spread. */
export function applyOption(settings: OptionSettings, spec: OptionSpec, value: OptionValue): void {
  if (spec.kind === 'timeout') {
    settings.timeouts[spec.key as keyof Timeouts] = value as number;
  } else if (spec.key === 'eventTimeStamp' && typeof value === 'string') {
    settings.values.eventTimeStamp = true;
    settings.values.eventTimeStampFormat = value;
  } else {
    (settings.values as Record<string, OptionValue>)[spec.key] = value;
  }
}

/**
 * Timeouts from the ones the file set. Spread 5 refuses a file that sets only some ("setting
 * any means setting all"). We accept it: the ones not set take the LAN defaults — always the
 * LAN ones, whatever WideAreaNetwork says, so a partial list never silently mixes WAN values
 * in. With none set, the whole LAN or WAN set applies.
 */
export function resolveTimeouts(set: Partial<Timeouts>, wideAreaNetwork: boolean): Timeouts {
  const anySet = Object.keys(set).length > 0;
  const base = anySet || !wideAreaNetwork ? LAN_TIMEOUTS : WAN_TIMEOUTS;
  return { ...base, ...set };
}
