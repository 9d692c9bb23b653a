// Inputs and outputs of the daemon's protocol core (membership + ordering), a pure state machine.
import type { DeliveredMessage, RingOptions, RingTimer, SubmitRequest } from '../ring/types';

export type MembershipTimer = 'tokenLoss' | 'tokenLossConfirm' | 'join' | 'consensus' | 'form' | 'commitRetransmit' | 'probe';
export type CoreTimer = RingTimer | MembershipTimer;

export type CoreInput =
  | { kind: 'start' }
  /** A clean shutdown: tell the others, so they re-form without waiting for the token to be lost. */
  | { kind: 'leave' }
  | { kind: 'packet'; data: Buffer }
  | { kind: 'timer'; timer: CoreTimer }
  | ({ kind: 'submit' } & SubmitRequest);

export interface ConfigurationChange {
  kind: 'regular' | 'transitional';
  ringSeq: number;
  ringRep: number;
  /** Daemon ids in ring order (transitional: the members that came from our old ring). */
  members: number[];
  /** Each member's incarnation, in the order of members. */
  incarnations: number[];
}

export type CoreOutput =
  /** One datagram to each daemon in `to` (never includes this daemon). */
  | { kind: 'mcast'; to: readonly number[]; data: Buffer }
  | { kind: 'send'; to: number; data: Buffer }
  | { kind: 'deliver'; msg: DeliveredMessage }
  | { kind: 'configuration'; conf: ConfigurationChange }
  | { kind: 'submitted'; counter: number; service: number }
  | { kind: 'setTimer'; timer: CoreTimer; ms: number }
  | { kind: 'cancelTimer'; timer: CoreTimer };

export interface MembershipTimeouts {
  /** No token for this long: the ring is broken (Spread: TokenTimeout). */
  tokenLossMs: number;
  /** After the token-loss timer, packets already queued get this long to show the token. */
  tokenLossConfirmMs: number;
  /** Join messages are repeated this often while gathering (JoinTimeout). */
  joinMs: number;
  /** Daemons not heard from for this long while gathering are declared failed (GatherTimeout). */
  consensusMs: number;
  /** A ring whose commit token has not completed in this long is abandoned (FormTimeout). */
  formMs: number;
  /** The commit token is resent to the successor this often until it is seen to move on. */
  commitRetransmitMs: number;
  /** A ring's representative announces the ring this often so partitions merge (AliveTimeout). */
  probeMs: number;
}

export const DEFAULT_TIMEOUTS: MembershipTimeouts = {
  tokenLossMs: 500,
  tokenLossConfirmMs: 20,
  joinMs: 30,
  consensusMs: 200,
  formMs: 400,
  commitRetransmitMs: 20,
  probeMs: 150,
};

export interface CoreIdentity {
  myId: number;
  incarnation: number;
  /** Every daemon of the configuration (who to gather with, who to probe). */
  universe: readonly number[];
  configHash: number;
  /** New rings formed here get a number above this (a clock reading, so restarts never reuse one). */
  ringSeqFloor: number;
}

export interface CoreOptions {
  ring: Partial<RingOptions>;
  timeouts: Partial<MembershipTimeouts>;
}

export type MembershipState = 'gather' | 'commit' | 'recovery' | 'operational';

/**
 * Service codes of the membership layer's own messages on a new ring: 0x80 marks them as
 * internal (outside Spread's codes), the low bits give the ordering. DONE is delivered SAFE, so a
 * daemon installs the new ring only once every member holds every recovered packet: a member that
 * fails before installing still delivers those packets with its old ring.
 */
export const RecoveryService = { PACKET: 0x80 | 0x10, DONE: 0x80 | 0x20 } as const;
