// A client session the daemon refused or threw out, as SessionServerEvents.sessionRejected
// reports it (for logs and fault events): at connect (REJECT_QUOTA, a handshake reject such as
// REJECT_AUTH) or later (a handshake that never finished, a client too slow to read, a frame
// that broke the rules). Sessions that end by the client's own doing are not rejections.
import type { SpreadCodeName } from '../errors';
import type { SessionEnd } from './clientSession';

export interface SessionRejection {
  readonly kind: 'quota' | 'handshake' | 'handshakeTimeout' | 'tooSlow' | 'badFrame';
  /** The Spread code the client was sent (quota, handshake) or that applies (badFrame). */
  readonly code?: SpreadCodeName;
  readonly detail: string;
  /** The session's private group, once it had one. */
  readonly privateGroup?: string;
}

/** A connection turned away before its handshake began: too many sessions. */
export function quotaRejection(maxSessions: number): SessionRejection {
  return { kind: 'quota', code: 'REJECT_QUOTA', detail: `${maxSessions} sessions already (MaxSessions)` };
}

/** The rejection a session's end amounts to, or undefined when the client ended it (or the daemon shut down). */
export function rejectionOf(end: SessionEnd, privateGroup: string | undefined): SessionRejection | undefined {
  const group = privateGroup === undefined ? {} : { privateGroup };
  switch (end.kind) {
    case 'rejected':
      return { kind: 'handshake', code: end.code, detail: end.detail, ...group };
    case 'badFrame':
      return { kind: 'badFrame', code: end.code, detail: end.detail, ...group };
    case 'tooSlow':
      return { kind: 'tooSlow', detail: 'too many messages waiting for a client that does not read (MaxSessionMessages, MaxSessionBytes)', ...group };
    case 'handshakeTimeout':
      return { kind: 'handshakeTimeout', detail: 'handshake not completed in time (ClientHandshakeTimeout)', ...group };
    default:
      return undefined;
  }
}
