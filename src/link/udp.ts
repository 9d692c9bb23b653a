// A Transport over one UDP socket: unicast to each peer (fan-out), as on a unicast segment.
import * as dgram from 'node:dgram';
import { RingcastError } from '../errors';
import type { Transport, TransportCounters } from './transport';

export interface UdpPeer {
  address: string;
  port: number;
}

export class UdpTransport implements Transport {
  readonly counters: TransportCounters = { sent: 0, received: 0, sendErrors: 0 };
  /** send() takes a datagram in pieces too (see GatheringTransport in auth.ts). */
  readonly gathers = true;
  private readonly socket: dgram.Socket;
  private handler: (data: Buffer) => void = () => {};
  private readonly onSendDone = (err: Error | null) => {
    if (err) this.counters.sendErrors++;
  };

  private constructor(
    socket: dgram.Socket,
    private readonly peers: Map<number, UdpPeer>,
  ) {
    this.socket = socket;
    socket.on('message', (msg) => {
      this.counters.received++;
      this.handler(msg);
    });
    // A send error surfaces here on some platforms; it must never take the daemon down.
    socket.on('error', () => {
      this.counters.sendErrors++;
    });
  }

  /** Binds address:port; throws a RingcastError ('LINK_BIND') when the address cannot be bound. */
  static async bind(address: string, port: number, peers: Map<number, UdpPeer>, recvBufferBytes = 8 << 20): Promise<UdpTransport> {
    const socket = dgram.createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => reject(new RingcastError('LINK_BIND', `cannot bind UDP ${address}:${port}: ${err.message}`, { cause: err }));
      socket.once('error', fail);
      socket.bind(port, address, () => {
        socket.off('error', fail);
        resolve();
      });
    });
    for (const [set, bytes] of [[(n: number) => socket.setRecvBufferSize(n), recvBufferBytes], [(n: number) => socket.setSendBufferSize(n), 4 << 20]] as const) {
      try {
        set(bytes); // the kernel caps it at rmem_max/wmem_max; a smaller buffer only means more retransmissions
      } catch {
        /* keep the default */
      }
    }
    return new UdpTransport(socket, peers);
  }

  send(to: number, data: Buffer | readonly Buffer[]): void {
    const peer = this.peers.get(to);
    if (!peer) {
      this.counters.sendErrors++;
      return;
    }
    this.counters.sent++;
    this.socket.send(data, peer.port, peer.address, this.onSendDone);
  }

  onMessage(handler: (data: Buffer) => void): void {
    this.handler = handler;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
