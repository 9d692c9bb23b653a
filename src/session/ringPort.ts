// What the session layer needs from the daemon's ring, and the adapter that gets it from a
// Daemon. Everything arrives in the ring's order: deliveries and configuration changes on one
// stream, as the ring produced them.
import type { Configuration, Daemon } from '../daemon/daemon';
import type { ConfigurationChange } from '../core/membership/types';
import type { DeliveredMessage } from '../core/ring/types';
import type { ServiceCode } from '../core/service';

/** A message the ring delivered in its total order. */
export interface RingDelivery {
  /** The daemon that submitted it (its configuration host id). */
  readonly origin: number;
  /** The ring service it was ordered with; codes with bit 0x80 are the ring's own. */
  readonly service: number;
  readonly payload: Buffer;
}

export interface RingListener {
  deliver(message: RingDelivery): void;
  /** Daemon membership: a transitional configuration, then the regular one. */
  configuration(change: ConfigurationChange): void;
}

export interface RingPort {
  /** This daemon's id: its host id in the configuration. */
  readonly daemonId: number;
  /** This daemon's name, the `daemon` in private groups `#name#daemon`. */
  readonly daemonName: string;
  /** Every daemon id in configuration-file order (members are listed in this order). */
  readonly daemonOrder: readonly number[];
  /** A daemon's name by id (status reports); default `#<id>`. */
  nameOf?(daemonId: number): string;
  /** The largest payload `submit` takes. */
  readonly maxPayload: number;
  /**
   * Queues a payload for the ring; every daemon then delivers it in the same total order.
   * May throw (e.g. a payload over maxPayload); must not deliver synchronously into a listener
   * that is still running (the session server copes, but other listeners may not).
   */
  submit(service: ServiceCode, groups: readonly string[], payload: Buffer): void;
  /** Starts the flow of deliveries and configurations; returns the function that stops it. */
  subscribe(listener: RingListener): () => void;
  /** The regular configuration installed now, if any (for a listener that arrives late). */
  currentConfiguration?(): ConfigurationChange | null;
}

/**
 * A Daemon as a RingPort. The daemon's ring must accept client payloads plus the envelope:
 * maxPayload is its configured maxMessageSize, and the session server keeps client messages
 * ENVELOPE_OVERHEAD below that.
 */
export function daemonRingPort(daemon: Daemon): RingPort {
  return {
    daemonId: daemon.host.id,
    daemonName: daemon.host.name,
    daemonOrder: daemon.config.hosts.map((h) => h.id),
    maxPayload: daemon.config.options.maxMessageSize,
    nameOf: (id) => daemon.nameOf(id),
    // The client layer's envelopes are the daemon's own traffic, outside its test-message numbering.
    submit: (service, groups, payload) => daemon.submit(service, groups, payload, true),
    subscribe(listener) {
      const onDeliver = (m: DeliveredMessage): void => listener.deliver(m);
      const onConfiguration = (c: Configuration): void => listener.configuration(c.change);
      daemon.on('deliver', onDeliver);
      daemon.on('configuration', onConfiguration);
      return () => {
        daemon.off('deliver', onDeliver);
        daemon.off('configuration', onConfiguration);
      };
    },
    currentConfiguration: () => daemon.configuration?.change ?? null,
  };
}
