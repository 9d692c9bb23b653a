// The client's side of the connect handshake (Spread 5.0.1):
//   → version, flags, name   ← auth methods   → auth choice   ← accept and private group
// The choice is up to three method names, NUL-padded (NULL by default; ringcast daemons also
// run IP, which needs nothing from the client); each must be on the daemon's list.
// A reject byte can come in place of the auth list or the accept; the daemon then closes.
import type { Duplex } from 'node:stream';
import { SpreadError, type RingcastError } from '../errors';
import {
  ChunkQueue,
  decodeAccept,
  decodeAuthList,
  encodeAuthChoice,
  encodeConnect,
  faultToError,
  type DecodeResult,
  type SessionAccept,
} from '../wire/client';

/** The auth method ringcast's client chooses unless told otherwise (Spread's default). */
export const AUTH_METHOD = 'NULL';

export interface HandshakeRequest {
  /** '' asks the daemon to make one up. */
  readonly name: string;
  readonly membership: boolean;
  readonly priority: number;
  /** Auth methods to choose (1 to 3); default [AUTH_METHOD]. */
  readonly authMethods?: readonly string[];
}

export interface HandshakeResult {
  readonly accept: SessionAccept;
  /** Bytes that arrived after the accept (the first frames), for the frame reader. */
  readonly leftover: Buffer;
}

/**
 * Runs the handshake on a connected stream. Listeners it adds are removed when it settles; the
 * stream is left open and paused either way (the caller resumes it, or closes it on failure).
 * @throws SpreadError: the daemon's reject code (REJECT_NOT_UNIQUE, REJECT_ILLEGAL_NAME,
 *   REJECT_VERSION, REJECT_AUTH, …); REJECT_AUTH when the daemon does not offer a chosen method;
 *   CONNECTION_CLOSED when the stream ends or the reply is garbage; COULD_NOT_CONNECT on timeout.
 *   RingcastError SPREAD_UNKNOWN for a reject code sp.h does not know.
 */
export function runHandshake(stream: Duplex, request: HandshakeRequest, timeoutMs: number): Promise<HandshakeResult> {
  return new Promise<HandshakeResult>((resolve, reject) => {
    const methods = request.authMethods ?? [AUTH_METHOD];
    const queue = new ChunkQueue();
    let phase: 'authlist' | 'accept' = 'authlist';
    let settled = false;

    const finish = (error: RingcastError | undefined, result?: HandshakeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Hold further bytes until the session attaches its reader.
      stream.pause();
      stream.off('data', onData);
      stream.off('close', onClose);
      stream.off('end', onClose);
      stream.off('error', onError);
      if (error) reject(error);
      else resolve(result!);
    };

    // One handshake unit from the buffered bytes: its value, undefined (wait), or a failure.
    const take = <T>(result: DecodeResult<T>): T | undefined => {
      if (result.status === 'incomplete') return undefined;
      if (result.status === 'error') {
        finish(faultToError(result));
        return undefined;
      }
      queue.skip(result.length);
      return result.value;
    };

    const onData = (chunk: Buffer) => {
      queue.push(chunk);
      if (phase === 'authlist') {
        const offered = take(decodeAuthList(queue.peek(queue.length)));
        if (offered === undefined) return;
        const missing = methods.find((m) => !offered.includes(m));
        if (missing !== undefined) {
          finish(new SpreadError('REJECT_AUTH', `daemon allows auth methods [${offered.join(' ')}], not ${missing}`));
          return;
        }
        try {
          stream.write(encodeAuthChoice(methods));
        } catch (err) {
          finish(err as RingcastError); // more than three methods, or a name too long
          return;
        }
        phase = 'accept';
      }
      const accept = take(decodeAccept(queue.peek(queue.length)));
      if (accept === undefined) return;
      finish(undefined, { accept, leftover: queue.take(queue.length) });
    };
    const onClose = () => finish(new SpreadError('CONNECTION_CLOSED', `daemon closed the connection during the handshake (waiting for its ${phase === 'authlist' ? 'auth list' : 'accept'})`));
    const onError = (err: Error) => finish(new SpreadError('CONNECTION_CLOSED', `connection failed during the handshake: ${err.message}`, { cause: err }));
    const timer = setTimeout(
      () => finish(new SpreadError('COULD_NOT_CONNECT', `no handshake reply from the daemon within ${timeoutMs} ms`)),
      timeoutMs,
    );

    stream.on('data', onData);
    stream.on('close', onClose);
    stream.on('end', onClose);
    stream.on('error', onError);
    try {
      stream.write(encodeConnect({ name: request.name, membership: request.membership, priority: request.priority }));
    } catch (err) {
      finish(err as RingcastError);
    }
  });
}
