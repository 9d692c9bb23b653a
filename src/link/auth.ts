// A Transport whose every datagram carries an authentication trailer (src/wire/auth.ts):
// sealed on the way out, checked before anything else on the way in; datagrams that fail
// are dropped and counted. (UdpLinkSet seals below its link header instead, see udpLinkSet.ts.)
import type { DatagramAuth } from '../wire/auth';
import type { Transport } from './transport';

/** A Transport that also sends a datagram given in pieces (UDP gathers them): no copy to seal. */
export interface GatheringTransport extends Transport {
  readonly gathers: true;
  send(to: number, data: Buffer | readonly Buffer[]): void;
}

const gathers = (t: Transport): t is GatheringTransport => (t as Partial<GatheringTransport>).gathers === true;

export class AuthenticatedTransport implements Transport {
  /** The datagram sealed last and its sealed form: a multicast sends one datagram to every peer. */
  private lastBody: Buffer | null = null;
  private lastSealed: Buffer | readonly Buffer[] | null = null;
  private readonly forget = () => {
    this.lastBody = null;
    this.lastSealed = null;
  };

  constructor(
    readonly inner: Transport,
    readonly auth: DatagramAuth,
  ) {}

  send(to: number, data: Buffer): void {
    if (data !== this.lastBody) {
      // Only for the sends of this turn: a buffer is never changed while its sends are carried out.
      if (this.lastBody === null) queueMicrotask(this.forget);
      this.lastBody = data;
      const chunks = this.auth.seal(data);
      this.lastSealed = gathers(this.inner) ? chunks : Buffer.concat(chunks);
    }
    if (gathers(this.inner)) this.inner.send(to, this.lastSealed!);
    else this.inner.send(to, this.lastSealed as Buffer);
  }

  onMessage(handler: (data: Buffer) => void): void {
    this.inner.onMessage((datagram) => {
      const body = this.auth.open(datagram);
      if (body) handler(body);
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
