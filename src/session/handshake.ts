// The daemon's side of the connect handshake (Spread 5.0.1's Sess_accept_continue and
// Sess_recv_client_auth): version check, private name (unique per daemon, generated when
// empty), the auth list and the client's choice, then the accept — or one reject byte.
// Pure over its input bytes; names are claimed through the NameClaimer.
import type { SpreadCodeName } from '../errors';
import { expectsAuthExchange, acceptCarriesPatch, decodeConnect } from '../wire/client/connect';
import type { ChunkQueue } from '../wire/client/chunkQueue';
import { decodeAuthChoice, encodeAccept, encodeAuthList, encodeReject } from '../wire/client/handshakeReplies';

export interface NameClaimer {
  /** Reserves the private name ('' = invent one); the private group, or why not. */
  claim(requestedName: string): { readonly privateGroup: string } | { readonly reject: SpreadCodeName; readonly detail: string };
  release(privateGroup: string): void;
}

export interface AuthPolicy {
  readonly allowedAuthMethods: readonly string[];
  readonly requiredAuthMethods: readonly string[];
  /** Why a chosen (allowed) method refuses this client, or undefined when it lets it in; absent: every allowed method does. */
  refusal?(method: string): string | undefined;
}

export type HandshakeProgress =
  /** More bytes are needed; `reply` (the auth list) is to be sent meanwhile. */
  | { readonly status: 'pending'; readonly reply: Buffer | null }
  /** Send `reply` (the reject byte, after an auth list if one is due) and close. */
  | { readonly status: 'rejected'; readonly reply: Buffer; readonly code: SpreadCodeName; readonly detail: string }
  /** Send `reply`; the session is open. Bytes left in the queue are the client's first frames. */
  | {
      readonly status: 'accepted';
      readonly reply: Buffer;
      readonly privateGroup: string;
      readonly membership: boolean;
      readonly priority: number;
    };

export class Handshake {
  private phase: 'connect' | 'authChoice' | 'done' = 'connect';
  private privateGroup: string | undefined;
  private membership = false;
  private priority = 0;
  private versionCode = 0;

  constructor(
    private readonly policy: AuthPolicy,
    private readonly names: NameClaimer,
  ) {}

  /** The private group claimed and not yet accepted (released by a reject, or by the caller if the connection goes). */
  get claimed(): string | undefined {
    return this.phase === 'done' ? undefined : this.privateGroup;
  }

  /** Consumes what it can of `queue`. After 'rejected' or 'accepted' it must not be called again. */
  advance(queue: ChunkQueue): HandshakeProgress {
    const replies: Buffer[] = [];
    const pending = (): HandshakeProgress => ({ status: 'pending', reply: replies.length > 0 ? Buffer.concat(replies) : null });
    const reject = (code: SpreadCodeName, detail: string): HandshakeProgress => {
      if (this.privateGroup !== undefined) this.names.release(this.privateGroup);
      this.phase = 'done';
      replies.push(encodeReject(code));
      return { status: 'rejected', reply: Buffer.concat(replies), code, detail };
    };

    if (this.phase === 'connect') {
      const r = decodeConnect(queue.peek(queue.length));
      if (r.status === 'incomplete') return pending();
      if (r.status === 'error') return reject(r.code === 'UNKNOWN' ? 'ILLEGAL_SESSION' : r.code, r.detail);
      queue.skip(r.length);
      const request = r.value;
      this.versionCode = request.versionCode;
      this.membership = request.membership;
      this.priority = request.priority;
      // Name checks come before the auth list (s1: a duplicate name gets only the reject byte).
      const claim = this.names.claim(request.name);
      if ('reject' in claim) return reject(claim.reject, claim.detail);
      this.privateGroup = claim.privateGroup;
      if (!expectsAuthExchange(request.versionCode)) return this.accept([]);
      replies.push(encodeAuthList(this.policy.allowedAuthMethods));
      this.phase = 'authChoice';
    }

    if (this.phase === 'authChoice') {
      const r = decodeAuthChoice(queue.peek(queue.length));
      if (r.status !== 'ok') return pending(); // the choice is 90 bytes, whatever they hold
      queue.skip(r.length);
      const chosen = r.value;
      const { allowedAuthMethods, requiredAuthMethods } = this.policy;
      const refused = chosen.find((m) => !allowedAuthMethods.includes(m));
      if (chosen.length === 0) return reject('REJECT_AUTH', 'no auth method chosen');
      if (refused !== undefined) return reject('REJECT_AUTH', `auth method ${JSON.stringify(refused)} is not allowed`);
      const missing = requiredAuthMethods.find((m) => !chosen.includes(m));
      if (missing !== undefined) return reject('REJECT_AUTH', `auth method ${missing} is required`);
      for (const m of chosen) {
        const why = this.policy.refusal?.(m);
        if (why !== undefined) return reject('REJECT_AUTH', `auth method ${m} refused: ${why}`);
      }
      return this.accept(replies);
    }
    return pending();
  }

  private accept(replies: Buffer[]): HandshakeProgress {
    this.phase = 'done';
    const privateGroup = this.privateGroup!;
    replies.push(encodeAccept(privateGroup, { includePatch: acceptCarriesPatch(this.versionCode) }));
    return { status: 'accepted', reply: Buffer.concat(replies), privateGroup, membership: this.membership, priority: this.priority };
  }
}
