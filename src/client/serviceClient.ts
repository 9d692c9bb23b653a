// Request/reply with a daemon's service engine (src/services): a request is a msgpack map
// `{ op, id, ...args }` sent to the engine's reserved group; the reply comes to this session's
// private group from that group, with the same id. Bodies without an id are pushes (events).
// Replies and pushes never reach the application's message listeners or iterators.
import msgpack from 'msgpack-lite';
import { RingcastError, SpreadError } from '../errors';
import type { DataMessage } from './received';
import type { Session } from './session';

/** A service answered a request with an error (SA Forum or FTB error name and number). */
export class ServiceError extends RingcastError {
  constructor(
    /** e.g. `SA_AIS_ERR_EXIST`, `FTB_ERR_SUBSCRIPTION_STR`. */
    readonly error: string,
    /** The error's number in its specification. */
    readonly errorCode: number,
    message: string,
    /** The request's op. */
    readonly op: string,
    /** The whole reply (services add fields, e.g. erroneousVectorIndex). */
    readonly reply: Readonly<Record<string, unknown>> = {},
  ) {
    super(error, `${op}: ${error}: ${message}`);
  }
}

export interface ServiceRequestOptions {
  /** Order the request SAFE: it is delivered once every daemon holds it. Default false (AGREED). */
  readonly safe?: boolean;
  /** Give up (RingcastError SERVICE_TIMEOUT) after this long, TRY_AGAIN retries included. Default 10000. */
  readonly timeoutMs?: number;
}

export type ServiceReply = Record<string, unknown>;

interface Pending {
  readonly op: string;
  readonly resolve: (body: ServiceReply) => void;
  readonly reject: (e: Error) => void;
  readonly retry: () => void;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const TRY_AGAIN = 'SA_AIS_ERR_TRY_AGAIN';

export class ServiceClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly pushHandlers = new Set<(body: ServiceReply) => void>();

  /** Use `session.service(group)`, which keeps one client per group. */
  constructor(
    private readonly session: Session,
    readonly group: string,
  ) {
    void session.closed.then((error) => {
      const e = error ?? new SpreadError('CONNECTION_CLOSED', `session ${session.privateGroup} is closed`);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  /**
   * Sends `{ op, id, ...args }` and waits for the reply.
   * @returns the reply body (ok).
   * @throws ServiceError when the service answers with an error; RingcastError SERVICE_TIMEOUT;
   *   SpreadError CONNECTION_CLOSED when the session ends first.
   */
  request(op: string, args: Record<string, unknown> = {}, options: ServiceRequestOptions = {}): Promise<ServiceReply> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<ServiceReply>((resolve, reject) => {
      let id = 0;
      let backoff = 5;
      let retryTimer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        this.pending.delete(id);
        clearTimeout(deadline);
        clearTimeout(retryTimer);
      };
      const deadline = setTimeout(() => {
        finish();
        reject(new RingcastError('SERVICE_TIMEOUT', `${op}: no answer from ${this.group} within ${timeoutMs} ms`));
      }, timeoutMs);
      const send = (): void => {
        this.pending.delete(id);
        id = this.nextId++;
        this.pending.set(id, {
          op,
          resolve: (body) => {
            finish();
            resolve(body);
          },
          reject: (e) => {
            finish();
            reject(e);
          },
          retry: () => {
            // The daemons are exchanging state (or the engine is busy): ask again a little later.
            this.pending.delete(id);
            retryTimer = setTimeout(send, backoff);
            backoff = Math.min(backoff * 2, 200);
          },
        });
        this.session.multicast(this.group, msgpack.encode({ ...args, op, id }), { service: options.safe ? 'SAFE' : 'AGREED' }).catch((e: Error) => {
          this.pending.get(id)?.reject(e);
        });
      };
      send();
    });
  }

  /** Bodies without an id from this service (pushes); returns the function that stops them. */
  onPush(handler: (body: ServiceReply) => void): () => void {
    this.pushHandlers.add(handler);
    return () => this.pushHandlers.delete(handler);
  }

  /** A message from the service's group (the session hands these over). */
  handle(message: DataMessage): void {
    let body: unknown;
    try {
      body = msgpack.decode(message.data);
    } catch {
      return; // not ours to make sense of
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
    const reply = body as ServiceReply;
    if (typeof reply.id !== 'number') {
      if (reply.id === undefined || reply.id === null) {
        for (const h of this.pushHandlers) {
          try {
            h(reply);
          } catch (err) {
            process.nextTick(() => {
              throw err;
            });
          }
        }
      }
      return;
    }
    const p = this.pending.get(reply.id);
    if (!p) return; // a late answer to a request that timed out
    if (reply.ok === true) return p.resolve(reply);
    const error = typeof reply.error === 'string' ? reply.error : 'UNKNOWN';
    if (error === TRY_AGAIN) return p.retry();
    p.reject(new ServiceError(error, typeof reply.code === 'number' ? reply.code : 0, typeof reply.message === 'string' ? reply.message : '', p.op, reply));
  }
}
