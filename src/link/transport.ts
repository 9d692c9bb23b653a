// What the daemon needs from a network: datagrams to a peer daemon by id, and arrivals.

export interface Transport {
  /** Sends one datagram to a peer daemon; never throws and never blocks (failures are counted). */
  send(to: number, data: Buffer): void;
  /** Called for every datagram that arrives. */
  onMessage(handler: (data: Buffer) => void): void;
  close(): Promise<void>;
}

export interface TransportCounters {
  sent: number;
  received: number;
  sendErrors: number;
}
