// Requests to replies: one handler per op. Each parses its fields first (INVALID_PARAM,
// BAD_FLAGS), then finds the handle (BAD_HANDLE) and checks its open mode (ACCESS), then lets
// the store act — the order of the AIS library checks before the executive's. A handler either
// returns the reply's fields or throws a CheckpointFailure; a change made by a request is
// stamped once (stamp()), so all daemons stamp it alike.
import { daemonOfPrivateGroup, type ServiceEvent } from '../engine';
import {
  checkVersion,
  parseBytes,
  parseCount,
  parseCreationAttributes,
  parseHandle,
  parseList,
  parseMap,
  parseName,
  parseOpenFlags,
  parseSectionId,
  parseSectionsChosen,
  parseTime,
  sameAttributes,
  type Body,
} from './attributes';
import { writeFailedEvent, type BlcrTracker } from './blcr';
import { CheckpointFailure, fail } from './failure';
import type { Checkpoint, OpenHandle } from './model';
import { BLCR_MARKERS, OpenFlag, SectionsChosen, SUPPORTED_VERSION, type BlcrKind, type BlcrMarker, type CheckpointOp } from './protocol';
import * as sections from './sections';
import type { Stamp } from './stamp';
import { isAsync, isCollocated, type CheckpointStore } from './store';

export interface RequestContext {
  readonly store: CheckpointStore;
  readonly blcr: BlcrTracker;
  /** The requesting client's private group. */
  readonly client: string;
  /** Events to publish, in order. */
  readonly events: ServiceEvent[];
  /** The stamp of this request's change (taken on first use). */
  stamp(): Stamp;
}

type Result = Record<string, unknown>;
type Handler = (ctx: RequestContext, body: Body) => Result;

/** The handle's checkpoint, once its open mode allows `need`. */
function opened(ctx: RequestContext, body: Body, need?: 'read' | 'write'): { open: OpenHandle; checkpoint: Checkpoint } {
  const found = ctx.store.handleOf(ctx.client, parseHandle(body.handle));
  if (need === 'write' && (found.open.flags & OpenFlag.WRITE) === 0) fail('ACCESS', `checkpoint ${found.checkpoint.name} is not open for writing on handle ${found.open.handle}`);
  if (need === 'read' && (found.open.flags & OpenFlag.READ) === 0) fail('ACCESS', `checkpoint ${found.checkpoint.name} is not open for reading on handle ${found.open.handle}`);
  return found;
}

/** Closes a handle; its open BLCR runs end with an ERROR. */
function closeHandle(ctx: RequestContext, open: OpenHandle, why: string): void {
  ctx.events.push(...ctx.blcr.failRuns(open.key, { error: 'BAD_HANDLE', message: why }));
  ctx.store.close(open, ctx.stamp());
}

/** What a checkpoint's status and listings show. */
export function summary(c: Checkpoint): Result {
  return {
    name: c.name,
    checkpointId: c.id,
    attrs: { ...c.attrs, retentionDuration: c.retention },
    numberOfSections: c.sections.size,
    memoryUsed: c.bytes,
    openers: c.openers.size,
    unlinked: c.unlinked,
    activeReplica: c.activeReplica,
    idleSince: c.idleSince,
  };
}

// ---- BLCR markers on write / overwrite / sectionCreate (CHKPT) and read (RSTRT) ------------

interface Marker {
  readonly marker: BlcrMarker;
  readonly beginHandle?: unknown;
}

function parseMarker(body: Body): Marker | undefined {
  if (body.blcr === undefined || body.blcr === null) return undefined;
  if (!(BLCR_MARKERS as readonly unknown[]).includes(body.blcr)) fail('INVALID_PARAM', `blcr must be one of ${BLCR_MARKERS.join(', ')}`);
  const marker = body.blcr as BlcrMarker;
  if (marker === 'end' && typeof body.beginHandle !== 'string') fail('INVALID_PARAM', 'blcr "end" needs the beginHandle of the run');
  return { marker, beginHandle: body.beginHandle };
}

/**
 * Runs a data operation inside a BLCR run as its marker says: `begin` publishes BEGIN first,
 * `end` closes the named run, `once` does both. A failure ends the run with ERROR. A write that
 * fails with no marker ends the handle's open CHKPT runs with ERROR, or, with none, publishes
 * a WRITE_ERROR event.
 */
