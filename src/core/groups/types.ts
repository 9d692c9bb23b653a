// Inputs and outputs of the groups state machine (GroupsCore.step).
import type { ServiceCode } from '../service';
import type { ConfigurationChange } from '../membership/types';
import type { Envelope } from '../../wire/envelope';
import type { SpreadMessage } from '../../wire/client/message';

export type GroupsInput =
  /** An envelope the ring delivered, in agreed order, from daemon `origin`. */
  | { readonly kind: 'deliver'; readonly origin: number; readonly envelope: Envelope }
  /** A daemon configuration change, in the order the ring reports them. */
  | { readonly kind: 'configuration'; readonly change: ConfigurationChange }
  /** A client session of this daemon completed its handshake. */
  | { readonly kind: 'sessionOpened'; readonly privateGroup: string; readonly membership: boolean }
  /** A session of this daemon is gone; its KILL is on its way through the ring. */
  | { readonly kind: 'sessionClosed'; readonly privateGroup: string };

export type GroupsOutput =
  /** Write `message` to each of these local sessions (by private group). */
  | { readonly kind: 'deliver'; readonly sessions: readonly string[]; readonly message: SpreadMessage }
  /** Put this envelope on the ring (this daemon's groups report). */
  | { readonly kind: 'submit'; readonly service: ServiceCode; readonly payload: Buffer }
  /** A local session's KILL has been delivered: its private name may be used again. */
  | { readonly kind: 'sessionReleased'; readonly privateGroup: string };

/** Where the groups layer stands towards the daemon configuration (Spread's Gstate). */
export type GroupsPhase =
  /** A regular configuration is installed (GOP). */
  | 'operational'
  /** A transitional configuration was delivered; the regular one is awaited (GTRANS). */
  | 'transitional'
  /** Daemons that came together exchange their groups state (GGATHER / GGT). */
  | 'exchanging';

export interface GroupsCoreOptions {
  /** This daemon's id (the configuration's host id). */
  readonly myId: number;
  /** Every daemon id in configuration-file order: members are listed in this order. */
  readonly daemonOrder: readonly number[];
}

/** A group as `GroupsCore.snapshot` shows it. */
export interface GroupView {
  readonly name: string;
  readonly groupId: { readonly daemonId: number; readonly time: number; readonly index: number };
  readonly members: readonly string[];
}
