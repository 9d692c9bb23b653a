// The resolved configuration: what a daemon needs from spread.conf, with every default applied.

export type IpFamily = 'IPv4' | 'IPv6';

/** Spread's EventPriority levels, lowest first. */
export const EVENT_PRIORITIES = ['pDEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'FATAL'] as const;
export type EventPriority = (typeof EVENT_PRIORITIES)[number];

/** Spread's DebugFlags names, in Spread's bit order (ALL and NONE are not flags themselves). */
export const DEBUG_FLAGS = [
  'DEBUG', 'EXIT', 'PRINT', 'DATA_LINK', 'NETWORK', 'PROTOCOL', 'SESSION', 'CONFIGURATION',
  'MEMBERSHIP', 'FLOW_CONTROL', 'STATUS', 'EVENTS', 'GROUPS', 'MEMORY', 'SKIPLIST', 'ACM', 'SECURITY',
] as const;
export type DebugFlag = (typeof DEBUG_FLAGS)[number];

export type PortReuse = 'on' | 'off' | 'auto';
export type MultipathMode = 'active' | 'passive';

/** Membership and ordering timeouts in milliseconds (Spread's *Timeout options). */
export interface Timeouts {
  token: number;
  hurry: number;
  alive: number;
  join: number;
  rep: number;
  seg: number;
  gather: number;
  form: number;
  lookup: number;
}

export interface ConfigOptions {
  /** EventLogFile; null = standard output. `%h` is left for the logger to expand. */
  eventLogFile: string | null;
  eventTimeStamp: boolean;
  /** EventTimeStamp = "format" (strftime); null = Spread's default format. */
  eventTimeStampFormat: string | null;
  eventPreciseTimeStamp: boolean;
  /** Enabled debug flags in Spread's bit order. */
  debugFlags: DebugFlag[];
  eventPriority: EventPriority;
  dangerousMonitor: boolean;
  socketPortReuse: PortReuse;
  runtimeDir: string;
  daemonUser: string;
  daemonGroup: string;
  allowedAuthMethods: string[];
  requiredAuthMethods: string[];
  accessControlPolicy: string;
  maxSessionMessages: number;
  activeIpVersion: IpFamily;
  window: number;
  personalWindow: number;
  acceleratedWindow: number;
  acceleratedRing: boolean;
  wideAreaNetwork: boolean;
  timeouts: Timeouts;
  excludeSegAddrsFromHash: boolean;
  ignoreMulticastJoinErrors: boolean;
  /** Multipath = active|passive; only matters when hosts have more than one D address. */
  multipath: MultipathMode;
  // ringcast's own options
  /** AuthKeyFile: the shared key that authenticates daemon traffic (as written); null = none. */
  authKeyFile: string | null;
  /** Encryption = on: daemon traffic is encrypted too (needs AuthKeyFile). */
  encryption: boolean;
  /** Bytes of packed client payload per daemon datagram. */
  payloadBudget: number;
  /** Largest client message accepted, in bytes. */
  maxMessageSize: number;
  /** Directory of the daemons' Unix-domain client sockets (`<dir>/<port>`, as Spread). */
  clientSocketDir: string;
  /** Permission bits of the Unix client socket (Spread: 0666). */
  clientSocketMode: number;
  /** User (name or uid) to own the Unix client socket; null = the daemon's own user. */
  clientSocketOwner: string | null;
  /** Group (name or gid) of the Unix client socket; null = the daemon's own group. */
  clientSocketGroup: string | null;
  /** Client networks the IP auth method lets in, as canonical CIDRs (`a.b.c.d/n`, `x::/n`). */
  ipAllow: string[];
  /** Client sessions per daemon, handshakes included; more get REJECT_QUOTA. */
  maxSessions: number;
  /** Groups one session may be in; a join beyond is sent back as a REJECT_MESS. */
  maxGroupsPerSession: number;
  /** Bytes queued for a client that does not read before it is disconnected (with MaxSessionMessages). */
  maxSessionBytes: number;
  /** Milliseconds a client connection may take to complete its handshake. */
  clientHandshakeTimeout: number;
  /** Treat every segment as unicast fan-out, whatever its address. */
  unicastSegment: boolean;
  /** MetricsAddress: where the Prometheus /metrics and /health endpoint listens; null = off. */
  metricsAddress: ListenAddress | null;
}

/** An HTTP listening address as an option gives it; `address` absent = only a port was given. */
export interface ListenAddress {
  address?: string;
  /** 0 = any free port (the daemon logs the one it got). */
  port: number;
}

export interface Segment {
  index: number;
  /** Data port; Spread also uses port+1 (token). */
  port: number;
  /** Multicast or broadcast addresses as configured (canonical form); empty for `unicast`. */
  addresses: string[];
  /** True when data goes to each member by unicast: `unicast` segments, loopback segment
   *  addresses, or the UnicastSegment option. */
  unicast: boolean;
  /** Indexes into SpreadConfig.hosts, in file order. */
  hosts: number[];
}

export interface HostEntry {
  name: string;
  /** Index into SpreadConfig.segments. */
  segment: number;
  port: number;
  /** The address on the daemon's own line (or resolved from its name). */
  address: string;
  /** Where peers send daemon traffic: link 0..n-1 (the D entries in order; just `address`
   *  without an interface block). A D entry of 0.0.0.0 stands for `address`. */
  daemonAddrs: string[];
  /** Where the daemon listens for TCP clients (its C entries; loopback when it has none); 0.0.0.0 / :: = any. */
  clientAddrs: string[];
  /** Where the daemon listens for monitor traffic; 0.0.0.0 / :: = any. */
  monitorAddrs: string[];
  virtualId?: number;
  /** Stable u32 daemon id: VirtualID if given, else daemonVid(name). */
  id: number;
}

export interface SpreadConfig {
  file: string;
  segments: Segment[];
  /** All daemons in file order. */
  hosts: HostEntry[];
  options: ConfigOptions;
  /** 'none' when every host has a single daemon address. */
  multipath: MultipathMode | 'none';
  /** u32 over segments and daemons; see hash.ts. */
  configHash: number;
}