function inRun(ctx: RequestContext, kind: BlcrKind, op: string, open: OpenHandle, c: Checkpoint, m: Marker | undefined, run: () => Result): Result {
  const existing = m?.marker === 'end' ? ctx.blcr.require(m.beginHandle, ctx.client, kind) : undefined;
  let beginHandle: string | undefined;
  if (m && m.marker !== 'end') {
    const b = ctx.blcr.begin(kind, open, c.name, ctx.stamp());
    ctx.events.push(b.event);
    beginHandle = b.beginHandle;
  }
  const current = existing ?? (beginHandle === undefined ? undefined : ctx.blcr.begins.get(beginHandle));
  let result: Result;
  try {
    result = run();
  } catch (e) {
    if (!(e instanceof CheckpointFailure)) throw e;
    const outcome = { error: e.error, message: e.message };
    if (current) ctx.events.push(ctx.blcr.end(current, outcome));
    else if (kind === 'CHKPT') {
      const ended = ctx.blcr.failRuns(open.key, outcome, 'CHKPT');
      ctx.events.push(...(ended.length > 0 ? ended : [writeFailedEvent(open, c.name, op, outcome)]));
    }
    throw beginHandle === undefined ? e : new CheckpointFailure(e.error, e.message, { ...e.details, beginHandle });
  }
  if (current && m?.marker !== 'begin') ctx.events.push(ctx.blcr.end(current));
  return beginHandle === undefined ? result : { ...result, beginHandle };
}

/** A data op on the handle: its open mode is checked inside the run, so an ACCESS failure is a failed write too. */
function dataOp(ctx: RequestContext, body: Body, kind: BlcrKind, op: string, need: 'read' | 'write', m: Marker | undefined, run: (c: Checkpoint) => Result): Result {
  const { open, checkpoint } = ctx.store.handleOf(ctx.client, parseHandle(body.handle));
  return inRun(ctx, kind, op, open, checkpoint, m, () => run(opened(ctx, body, need).checkpoint));
}

// ---- BLCR ops -------------------------------------------------------------------------------

const blcrBegin =
  (kind: BlcrKind): Handler =>
  (ctx, body) => {
    const { open, checkpoint } = opened(ctx, body);
    const b = ctx.blcr.begin(kind, open, checkpoint.name, ctx.stamp());
    ctx.events.push(b.event);
    return { beginHandle: b.beginHandle };
  };

const blcrEnd =
  (kind: BlcrKind): Handler =>
  (ctx, body) => {
    ctx.events.push(ctx.blcr.end(ctx.blcr.require(body.beginHandle, ctx.client, kind)));
    return {};
  };

const blcrError =
  (kind: BlcrKind): Handler =>
  (ctx, body) => {
    const errorCode = parseCount(body.errorCode, 'errorCode', { dflt: 0, max: 0x7fffffff });
    const message = body.message === undefined || body.message === null ? '' : typeof body.message === 'string' ? body.message : fail('INVALID_PARAM', 'message must be a string');
    ctx.events.push(ctx.blcr.end(ctx.blcr.require(body.beginHandle, ctx.client, kind), { error: errorCode, message }));
    return {};
  };

// ---- the ops ----------------------------------------------------------------------------------

