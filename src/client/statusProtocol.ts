// `requestStatus`: the client half of ringcast's status query (protocol and report format:
// src/wire/status.ts). A ringcast daemon answers it locally on the reserved group
// `#ringcast-status`; a daemon without the service (Spread) delivers the request to no one, and
// the wait ends with "no status".
import { randomBytes } from 'node:crypto';
import type { Session } from './session';
import type { DataMessage } from './received';
import { STATUS_GROUP, STATUS_REPLY, STATUS_REQUEST, decodeStatusReport, encodeStatusRequest, type StatusReport } from '../wire/status';

export {
  STATUS_GROUP,
  STATUS_PROTOCOL_VERSION,
  STATUS_REPLY,
  STATUS_REQUEST,
  decodeStatusRequest,
  encodeStatusReport,
  encodeStatusRequest,
  type GroupStatus,
  type LinkStatus,
  type StatusReport,
  type StatusRequest,
} from '../wire/status';

/** The report in a reply message, if it is the reply to request `id`. */
export function decodeStatusReply(message: DataMessage, id: string): StatusReport | undefined {
  if (message.sender !== STATUS_GROUP || message.messType !== STATUS_REPLY) return undefined;
  return decodeStatusReport(message.data, id);
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
