// Parsing and validation of request fields: names, flags, creation attributes, section ids,
// byte strings and times. Every check fails with the AIS error the reference implementations
// give for it (OpenAIS lib/ckpt.c, OpenSAF cpa_open_attr_validate); a field of the wrong type
// is INVALID_PARAM, so a malformed body never gets further than here.
import { fail } from './failure';
import {
  CreationFlag,
  MAX_NAME_BYTES,
  MAX_SECTION_ID_BYTES,
  OpenFlag,
  SectionsChosen,
  SUPPORTED_VERSION,
  type CreationAttributes,
} from './protocol';

export type Body = Readonly<Record<string, unknown>>;

/** A request value in a message: never throws, whatever the value is. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 61)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return v instanceof Uint8Array ? `${v.length} bytes` : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a map' : typeof v;
}

/** Times at or past this (year 275760, the end of JS dates) mean SA_TIME_END, as does null. */
export const TIME_END = 8.64e15;

const ALL_OPEN_FLAGS = OpenFlag.READ | OpenFlag.WRITE | OpenFlag.CREATE;
const UPDATE_OPTIONS = CreationFlag.WR_ALL_REPLICAS | CreationFlag.WR_ACTIVE_REPLICA | CreationFlag.WR_ACTIVE_REPLICA_WEAK;
const ALL_CREATION_FLAGS = UPDATE_OPTIONS | CreationFlag.CHECKPOINT_COLLOCATED;

/** A checkpoint name: 1..SA_MAX_NAME_LENGTH bytes of UTF-8. */
export function parseName(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) fail('INVALID_PARAM', 'name must be a non-empty string');
  if (Buffer.byteLength(v) > MAX_NAME_BYTES) fail('INVALID_PARAM', `name is longer than ${MAX_NAME_BYTES} bytes`);
  return v;
}

/** A whole number in [min, max]; `dflt` when absent (null or undefined). */
export function parseCount(v: unknown, what: string, opts: { min?: number; max?: number; dflt?: number } = {}): number {
  if ((v === undefined || v === null) && opts.dflt !== undefined) return opts.dflt;
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) fail('INVALID_PARAM', `${what} must be a whole number in ${min}..${max}`);
  return v;
}

/** A handle number as the engine handed it out; its absence is a malformed request. */
export const parseHandle = (v: unknown, what = 'handle'): number => parseCount(v, what, { min: 0 });

/** saCkptCheckpointOpen's checkpointOpenFlags: unknown bits, or none of the three, is BAD_FLAGS. */
export function parseOpenFlags(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || (v & ~ALL_OPEN_FLAGS) !== 0 || (v & ALL_OPEN_FLAGS) === 0) {
    fail('BAD_FLAGS', 'flags must combine READ (1), WRITE (2) and CREATE (4), and name at least one');
  }
  return v;
}

/** A duration or time in ms; null, absent or ≥ TIME_END is SA_TIME_END (returned as null). */
export function parseTime(v: unknown, what: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) fail('INVALID_PARAM', `${what} must be a number of ms ≥ 0, or null for SA_TIME_END`);
  return v >= TIME_END ? null : Math.floor(v);
}

/**
 * SaCkptCheckpointCreationAttributesT. The update option must be exactly one of
 * WR_ALL_REPLICAS, WR_ACTIVE_REPLICA, WR_ACTIVE_REPLICA_WEAK (COLLOCATED may be added), and
 * checkpointSize must fit maxSections × maxSectionSize: otherwise INVALID_PARAM.
 */
