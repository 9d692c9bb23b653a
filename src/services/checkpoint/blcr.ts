// BLCR-schema events of checkpoint and restart runs: a BEGIN gets a handle, and that handle is
// closed by exactly one END or ERROR (a second is BAD_OPERATION). A run still open when its
// checkpoint handle is closed, or its client is gone, ends with an ERROR, so no BEGIN is left
// dangling. Every daemon produces the same events in the same order (they come from agreed-
// order inputs only).
import { AisError, type AisErrorName, type ServiceEvent } from '../engine';
import { showValue } from './attributes';
import { fail } from './failure';
import type { BlcrBegin, OpenHandle } from './model';
import { BLCR_SPACE, CHECKPOINT_EVENT_SPACE, type BlcrKind } from './protocol';
import { stampText, type Stamp } from './stamp';

/** Event payloads are small (FTB carries 368 bytes): long names are cut. */
const short = (s: string): string => (s.length > 64 ? `${s.slice(0, 61)}...` : s);

export interface BlcrOutcome {
  /** An AIS error name, or a client-chosen number (chkptError's errorCode). */
  readonly error: AisErrorName | number;
  readonly message: string;
}

export class BlcrTracker {
  readonly begins = new Map<string, BlcrBegin>();

  constructor(private readonly maxOpen: number) {}

  /** Starts a run on an open handle: the BEGIN event, whose handle the reply carries. */
  begin(kind: BlcrKind, open: OpenHandle, checkpoint: string, stamp: Stamp): { beginHandle: string; event: ServiceEvent } {
    if (this.begins.size >= this.maxOpen) fail('NO_RESOURCES', `${this.begins.size} BLCR runs are open, the limit`);
    const b: BlcrBegin = { beginHandle: `ckpt:${stampText(stamp)}`, kind, client: open.client, openKey: open.key, checkpoint };
    this.begins.set(b.beginHandle, b);
    return { beginHandle: b.beginHandle, event: event(b, 'BEGIN') };
  }

  /** The client's open run `beginHandle` of `kind`; anything else (ended, unknown, another's) is BAD_OPERATION. */
  require(beginHandle: unknown, client: string, kind: BlcrKind): BlcrBegin {
    const b = typeof beginHandle === 'string' ? this.begins.get(beginHandle) : undefined;
    if (!b || b.client !== client || b.kind !== kind) fail('BAD_OPERATION', `${showValue(beginHandle)} is not an open ${kind} run of this client (a run ends once)`);
    return b;
  }

  /** Ends a run: END, or ERROR with the outcome's code. */
  end(b: BlcrBegin, outcome?: BlcrOutcome): ServiceEvent {
    this.begins.delete(b.beginHandle);
    return outcome ? event(b, 'ERROR', outcome) : event(b, 'END');
  }

  /** Ends with ERROR every open run on `openKey` (of `kind`, or all). */
  failRuns(openKey: string, outcome: BlcrOutcome, kind?: BlcrKind): ServiceEvent[] {
    const out: ServiceEvent[] = [];
    for (const b of [...this.begins.values()]) if (b.openKey === openKey && (kind === undefined || b.kind === kind)) out.push(this.end(b, outcome));
    return out;
  }

  hasRun(openKey: string, kind: BlcrKind): boolean {
    for (const b of this.begins.values()) if (b.openKey === openKey && b.kind === kind) return true;
    return false;
  }
}

function event(b: BlcrBegin, phase: 'BEGIN' | 'END' | 'ERROR', outcome?: BlcrOutcome): ServiceEvent {
  const payload: Record<string, unknown> = { checkpoint: short(b.checkpoint), client: short(b.client), handle: b.beginHandle };
  if (outcome) Object.assign(payload, errorFields(outcome));
  return {
    space: BLCR_SPACE,
    name: `${b.kind}_${phase}`,
    severity: phase === 'ERROR' ? 'ERROR' : 'INFO',
    payload,
    ...(phase === 'BEGIN' ? { handle: b.beginHandle } : { beginHandle: b.beginHandle }),
  };
}

function errorFields(o: BlcrOutcome): Record<string, unknown> {
  return typeof o.error === 'number'
    ? { errorCode: o.error, message: short(o.message) }
    : { errorCode: AisError[o.error], error: `SA_AIS_ERR_${o.error}`, message: short(o.message) };
}

/** A write that failed outside any checkpoint run. */
export function writeFailedEvent(open: OpenHandle, checkpoint: string, op: string, outcome: BlcrOutcome): ServiceEvent {
  return {
    space: CHECKPOINT_EVENT_SPACE,
    name: 'WRITE_ERROR',
    severity: 'WARNING',
    payload: { checkpoint: short(checkpoint), client: short(open.client), op, ...errorFields(outcome) },
  };
}
