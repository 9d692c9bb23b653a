// A tiny status query any Spread-protocol client can make of a ringcast daemon, answered by the
// daemon the client is connected to, locally (it never goes through the ring):
//   request: a message to the reserved group `#ringcast-status` (alone), mess_type
//            STATUS_REQUEST, data = JSON {"v":1,"request":"status","id":"<token>"};
//   reply:   RELIABLE, from the daemon to the requester's private group, sender
//            `#ringcast-status`, mess_type STATUS_REPLY, data = JSON StatusReport with the same id.
// The group name starts with '#' and has no second '#', so it can never be a real private group
// `#name#daemon`, nor a group anyone joins: a daemon that does not know it (Spread) delivers the
// request to no one, and the client's wait ends with "no status".
// The codec and types are shared by the daemon side (src/session) and the client
// (src/client/statusProtocol.ts).

export const STATUS_GROUP = '#ringcast-status';
/** mess_type of a status request ("RS"). */
export const STATUS_REQUEST = 0x5253;
/** mess_type of a status reply ("Rs"). */
export const STATUS_REPLY = 0x5273;
export const STATUS_PROTOCOL_VERSION = 1;

export interface StatusRequest {
  readonly v: number;
  readonly request: 'status';
  readonly id: string;
}

/** One link (network path) to a ring member. */
export interface LinkStatus {
  readonly address: string;
  readonly state: string;
  readonly counters: Readonly<Record<string, number>>;
}

/** A group as the answering daemon's replicated groups state holds it. */
export interface GroupStatus {
  readonly name: string;
  /** The group id as `time.index.daemonId` (the delivery logs' form). */
  readonly id: string;
  readonly members: number;
}

/** What a daemon answers. Fields may grow; readers ignore what they do not know. */
export interface StatusReport {
  readonly v: number;
  /** The request's id. */
  readonly id: string;
  /** When the daemon answered (ISO 8601). */
  readonly time?: string;
  readonly daemon: {
    readonly name: string;
    /** Its id in the configuration. */
    readonly id?: number;
    readonly incarnation?: number;
    /** ringcast's version. */
    readonly version?: string;
    readonly uptimeSec?: number;
    /** Where it accepts clients. */
    readonly clients?: readonly string[];
  };
  /** The ring this daemon is in, or null while it has none. */
  readonly ring: {
    readonly id: string;
    readonly members: readonly string[];
    /** The membership state now (operational, gather, commit, recover). */
    readonly state?: string;
  } | null;
  /** Per ring member: its links with state and counters. Absent: see linksNote. */
  readonly links?: Readonly<Record<string, readonly LinkStatus[]>>;
  /** Why there are no links (e.g. "link status not available"). */
  readonly linksNote?: string;
  /** Client sessions: open at this daemon, and per daemon the clients the groups state knows (members of some group). */
  readonly sessions?: {
    readonly local: number;
    /** Private groups of the sessions open at this daemon (at most the first 100). */
    readonly names?: readonly string[];
    readonly perDaemon?: Readonly<Record<string, number>>;
  };
  /** The groups by name (at most the first 100). */
  readonly groups?: readonly GroupStatus[];
  /** How many groups there are in all. */
  readonly groupCount?: number;
  /** Groups layer: operational, transitional or exchanging. */
  readonly groupsState?: string;
  /** Counters by area (membership, ring, sessions, …). */
  readonly counters?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Set when part of the report could not be had. */
  readonly error?: string;
}

export function encodeStatusRequest(id: string): Buffer {
  const request: StatusRequest = { v: STATUS_PROTOCOL_VERSION, request: 'status', id };
  return Buffer.from(JSON.stringify(request), 'utf8');
}

/** The daemon side's reading of a request; undefined when the data is not one. */
export function decodeStatusRequest(data: Uint8Array): StatusRequest | undefined {
  try {
    const v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as Partial<StatusRequest> | null;
    return v && v.request === 'status' && typeof v.id === 'string' && v.id.length <= 200 && typeof v.v === 'number' ? (v as StatusRequest) : undefined;
  } catch {
    return undefined;
  }
}

export function encodeStatusReport(report: StatusReport): Buffer {
  return Buffer.from(JSON.stringify(report), 'utf8');
}

/** A report from reply data if it answers request `id`. */
export function decodeStatusReport(data: Uint8Array, id: string): StatusReport | undefined {
  try {
    const v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as Partial<StatusReport> | null;
    return v && v.id === id && typeof v.v === 'number' && typeof v.daemon === 'object' && v.daemon !== null ? (v as StatusReport) : undefined;
  } catch {
    return undefined;
  }
}
