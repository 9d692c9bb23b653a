// A tiny status query any Spread-protocol client can make of a ringcast daemon:
//   request: a RELIABLE message to the reserved group `#ringcast-status`, mess_type
//            STATUS_REQUEST, data = JSON {"v":1,"request":"status","id":"<token>"};
//   reply:   from the daemon to the requester's private group, sender `#ringcast-status`,
//            mess_type STATUS_REPLY, data = JSON StatusReport with the same id.
// The group name starts with '#' and has no second '#', so it can never be a real private group
// `#name#daemon`, nor a group anyone joins: a daemon that does not know it drops the request,
// and the client's wait ends with "no status".
// TODO(session): the daemon side (src/session intercepting STATUS_GROUP and answering from the
// daemon's state) is not written yet; until it is, `ringcast status` reports only what the
// handshake tells (private group, daemon name and version).
import { randomBytes } from 'node:crypto';
import type { Session } from './session';
import type { DataMessage } from './received';

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

export interface LinkStatus {
  readonly address: string;
  readonly state: string;
  readonly counters: Readonly<Record<string, number>>;
}

/** What a daemon answers. Fields may grow; readers ignore what they do not know. */
export interface StatusReport {
  readonly v: number;
  /** The request's id. */
  readonly id: string;
  readonly daemon: { readonly name: string; readonly id?: number; readonly version?: string };
  /** The ring this daemon is in, or null while it has none. */
  readonly ring: { readonly id: string; readonly members: readonly string[] } | null;
  /** Per ring member: its links with state and counters. */
  readonly links?: Readonly<Record<string, readonly LinkStatus[]>>;
  /** Client sessions: at this daemon, and per daemon where known. */
  readonly sessions?: { readonly local: number; readonly perDaemon?: Readonly<Record<string, number>> };
  readonly counters?: Readonly<Record<string, number>>;
}

export function encodeStatusRequest(id: string): Buffer {
  const request: StatusRequest = { v: STATUS_PROTOCOL_VERSION, request: 'status', id };
  return Buffer.from(JSON.stringify(request), 'utf8');
}

/** The daemon side's reading of a request; undefined when the data is not one. */
export function decodeStatusRequest(data: Buffer): StatusRequest | undefined {
  try {
    const v = JSON.parse(data.toString('utf8')) as Partial<StatusRequest>;
    return v && v.request === 'status' && typeof v.id === 'string' && typeof v.v === 'number' ? (v as StatusRequest) : undefined;
  } catch {
    return undefined;
  }
}

export function encodeStatusReport(report: StatusReport): Buffer {
  return Buffer.from(JSON.stringify(report), 'utf8');
}

/** The report in a reply message, if it is the reply to request `id`. */
export function decodeStatusReply(message: DataMessage, id: string): StatusReport | undefined {
  if (message.sender !== STATUS_GROUP || message.messType !== STATUS_REPLY) return undefined;
  try {
    const v = JSON.parse(message.data.toString('utf8')) as Partial<StatusReport>;
    return v && v.id === id && typeof v.v === 'number' && typeof v.daemon === 'object' ? (v as StatusReport) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Asks the session's daemon for its status. Resolves with the report, or undefined when no
 * reply came within `timeoutMs` (a daemon without the status service, e.g. Spread itself).
 * @throws SpreadError CONNECTION_CLOSED when the session is closed.
 */
export async function requestStatus(session: Session, timeoutMs = 2000): Promise<StatusReport | undefined> {
  const id = randomBytes(8).toString('hex');
  let onMessage: ((m: DataMessage) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const reply = new Promise<StatusReport | undefined>((resolve) => {
    onMessage = (m) => {
      const report = decodeStatusReply(m, id);
      if (report) resolve(report);
    };
    session.on('message', onMessage);
    timer = setTimeout(() => resolve(undefined), timeoutMs);
    void session.closed.then(() => resolve(undefined));
  });
  try {
    await session.multicast(STATUS_GROUP, encodeStatusRequest(id), { service: 'RELIABLE', messType: STATUS_REQUEST });
    return await reply;
  } finally {
    clearTimeout(timer);
    if (onMessage) session.off('message', onMessage);
  }
}
