// Fault events into the events service, best effort: the connection is opened at the first
// event and opened again after it broke, so a supervisor started before its daemon, or one
// whose daemon restarts, publishes once the daemon answers; until then each publish rejects
// quickly and the supervisor logs it and goes on supervising.
import type { FaultEvent, FaultPublisher } from './faults';

/** The part of the events client (src/client/events.ts EventClient) a publisher uses. */
export interface EventPublisherClient {
  publish(name: string, options: { payload: Readonly<Record<string, unknown>> }): Promise<unknown>;
}

/** An open connection to the events service. */
export interface OpenEvents {
  readonly client: EventPublisherClient;
  /** The connection underneath has ended (open again before the next publish). */
  isClosed(): boolean;
  /** Lets go of the connection; `final`: the publisher is done (the events client may end too). */
  close(final: boolean): Promise<void>;
}

export class ReconnectingFaultPublisher implements FaultPublisher {
  private current: Promise<OpenEvents> | undefined;

  /** `open` connects (with a short timeout: publishes wait for it). */
  constructor(private readonly open: () => Promise<OpenEvents>) {}

  /** @throws whatever opening or publishing threw (the connection is opened afresh next time). */
  async publish(event: FaultEvent): Promise<void> {
    try {
      const events = await this.connection();
      await events.client.publish(event.name, { payload: event.payload });
    } catch (err) {
      await this.drop();
      throw err;
    }
  }

  close(): Promise<void> {
    return this.drop(true);
  }

  private async connection(): Promise<OpenEvents> {
    if (this.current) {
      const events = await this.current;
      if (!events.isClosed()) return events;
      await this.drop();
    }
    this.current = this.open();
    return this.current;
  }

  private async drop(final = false): Promise<void> {
    const current = this.current;
    this.current = undefined;
    const events = await current?.catch(() => undefined);
    await events?.close(final).catch(() => {});
  }
}
