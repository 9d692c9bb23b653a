// A harness that drives a CheckpointEngine directly: requests from named clients with a clock
// the test moves, configurations, ticks; replies and events come back per step.
import { strict as assert } from 'node:assert';
import type { AisErrorName, ServiceEvent, ServiceInput, ServiceOutput } from '../../src/services/engine';
import { CheckpointEngine, type CheckpointEngineOptions } from '../../src/services/checkpoint';

export const ALICE = '#alice#d1';
export const BOB = '#bob#d2';
export const CAROL = '#carol#d3';
/** Every daemon of the configuration file, in its order (what the service host passes). */
export const DAEMONS = ['d1', 'd2', 'd3'];

export const READ = 1;
export const WRITE = 2;
export const CREATE = 4;
export const RW = READ | WRITE;
export const RWC = READ | WRITE | CREATE;

/** WR_ALL_REPLICAS, kept until unlinked, 8 sections of up to 1 KiB, 4 KiB in all. */
export const ATTRS = { creationFlags: 1, checkpointSize: 4096, retentionDuration: null, maxSections: 8, maxSectionSize: 1024, maxSectionIdSize: 16 };

export type Reply = Record<string, unknown>;

export class Harness {
  readonly engine: CheckpointEngine;
  time = 1_000_000;
  private nextId = 1;
  /** The events of the last step. */
  events: ServiceEvent[] = [];

  constructor(options: CheckpointEngineOptions = {}, members: readonly string[] = ['d1', 'd2', 'd3'], ringSeq = 1) {
    this.engine = new CheckpointEngine(options);
    this.configure(members, ringSeq);
  }

  step(input: ServiceInput): ServiceOutput[] {
    const out = this.engine.step(input);
    this.events = out.flatMap((o) => (o.kind === 'event' ? [o.event] : []));
    return out;
  }

  configure(members: readonly string[], ringSeq: number, left: readonly string[] = [], rep = members[0]!): ServiceOutput[] {
    return this.step({ kind: 'configuration', configuration: { kind: 'regular', ringId: `${ringSeq}.${rep}`, ringSeq, members, left, joined: [], daemons: DAEMONS } });
  }

  tick(time: number): void {
    this.time = Math.max(this.time, time);
    this.step({ kind: 'tick', time });
  }

  gone(client: string): ServiceOutput[] {
    return this.step({ kind: 'sessionGone', privateGroup: client });
  }

  /** Sends a request; the reply (asserted to be addressed to `from`). */
  request(from: string, op: unknown, args: Record<string, unknown> = {}): Reply {
    const id = this.nextId++;
    const out = this.step({ kind: 'request', request: { from, origin: from.split('#')[2] ?? 'd1', time: this.time, safe: false, body: { ...args, op, id } } });
    const replies = out.filter((o) => o.kind === 'reply');
    assert.equal(replies.length, 1, 'one reply per request');
    const r = replies[0]!;
    assert.ok(r.kind === 'reply');
    assert.equal(r.to, from);
    assert.equal(r.body.id, id);
    return r.body as Reply;
  }

  ok(from: string, op: string, args: Record<string, unknown> = {}): Reply {
    const r = this.request(from, op, args);
    assert.equal(r.ok, true, `${op} failed: ${String(r.error)} ${String(r.message)}`);
    return r;
  }

  fail(from: string, op: unknown, args: Record<string, unknown>, error: AisErrorName): Reply {
    const r = this.request(from, op, args);
    assert.equal(r.ok, false, `${String(op)} succeeded, expected ${error}`);
    assert.equal(r.error, `SA_AIS_ERR_${error}`, `${String(op)}: ${String(r.message)}`);
    assert.equal(typeof r.code, 'number');
    return r;
  }

  open(from: string, name: string, flags = RWC, attrs: Record<string, unknown> | undefined = (flags & CREATE) !== 0 ? ATTRS : undefined): number {
    return this.ok(from, 'open', { name, flags, attrs }).handle as number;
  }

  /** Reads a whole section as text. */
  text(from: string, handle: number, sectionId: string | Buffer): string {
    const r = this.ok(from, 'read', { handle, ioVector: [{ sectionId }] });
    return ((r.ioVector as Array<{ data: Buffer }>)[0]!.data).toString();
  }
}

export const names = (events: readonly ServiceEvent[]): string[] => events.map((e) => e.name);