export function parseCreationAttributes(v: unknown): CreationAttributes {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('INVALID_PARAM', 'attrs must be a map of the creation attributes');
  const a = v as Record<string, unknown>;
  const creationFlags = parseCount(a.creationFlags, 'attrs.creationFlags');
  const update = creationFlags & UPDATE_OPTIONS;
  if ((creationFlags & ~ALL_CREATION_FLAGS) !== 0 || (update !== CreationFlag.WR_ALL_REPLICAS && update !== CreationFlag.WR_ACTIVE_REPLICA && update !== CreationFlag.WR_ACTIVE_REPLICA_WEAK)) {
    fail('INVALID_PARAM', 'attrs.creationFlags must hold exactly one of WR_ALL_REPLICAS (1), WR_ACTIVE_REPLICA (2), WR_ACTIVE_REPLICA_WEAK (4), optionally with CHECKPOINT_COLLOCATED (8)');
  }
  const checkpointSize = parseCount(a.checkpointSize, 'attrs.checkpointSize');
  const retentionDuration = parseTime(a.retentionDuration, 'attrs.retentionDuration');
  const maxSections = parseCount(a.maxSections, 'attrs.maxSections', { min: 1 });
  const maxSectionSize = parseCount(a.maxSectionSize, 'attrs.maxSectionSize');
  const maxSectionIdSize = parseCount(a.maxSectionIdSize, 'attrs.maxSectionIdSize', { max: MAX_SECTION_ID_BYTES });
  if (checkpointSize > maxSections * maxSectionSize) fail('INVALID_PARAM', 'attrs.checkpointSize is larger than maxSections × maxSectionSize');
  return { creationFlags, checkpointSize, retentionDuration, maxSections, maxSectionSize, maxSectionIdSize };
}

export const sameAttributes = (a: CreationAttributes, b: CreationAttributes): boolean =>
  a.creationFlags === b.creationFlags &&
  a.checkpointSize === b.checkpointSize &&
  a.retentionDuration === b.retentionDuration &&
  a.maxSections === b.maxSections &&
  a.maxSectionSize === b.maxSectionSize &&
  a.maxSectionIdSize === b.maxSectionIdSize;

/** Bytes from a msgpack bin (Uint8Array) or a string (its UTF-8); a copy the caller owns. */
export function parseBytes(v: unknown, what: string, maxBytes = Number.MAX_SAFE_INTEGER): Buffer {
  let out: Buffer;
  if (typeof v === 'string') out = Buffer.from(v, 'utf8');
  else if (v instanceof Uint8Array) out = Buffer.from(v);
  else return fail('INVALID_PARAM', `${what} must be bytes or a string`);
  if (out.length > maxBytes) fail('INVALID_PARAM', `${what} is longer than ${maxBytes} bytes`);
  return out;
}

/** A section id; absent or empty is the default section (SA_CKPT_DEFAULT_SECTION_ID). */
export function parseSectionId(v: unknown, what = 'sectionId'): Buffer {
  if (v === undefined || v === null) return Buffer.alloc(0);
  return parseBytes(v, what, MAX_SECTION_ID_BYTES);
}

/** saCkptSectionIterationInitialize's sectionsChosen: its number or its name. */
export function parseSectionsChosen(v: unknown): number {
  if (v === undefined || v === null) return SectionsChosen.ANY;
  if (typeof v === 'string') {
    const n = (SectionsChosen as Record<string, number>)[v.toUpperCase()];
    if (n !== undefined) return n;
  } else if (typeof v === 'number' && Object.values(SectionsChosen).includes(v as 1)) {
    return v;
  }
  return fail('INVALID_PARAM', 'filter must be FOREVER, LEQ_EXPIRATION_TIME, GEQ_EXPIRATION_TIME, CORRUPTED or ANY (1..5)');
}

/** A list with 1..max elements. */
export function parseList(v: unknown, what: string, max: number): readonly unknown[] {
  if (!Array.isArray(v) || v.length === 0) fail('INVALID_PARAM', `${what} must be a non-empty list`);
  if (v.length > max) fail('INVALID_PARAM', `${what} has more than ${max} elements`);
  return v;
}

export function parseMap(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) fail('INVALID_PARAM', `${what} must be a map`);
  return v as Record<string, unknown>;
}

/**
 * saCkptInitialize's version check: release code B and a major version up to ours; the answer
 * is the version implemented. Absent: the current one.
 */
export function checkVersion(v: unknown): void {
  if (v === undefined || v === null) return;
  const m = parseMap(v, 'version');
  const ok = m.releaseCode === SUPPORTED_VERSION.releaseCode && typeof m.majorVersion === 'number' && m.majorVersion >= 1 && m.majorVersion <= SUPPORTED_VERSION.majorVersion;
  if (!ok) fail('VERSION', `version ${showValue(m.releaseCode)}.${showValue(m.majorVersion)} is not supported (B.02.02 is)`, { version: SUPPORTED_VERSION });
}
