// Authentication of daemon datagrams: a trailer on every datagram, checked before anything
// else reads it. AES-256-GCM under a key derived from the shared key (the key file):
//   Encryption off: the datagram travels in clear and is GCM's additional data (GMAC);
//   Encryption on:  the datagram is encrypted.
//   datagram = body | nonce (12: this life's random 4-byte salt, 64-bit counter) | tag (16)
// The counter starts at a random value, so two lives (or daemons) with the same key reuse a
// nonce only if they draw the same 96 bits and overlap: negligible. GMAC costs about half of
// HMAC-SHA256 on the 16 KB datagrams of a loopback ring (bench/auth.ts has the figures).
// The two modes derive different keys, so a daemon with Encryption on and one with it off
// reject each other's datagrams like daemons with different keys.
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { RingcastError } from '../errors';

/** Bytes of a shared key (a key file holds exactly this many). */
export const AUTH_KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** What authentication adds to every datagram. */
export const AUTH_OVERHEAD = NONCE_BYTES + TAG_BYTES;

const CIPHER = 'aes-256-gcm';
const HKDF_SALT = Buffer.from('ringcast datagram authentication');

export interface AuthCounters {
  /** Datagrams given a tag (a datagram sent to several peers counts once where the sender knows). */
  sealed: number;
  /** Datagrams whose tag checked out. */
  verified: number;
  /** Datagrams dropped: too short to carry a tag, or a tag that does not match (wrong key, no key, tampered). */
  dropped: number;
}

export interface DatagramAuthOptions {
  /** Encrypt the datagrams too (Encryption = on). */
  encrypt?: boolean;
  /** The first nonce (12 bytes; default random): the simulator passes seeded ones to stay deterministic. */
  firstNonce?: Buffer;
}

export class DatagramAuth {
  readonly counters: AuthCounters = { sealed: 0, verified: 0, dropped: 0 };
  readonly encrypt: boolean;
  private readonly key: KeyObject;
  private readonly nonce: Buffer;
  private hi: number;
  private lo: number;

  /** @throws RingcastError ('AUTH_KEY') when the key is not AUTH_KEY_BYTES long. */
  constructor(sharedKey: Buffer, opts: DatagramAuthOptions = {}) {
    if (sharedKey.length !== AUTH_KEY_BYTES) {
      throw new RingcastError('AUTH_KEY', `an authentication key has ${AUTH_KEY_BYTES} bytes, not ${sharedKey.length}`);
    }
    this.encrypt = opts.encrypt ?? false;
    const info = this.encrypt ? 'aes-256-gcm encrypt v1' : 'aes-256-gcm mac v1';
    this.key = createSecretKey(Buffer.from(hkdfSync('sha256', sharedKey, HKDF_SALT, info, 32)));
    const first = opts.firstNonce ?? randomBytes(NONCE_BYTES);
    if (first.length !== NONCE_BYTES) throw new RingcastError('AUTH_KEY', `a first nonce has ${NONCE_BYTES} bytes`);
    this.nonce = Buffer.from(first);
    this.hi = this.nonce.readUInt32BE(4);
    this.lo = this.nonce.readUInt32BE(8);
  }

  /**
   * The datagram for `body` (`more` appended: a link header and its data), as chunks to send
   * one after the other (UDP gathers them): the body as it is (its ciphertext with Encryption)
   * and the trailer. No copy of the body: a loopback datagram's copy cost as much as its tag.
   */
  seal(body: Buffer, more: Buffer | null = null): Buffer[] {
    this.nextNonce();
    const trailer = Buffer.allocUnsafe(AUTH_OVERHEAD);
    this.nonce.copy(trailer, 0);
    const c = createCipheriv(CIPHER, this.key, this.nonce);
    let chunks: Buffer[];
    if (this.encrypt) {
      chunks = more ? [c.update(body), c.update(more), trailer] : [c.update(body), trailer];
      c.final(); // nothing more with GCM
    } else {
      c.setAAD(body);
      if (more) c.setAAD(more);
      c.final();
      chunks = more ? [body, more, trailer] : [body, trailer];
    }
    c.getAuthTag().copy(trailer, NONCE_BYTES);
    this.counters.sealed++;
    return chunks;
  }

  /** seal() in one buffer, for transports that take one. */
  sealToBuffer(body: Buffer, more: Buffer | null = null): Buffer {
    return Buffer.concat(this.seal(body, more));
  }

  /** The body of an authentic datagram (a view into it unless encrypted), or null: dropped. Never throws. */
  open(datagram: Buffer): Buffer | null {
    const n = datagram.length - AUTH_OVERHEAD;
    if (n <= 0) {
      this.counters.dropped++;
      return null;
    }
    try {
      const d = createDecipheriv(CIPHER, this.key, datagram.subarray(n, n + NONCE_BYTES), { authTagLength: TAG_BYTES });
      d.setAuthTag(datagram.subarray(n + NONCE_BYTES));
      let body: Buffer;
      if (this.encrypt) {
        const head = d.update(datagram.subarray(0, n));
        const tail = d.final(); // throws here when the tag does not match: nothing is returned
        body = tail.length === 0 ? head : Buffer.concat([head, tail]);
      } else {
        body = datagram.subarray(0, n);
        d.setAAD(body);
        d.final();
      }
      this.counters.verified++;
      return body;
    } catch {
      this.counters.dropped++;
      return null;
    }
  }

  /** Counter part of the nonce + 1 (64 bits as two words; the salt stays). */
  private nextNonce(): void {
    this.lo = (this.lo + 1) >>> 0;
    if (this.lo === 0) this.hi = (this.hi + 1) >>> 0;
    this.nonce.writeUInt32BE(this.hi, 4);
    this.nonce.writeUInt32BE(this.lo, 8);
  }
}
