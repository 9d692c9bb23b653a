// Inputs and outputs of the ordering state machine (RingCore.step).
import type { ServiceCode } from '../service';

export type RingTimer = 'tokenRetransmit' | 'tokenHold';

export interface SubmitRequest {
  service: ServiceCode | number;
  groups: readonly string[];
  payload: Buffer;
  /** The per-daemon message counter; given by the membership layer so it runs on across rings. */
  counter?: number;
  /**
   * The daemon's own traffic (the client layer's envelopes): ordered like the rest, but outside
   * the daemon's message numbering — it is delivered with counter 0 and never reported as sent.
   */
  internal?: boolean;
}

export type RingInput =
  | { kind: 'start' }
  | { kind: 'packet'; data: Buffer }
  | { kind: 'timer'; timer: RingTimer }
  | ({ kind: 'submit' } & SubmitRequest);

/** A message delivered in the ring's total order. */
export interface DeliveredMessage {
  origin: number;
  /** The origin daemon's incarnation (from the header of the packet that carried it). */
  originIncarnation: number;
  counter: number;
  service: number;
  groups: readonly string[];
  payload: Buffer;
  /** Sequence number of the packet that completed it (its place in the total order). */
  seq: number;
}

export type RingOutput =
  /** To every member of the ring (the driver fans out or multicasts; it may skip the sender). */
  | { kind: 'mcast'; data: Buffer }
  /** To one member (the token to the successor). */
  | { kind: 'send'; to: number; data: Buffer }
  | { kind: 'deliver'; msg: DeliveredMessage }
  /** A submit was accepted: the message's per-sender counter. */
  | { kind: 'submitted'; counter: number; service: number }
  | { kind: 'setTimer'; timer: RingTimer; ms: number }
  | { kind: 'cancelTimer'; timer: RingTimer };

export interface RingOptions {
  /** Global flow-control window: packets per token rotation, all members together (Spread: 160). */
  window: number;
  /** Packets one member may send per token visit (Spread: 20). */
  personalWindow: number;
  /** Bytes of packed messages per data packet (excludes the 40 bytes of packet header and data fields). */
  payloadBudget: number;
  /** No new packets while seq would pass safe + this (bounds memory; Spread: 1600). */
  maxOutstanding: number;
  /** Retransmit the token to the successor after this long without a sign it arrived. */
  tokenRetransmitMs: number;
  /** The leader holds an idle token this long before passing it on. */
  idleHoldMs: number;
  /** At most this many retransmission requests ride on the token. */
  maxRetransmitRequests: number;
  /** Largest message accepted by submit. */
  maxMessageSize: number;
  /**
   * Accelerated ring (Babay & Amir): pass the token on before multicasting this visit's new
   * packets, so the successor starts sending sooner; retransmission requests then cover only
   * packets sequenced before our previous turn.
   */
  accelerated: boolean;
}

export const DEFAULT_RING_OPTIONS: RingOptions = {
  window: 160,
  personalWindow: 20,
  payloadBudget: 1400,
  maxOutstanding: 1600,
  tokenRetransmitMs: 20,
  idleHoldMs: 10,
  maxRetransmitRequests: 128,
  maxMessageSize: 4 * 1024 * 1024,
  accelerated: true,
};

export interface RingIdentity {
  /** This daemon's id (u32). */
  myId: number;
  /** The members in ring order; members[0] is the leader (the ring's representative). */
  members: readonly number[];
  ringSeq: number;
  ringRep: number;
  configHash: number;
  incarnation: number;
  /** Each member's incarnation, in the order of members; packets from another life are foreign. */
  incarnations?: readonly number[];
}

export interface RingCounters {
  packetsSent: number;
  packetsReceived: number;
  retransmitsSent: number;
  duplicatePackets: number;
  malformedPackets: number;
  foreignPackets: number;
  overflowDrops: number;
  tokensReceived: number;
  tokensAccepted: number;
  duplicateTokens: number;
  /** Tokens not from our predecessor: copies of one sent to another member (replayed), dropped. */
  misaddressedTokens: number;
  tokenRetransmits: number;
  rotations: number;
  messagesDelivered: number;
  orphanFragments: number;
}