const handlers: Record<CheckpointOp, Handler> = {
  initialize(ctx, body) {
    checkVersion(body.version);
    return { ckptHandle: ctx.store.newLibrary(ctx.client), version: SUPPORTED_VERSION };
  },

  finalize(ctx, body) {
    const library = parseHandle(body.ckptHandle, 'ckptHandle');
    const mine = ctx.store.libraries.get(ctx.client);
    if (library !== 0 && !mine?.has(library)) fail('BAD_HANDLE', `ckptHandle ${library} is not an initialized library handle of this client`);
    const opens = ctx.store.handlesOf(ctx.client).filter((h) => h.library === library);
    for (const open of opens) closeHandle(ctx, open, 'library handle finalized');
    mine?.delete(library);
    if (mine?.size === 0) ctx.store.libraries.delete(ctx.client);
    return { closed: opens.length };
  },

  open(ctx, body) {
    const name = parseName(body.name);
    const flags = parseOpenFlags(body.flags);
    const create = (flags & OpenFlag.CREATE) !== 0;
    const hasAttrs = body.attrs !== undefined && body.attrs !== null;
    if (create && !hasAttrs) fail('INVALID_PARAM', 'CREATE needs attrs (the creation attributes)');
    if (!create && hasAttrs) fail('INVALID_PARAM', 'attrs are only given with CREATE');
    const attrs = hasAttrs ? parseCreationAttributes(body.attrs) : undefined;
    const library = parseHandle(body.ckptHandle ?? 0, 'ckptHandle');
    if (library !== 0 && !ctx.store.libraries.get(ctx.client)?.has(library)) fail('BAD_HANDLE', `ckptHandle ${library} is not an initialized library handle of this client`);
    let checkpoint = ctx.store.linked(name);
    let created = false;
    if (!checkpoint) {
      if (!attrs) fail('NOT_EXIST', `no checkpoint ${name} (open with CREATE to make it)`);
      ctx.store.checkHandleRoom(); // not a checkpoint created for an open that cannot happen
      checkpoint = ctx.store.create(name, attrs, ctx.stamp());
      created = true;
    } else if (attrs && !sameAttributes(checkpoint.attrs, attrs)) {
      fail('EXIST', `checkpoint ${name} exists with other creation attributes`);
    }
    const open = ctx.store.open(ctx.client, checkpoint, flags, library, ctx.stamp());
    return { handle: open.handle, created, attrs: summary(checkpoint).attrs };
  },

  close(ctx, body) {
    closeHandle(ctx, opened(ctx, body).open, 'checkpoint closed');
    return {};
  },

  unlink(ctx, body) {
    const name = parseName(body.name);
    const c = ctx.store.linked(name);
    if (!c) fail('NOT_EXIST', `no checkpoint ${name}`);
    ctx.store.unlink(c, ctx.stamp());
    return {};
  },

  retentionSet(ctx, body) {
    const retention = parseTime(body.retentionDuration, 'retentionDuration');
    const { checkpoint: c } = opened(ctx, body);
    if (c.unlinked) fail('BAD_OPERATION', `checkpoint ${c.name} is unlinked`);
    c.retention = retention;
    c.metaStamp = c.lastChange = ctx.stamp();
    ctx.store.touchDeadline();
    return {};
  },

  activeReplicaSet(ctx, body) {
    const { checkpoint: c } = opened(ctx, body, 'write');
    if (!isCollocated(c.attrs) || !isAsync(c.attrs)) {
      fail('BAD_OPERATION', `checkpoint ${c.name} is not collocated with asynchronous update (WR_ACTIVE_REPLICA or _WEAK)`);
    }
    c.activeReplica = daemonOfPrivateGroup(ctx.client);
    c.metaStamp = c.lastChange = ctx.stamp();
    return { activeReplica: c.activeReplica };
  },

  status(ctx, body) {
    const { checkpoint: c } = opened(ctx, body);
    sections.requireActiveReplica(c);
    const s = summary(c);
    return { attrs: s.attrs, numberOfSections: s.numberOfSections, memoryUsed: s.memoryUsed };
  },

  sectionCreate(ctx, body) {
    const given = body.generated === true ? null : parseSectionId(body.sectionId);
    const id = given === null || given.length === 0 ? null : given;
    const expiration = parseTime(body.expirationTime, 'expirationTime');
    const data = body.data === undefined || body.data === null ? Buffer.alloc(0) : parseBytes(body.data, 'data');
    const m = parseMarker(body);
    return dataOp(ctx, body, 'CHKPT', 'sectionCreate', 'write', m, (c) => ({ sectionId: sections.createSection(ctx.store, c, id, expiration, data, ctx.stamp()) }));
  },

  sectionDelete(ctx, body) {
    const id = parseSectionId(body.sectionId);
    sections.deleteSection(ctx.store, opened(ctx, body, 'write').checkpoint, id, ctx.stamp());
    return {};
  },

  sectionExpirationSet(ctx, body) {
    const id = parseSectionId(body.sectionId);
    const expiration = parseTime(body.expirationTime, 'expirationTime');
    sections.setSectionExpiration(ctx.store, opened(ctx, body, 'write').checkpoint, id, expiration, ctx.stamp());
    return {};
  },

  write(ctx, body) {
    const elements = parseList(body.ioVector, 'ioVector', ctx.store.limits.maxIoVector).map((v, i) => {
      const e = parseMap(v, `ioVector[${i}]`);
      return { sectionId: parseSectionId(e.sectionId, `ioVector[${i}].sectionId`), dataOffset: parseCount(e.dataOffset, `ioVector[${i}].dataOffset`, { dflt: 0 }), data: parseBytes(e.data, `ioVector[${i}].data`) };
    });
    const m = parseMarker(body);
    return dataOp(ctx, body, 'CHKPT', 'write', 'write', m, (c) => {
      sections.write(ctx.store, c, elements, ctx.stamp());
      return {};
    });
  },

  overwrite(ctx, body) {
    const id = parseSectionId(body.sectionId);
    const data = parseBytes(body.data, 'data');
    const m = parseMarker(body);
    return dataOp(ctx, body, 'CHKPT', 'overwrite', 'write', m, (c) => {
      sections.overwrite(ctx.store, c, id, data, ctx.stamp());
      return {};
    });
  },

  read(ctx, body) {
    const elements = parseList(body.ioVector, 'ioVector', ctx.store.limits.maxIoVector).map((v, i) => {
      const e = parseMap(v, `ioVector[${i}]`);
      const dataSize = e.dataSize === undefined || e.dataSize === null ? null : parseCount(e.dataSize, `ioVector[${i}].dataSize`);
      return { sectionId: parseSectionId(e.sectionId, `ioVector[${i}].sectionId`), dataOffset: parseCount(e.dataOffset, `ioVector[${i}].dataOffset`, { dflt: 0 }), dataSize };
    });
    const m = parseMarker(body);
    return dataOp(ctx, body, 'RSTRT', 'read', 'read', m, (c) => ({ ioVector: sections.read(c, elements, ctx.store.limits.maxReplyBytes) }));
  },

  synchronize(ctx, body) {
    const timeout = body.timeout === undefined || body.timeout === null ? null : parseCount(body.timeout, 'timeout');
    if (timeout === 0) fail('TIMEOUT', 'a timeout of 0 expires before the call can complete');
    const { checkpoint: c } = opened(ctx, body, 'write');
    if (!isAsync(c.attrs)) fail('BAD_OPERATION', `checkpoint ${c.name} is WR_ALL_REPLICAS: every write is already on every replica`);
    sections.requireActiveReplica(c);
    // Ordered after every write before it, and every replica applied those: synchronized.
    return {};
  },

  sections(ctx, body) {
    const chosen = parseSectionsChosen(body.filter);
    const time = parseTime(body.expirationTime, 'expirationTime');
    const after = body.after === undefined || body.after === null ? null : parseSectionId(body.after, 'after');
    const max = ctx.store.limits.maxSectionsPerReply;
    const limit = parseCount(body.limit, 'limit', { min: 1, max, dflt: max });
    const { checkpoint: c } = opened(ctx, body);
    sections.requireActiveReplica(c);
    return sections.chooseSections(c, chosen, time, after, limit, ctx.store.limits.maxReplyBytes);
  },

  list(ctx) {
    const all = [...ctx.store.byName.keys()].sort().map((name) => summary(ctx.store.linked(name)!));
    return { checkpoints: all };
  },

  describe(ctx, body) {
    const name = parseName(body.name);
    const c = ctx.store.linked(name);
    if (!c) fail('NOT_EXIST', `no checkpoint ${name}`);
    const listed = sections.chooseSections(c, SectionsChosen.ANY, null, null, ctx.store.limits.maxSectionsPerReply, ctx.store.limits.maxReplyBytes);
    const openers = [...c.openers].map((k) => ctx.store.handles.get(k)!).map((h) => ({ client: h.client, handle: h.handle, flags: h.flags }));
    return { ...summary(c), sections: listed.sections, moreSections: listed.more, openedBy: openers };
  },

  chkptBegin: blcrBegin('CHKPT'),
  chkptEnd: blcrEnd('CHKPT'),
  chkptError: blcrError('CHKPT'),
  rstrtBegin: blcrBegin('RSTRT'),
  rstrtEnd: blcrEnd('RSTRT'),
  rstrtError: blcrError('RSTRT'),
};

/**
 * Applies one request. @returns the reply's fields (ok) — or throws CheckpointFailure, which
 * the engine turns into the error reply.
 */
export function dispatch(ctx: RequestContext, body: Body): Result {
  if (typeof body.op !== 'string') return fail('INVALID_PARAM', 'op must be a string');
  const handler = Object.prototype.hasOwnProperty.call(handlers, body.op) ? handlers[body.op as CheckpointOp] : undefined;
  if (!handler) return fail('NOT_SUPPORTED', `unknown op ${JSON.stringify(body.op)}`);
  return handler(ctx, body);
}

/** Closes the handles of clients that are gone; their BLCR runs end with ERROR. */
export function closeHandles(ctx: RequestContext, opens: readonly OpenHandle[], why: string): void {
  for (const open of opens) closeHandle(ctx, open, why);
}
