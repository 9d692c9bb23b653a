// The delivery-log format (JSON lines), a contract other tools read:
//   {"t":"conf","kind":"regular","ring":"<ring id>","members":["d1","d2","d3"]}
//   {"t":"sent","id":"<sender>#<n>","svc":"AGREED"}
//   {"t":"msg","id":"<sender>#<n>","svc":"AGREED","groups":["g"],"len":1000}
import type { ServiceName } from '../core/service';

export interface ConfEntry {
  t: 'conf';
  kind: 'regular' | 'transitional';
  ring: string;
  members: string[];
}
export interface SentEntry {
  t: 'sent';
  id: string;
  svc: ServiceName;
}
export interface MsgEntry {
  t: 'msg';
  id: string;
  svc: ServiceName;
  groups: readonly string[];
  len: number;
}
export type LogEntry = ConfEntry | SentEntry | MsgEntry;

/** One line of the log, keys in the contract's order. */
export function formatEntry(e: LogEntry): string {
  switch (e.t) {
    case 'conf':
      return JSON.stringify({ t: 'conf', kind: e.kind, ring: e.ring, members: e.members });
    case 'sent':
      return JSON.stringify({ t: 'sent', id: e.id, svc: e.svc });
    case 'msg':
      return JSON.stringify({ t: 'msg', id: e.id, svc: e.svc, groups: e.groups, len: e.len });
  }
}

/** Splits "<sender>#<n>" at the last '#', since private group names contain '#'. */
export function parseMessageId(id: string): { sender: string; n: number } | undefined {
  const at = id.lastIndexOf('#');
  if (at <= 0) return undefined;
  const n = Number(id.slice(at + 1));
  if (!Number.isInteger(n) || n < 0) return undefined;
  return { sender: id.slice(0, at), n };
}
