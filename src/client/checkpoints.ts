// The TypeScript face of the checkpoint service (src/services/checkpoint; README "Checkpoints"):
// `session.checkpoints.open(name, { create, attrs })` gives a CheckpointHandle with the AIS
// calls as promise-returning methods. Every method also takes an optional node-style callback
// as its last argument (the asynchronous AIS form); the promise is returned either way.
// Failures are ServiceError with the AIS error name (SA_AIS_ERR_…) and number; a write or read
// that fails on one element is a CheckpointIoError, which names the element.
import { AisError } from '../services/engine';
import {
  CHECKPOINT_GROUP,
  CreationFlag,
  OpenFlag,
  SectionsChosen,
  type BlcrMarker,
  type CreationAttributes,
  type CreationFlagName,
  type SectionDescriptor,
  type SectionsChosenName,
} from '../services/checkpoint/protocol';
import { RingcastError } from '../errors';
import { ServiceError, type ServiceClient, type ServiceReply, type ServiceRequestOptions } from './serviceClient';

export { CHECKPOINT_GROUP, type CreationAttributes, type SectionDescriptor };

/** What the wrapper needs of a ServiceClient (tests give a loopback to an engine). */
export type ServiceRequester = Pick<ServiceClient, 'request'>;

export type Callback<T> = (error: Error | null, result?: T) => void;
/** A section id: a string (its UTF-8) or bytes; '' is the default section. */
export type SectionIdInput = string | Uint8Array;
export type DataInput = string | Uint8Array;
/** An absolute time: ms since the epoch or a Date; null = never (SA_TIME_END). */
export type TimeInput = number | Date | null;

/** Creation attributes; what is left out comes from DEFAULT_CHECKPOINT_ATTRIBUTES. */
export interface CheckpointAttributesInput {
  /** A number (CreationFlag bits) or flag names, e.g. ['WR_ACTIVE_REPLICA', 'CHECKPOINT_COLLOCATED']. */
  readonly creationFlags?: number | readonly CreationFlagName[];
  readonly checkpointSize?: number;
  /** ms the checkpoint outlives its last close; null = until unlinked. */
  readonly retentionDuration?: number | null;
  readonly maxSections?: number;
  readonly maxSectionSize?: number;
  readonly maxSectionIdSize?: number;
}

/** WR_ALL_REPLICAS, kept until unlinked, 16 sections of up to 64 KiB, ids up to 64 bytes. */
export const DEFAULT_CHECKPOINT_ATTRIBUTES: CreationAttributes = {
  creationFlags: CreationFlag.WR_ALL_REPLICAS,
  checkpointSize: 16 * 65536,
  retentionDuration: null,
  maxSections: 16,
  maxSectionSize: 65536,
  maxSectionIdSize: 64,
};

export interface CheckpointServiceOptions {
  /** Per request, TRY_AGAIN retries included; then ServiceError SA_AIS_ERR_TIMEOUT. Default 10000. */
  readonly timeoutMs?: number;
  /** Order changes SAFE (delivered once every daemon has them) rather than AGREED. */
  readonly safe?: boolean;
}

export interface OpenOptions {
  /** Neither read nor write given: both. */
  readonly read?: boolean;
  readonly write?: boolean;
  /** Create the checkpoint when it does not exist (with `attrs`, or the defaults). */
  readonly create?: boolean;
  readonly attrs?: CheckpointAttributesInput;
}

export interface CheckpointSummary {
  readonly name: string;
  readonly checkpointId: string;
  readonly attrs: CreationAttributes;
  readonly numberOfSections: number;
  readonly memoryUsed: number;
  /** Handles that have it open. */
  readonly openers: number;
  readonly unlinked: boolean;
  readonly activeReplica: string | null;
  /** When the last opener closed (retention runs from there); null while open. */
  readonly idleSince: number | null;
}

export interface CheckpointDescription extends CheckpointSummary {
  readonly sections: SectionDescriptor[];
  readonly moreSections: boolean;
  readonly openedBy: Array<{ client: string; handle: number; flags: number }>;
}

export interface CheckpointStatus {
  readonly attrs: CreationAttributes;
  readonly numberOfSections: number;
  readonly memoryUsed: number;
}

export interface WriteElement {
  readonly sectionId?: SectionIdInput;
  readonly offset?: number;
  readonly data: DataInput;
}

export interface ReadElement {
  readonly sectionId?: SectionIdInput;
  readonly offset?: number;
  /** Bytes to read at most; default to the section's end. */
  readonly size?: number;
}

export interface ReadResult {
  readonly data: Buffer;
  readonly readSize: number;
}

/** BLCR marking of a write or read (README "Checkpoints", BLCR events). */
export interface RunOptions {
  /** begin: publish BEGIN first; end: close run `beginHandle`; once: both around this call. */
  readonly blcr?: BlcrMarker;
  readonly beginHandle?: string;
}

export interface RunResult {
  /** The run begun by a `begin` or `once` marker. */
  readonly beginHandle?: string;
}

export interface SectionFilter {
  readonly filter?: SectionsChosenName | number;
  /** For LEQ_/GEQ_EXPIRATION_TIME. */
  readonly expiration?: TimeInput;
}

/** A write or read failed on one element of its io-vector. */
export class CheckpointIoError extends ServiceError {
  constructor(
    cause: ServiceError,
    /** The element that failed (erroneousVectorIndex). */
    readonly erroneousVectorIndex: number,
  ) {
    super(cause.error, cause.errorCode, cause.message.replace(/^[^:]*: [^:]*: /, ''), cause.op);
  }
}

const toBuffer = (v: DataInput): Buffer => (typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
const toTime = (t: TimeInput | undefined): number | null | undefined => (t instanceof Date ? t.getTime() : t);

/** Drops undefined fields (msgpack would send them as nil). */
function clean(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
}

function creationFlags(f: CheckpointAttributesInput['creationFlags']): number {
  if (f === undefined) return DEFAULT_CHECKPOINT_ATTRIBUTES.creationFlags;
  if (typeof f === 'number') return f;
  return f.reduce((bits, name) => bits | CreationFlag[name], 0);
}

/** Full creation attributes from partial ones; checkpointSize follows the section limits when not given. */
export function creationAttributes(a: CheckpointAttributesInput = {}): CreationAttributes {
  const maxSections = a.maxSections ?? DEFAULT_CHECKPOINT_ATTRIBUTES.maxSections;
  const maxSectionSize = a.maxSectionSize ?? DEFAULT_CHECKPOINT_ATTRIBUTES.maxSectionSize;
  return {
    creationFlags: creationFlags(a.creationFlags),
    checkpointSize: a.checkpointSize ?? maxSections * maxSectionSize,
    retentionDuration: a.retentionDuration === undefined ? DEFAULT_CHECKPOINT_ATTRIBUTES.retentionDuration : a.retentionDuration,
    maxSections,
    maxSectionSize,
    maxSectionIdSize: a.maxSectionIdSize ?? DEFAULT_CHECKPOINT_ATTRIBUTES.maxSectionIdSize,
  };
}

/** Settles `cb` (outside the promise chain, so its throws are not swallowed) and returns `p`. */
function settle<T>(p: Promise<T>, cb: Callback<T> | undefined): Promise<T> {
  if (cb) {
    p.then(
      (v) => process.nextTick(cb, null, v),
      (e: Error) => process.nextTick(cb, e),
    );
  }
  return p;
}

/** Requests with the service's options; timeouts become SA_AIS_ERR_TIMEOUT; io errors name their element. */
class Requester {
  constructor(
    private readonly service: ServiceRequester,
    private readonly options: CheckpointServiceOptions,
  ) {}

  async call(op: string, args: Record<string, unknown> = {}, change = true): Promise<ServiceReply> {
    const opts: ServiceRequestOptions = { timeoutMs: this.options.timeoutMs, safe: change && this.options.safe === true };
    try {
      return await this.service.request(op, clean(args), opts);
    } catch (e) {
      throw translate(e, op);
    }
  }
}

function translate(e: unknown, op: string): unknown {
  if (e instanceof ServiceError) {
    const reply = (e as { reply?: Record<string, unknown> }).reply;
    const index = typeof reply?.erroneousVectorIndex === 'number' ? reply.erroneousVectorIndex : /ioVector\[(\d+)\]/.exec(e.message)?.[1];
    return index === undefined ? e : new CheckpointIoError(e, Number(index));
  }
  if (e instanceof RingcastError && e.code === 'SERVICE_TIMEOUT') return new ServiceError('SA_AIS_ERR_TIMEOUT', AisError.TIMEOUT, e.message, op);
  return e;
}

export class CheckpointService {
  private readonly requester: Requester;

  /**
   * @param service the ServiceClient of the #ringcast-ckpt group (`session.service(CHECKPOINT_GROUP)`).
   * @param library the library handle (saCkptInitialize) opens are made under; 0: the implicit one.
   */
  constructor(
    private readonly service: ServiceRequester,
    private readonly options: CheckpointServiceOptions = {},
    readonly library = 0,
  ) {
    this.requester = new Requester(service, options);
  }

  /** saCkptInitialize: a service whose opens finalize() closes together. @throws ServiceError VERSION */
  initialize(version?: { releaseCode: string; majorVersion: number; minorVersion: number }, cb?: Callback<CheckpointService>): Promise<CheckpointService> {
    return settle(
      this.requester.call('initialize', { version }, false).then((r) => new CheckpointService(this.service, this.options, r.ckptHandle as number)),
      cb,
    );
  }

  /** saCkptFinalize: closes every checkpoint opened through this service. @returns how many. */
  finalize(cb?: Callback<number>): Promise<number> {
    return settle(
      this.requester.call('finalize', { ckptHandle: this.library }).then((r) => r.closed as number),
      cb,
    );
  }

  /**
   * saCkptCheckpointOpen. @throws ServiceError NOT_EXIST (no such checkpoint, no create), EXIST
   * (it exists with other attributes), BAD_FLAGS, INVALID_PARAM, NO_RESOURCES
   */
  open(name: string, options: OpenOptions = {}, cb?: Callback<CheckpointHandle>): Promise<CheckpointHandle> {
    const both = options.read === undefined && options.write === undefined;
    const flags = (both || options.read ? OpenFlag.READ : 0) | (both || options.write ? OpenFlag.WRITE : 0) | (options.create ? OpenFlag.CREATE : 0);
    const attrs = options.create ? creationAttributes(options.attrs) : undefined;
    return settle(
      this.requester.call('open', { name, flags, attrs, ckptHandle: this.library || undefined }).then(
        (r) => new CheckpointHandle(this.requester, name, r.handle as number, flags, r.created === true, r.attrs as CreationAttributes),
      ),
      cb,
    );
  }

  /** saCkptCheckpointUnlink: the name goes at once; the data when its last opener closes. @throws ServiceError NOT_EXIST */
  unlink(name: string, cb?: Callback<void>): Promise<void> {
    return settle(this.requester.call('unlink', { name }).then(() => undefined), cb);
  }

  /** Every checkpoint that has a name, by name. */
  list(cb?: Callback<CheckpointSummary[]>): Promise<CheckpointSummary[]> {
    return settle(this.requester.call('list', {}, false).then((r) => r.checkpoints as CheckpointSummary[]), cb);
  }

  /** One checkpoint with its sections and openers, without opening it. @throws ServiceError NOT_EXIST */
  describe(name: string, cb?: Callback<CheckpointDescription>): Promise<CheckpointDescription> {
    return settle(this.requester.call('describe', { name }, false).then((r) => r as unknown as CheckpointDescription), cb);
  }
}

/** An open checkpoint (SaCkptCheckpointHandleT). */
export class CheckpointHandle {
  /** @internal use CheckpointService.open */
  constructor(
    private readonly requester: Requester,
    readonly name: string,
    readonly handle: number,
    /** OpenFlag bits. */
    readonly flags: number,
    /** Whether this open created the checkpoint. */
    readonly created: boolean,
    /** The creation attributes (retention as it was at the open). */
    readonly attrs: CreationAttributes,
  ) {}

  private call(op: string, args: Record<string, unknown> = {}, change = true): Promise<ServiceReply> {
    return this.requester.call(op, { ...args, handle: this.handle }, change);
  }

  /**
   * saCkptSectionCreate; `{ generated: true }` lets the service choose the id. @returns the id.
   * @throws ServiceError EXIST, NO_SPACE, INVALID_PARAM, ACCESS, NOT_EXIST (no active replica)
   */
  createSection(id: SectionIdInput | { generated: true }, options: { expiration?: TimeInput; data?: DataInput } & RunOptions = {}, cb?: Callback<Buffer>): Promise<Buffer> {
    const generated = typeof id === 'object' && !(id instanceof Uint8Array);
    const args = {
      sectionId: generated ? undefined : id,
      generated: generated || undefined,
      expirationTime: toTime(options.expiration),
      data: options.data === undefined ? undefined : toBuffer(options.data),
      blcr: options.blcr,
      beginHandle: options.beginHandle,
    };
    return settle(this.call('sectionCreate', args).then((r) => Buffer.from(r.sectionId as Uint8Array)), cb);
  }

  /** saCkptSectionDelete. @throws ServiceError NOT_EXIST, INVALID_PARAM (default section), ACCESS */
  deleteSection(id: SectionIdInput, cb?: Callback<void>): Promise<void> {
    return settle(this.call('sectionDelete', { sectionId: id }).then(() => undefined), cb);
  }

  /** saCkptSectionExpirationTimeSet; null: never expires. */
  setSectionExpiration(id: SectionIdInput, expiration: TimeInput, cb?: Callback<void>): Promise<void> {
    return settle(this.call('sectionExpirationSet', { sectionId: id, expirationTime: toTime(expiration) }).then(() => undefined), cb);
  }

  /** saCkptCheckpointWrite: all elements or none. @throws CheckpointIoError (erroneousVectorIndex), ServiceError ACCESS */
  write(ioVector: readonly WriteElement[], options: RunOptions = {}, cb?: Callback<RunResult>): Promise<RunResult> {
    const v = ioVector.map((e) => clean({ sectionId: e.sectionId, dataOffset: e.offset, data: toBuffer(e.data) }));
    return settle(this.call('write', { ioVector: v, ...options }).then(runResult), cb);
  }

  /** saCkptSectionOverwrite: the section's data becomes `data`. */
  overwrite(sectionId: SectionIdInput, data: DataInput, options: RunOptions = {}, cb?: Callback<RunResult>): Promise<RunResult> {
    return settle(this.call('overwrite', { sectionId, data: toBuffer(data), ...options }).then(runResult), cb);
  }

  /** saCkptCheckpointRead. @throws CheckpointIoError (erroneousVectorIndex), ServiceError ACCESS */
  read(ioVector: readonly ReadElement[], options: RunOptions = {}, cb?: Callback<ReadResult[]>): Promise<ReadResult[]> {
    const v = ioVector.map((e) => clean({ sectionId: e.sectionId, dataOffset: e.offset, dataSize: e.size }));
    return settle(
      this.call('read', { ioVector: v, ...options }, options.blcr !== undefined).then((r) =>
        (r.ioVector as Array<{ data: Uint8Array; readSize: number }>).map((x) => ({ data: Buffer.from(x.data), readSize: x.readSize })),
      ),
      cb,
    );
  }

  /** A whole section's data. */
  readSection(sectionId: SectionIdInput, cb?: Callback<Buffer>): Promise<Buffer> {
    return settle(this.read([{ sectionId }]).then((r) => r[0]!.data), cb);
  }

  /** saCkptSectionIteration*: the sections the filter selects (default ANY), in id order. */
  sections(filter: SectionFilter = {}, cb?: Callback<SectionDescriptor[]>): Promise<SectionDescriptor[]> {
    const all = async (): Promise<SectionDescriptor[]> => {
      const out: SectionDescriptor[] = [];
      for await (const s of this.iterateSections(filter)) out.push(s);
      return out;
    };
    return settle(all(), cb);
  }

  /** The sections page by page, as an async iterator. */
  async *iterateSections(filter: SectionFilter = {}): AsyncGenerator<SectionDescriptor> {
    const chosen = typeof filter.filter === 'string' ? SectionsChosen[filter.filter] : filter.filter;
    let after: Uint8Array | undefined;
    for (;;) {
      const r = await this.call('sections', { filter: chosen, expirationTime: toTime(filter.expiration), after }, false);
      const page = (r.sections as SectionDescriptor[]).map((s) => ({ ...s, sectionId: Buffer.from(s.sectionId) }));
      yield* page;
      if (r.more !== true || page.length === 0) return;
      after = page[page.length - 1]!.sectionId;
    }
  }

  /** saCkptCheckpointSynchronize. @throws ServiceError BAD_OPERATION (WR_ALL_REPLICAS), NOT_EXIST, ACCESS */
  synchronize(cb?: Callback<void>): Promise<void> {
    return settle(this.call('synchronize').then(() => undefined), cb);
  }

  /** saCkptCheckpointStatusGet. */
  status(cb?: Callback<CheckpointStatus>): Promise<CheckpointStatus> {
    return settle(this.call('status', {}, false).then((r) => ({ attrs: r.attrs as CreationAttributes, numberOfSections: r.numberOfSections as number, memoryUsed: r.memoryUsed as number })), cb);
  }

  /** saCkptActiveReplicaSet: this client's daemon holds the active replica. @throws ServiceError BAD_OPERATION, ACCESS */
  activeReplicaSet(cb?: Callback<void>): Promise<void> {
    return settle(this.call('activeReplicaSet').then(() => undefined), cb);
  }

  /** saCkptCheckpointRetentionDurationSet; null: kept until unlinked. @throws ServiceError BAD_OPERATION (unlinked) */
  setRetention(retentionDuration: number | null, cb?: Callback<void>): Promise<void> {
    return settle(this.call('retentionSet', { retentionDuration }).then(() => undefined), cb);
  }

  /** saCkptCheckpointClose. */
  close(cb?: Callback<void>): Promise<void> {
    return settle(this.call('close').then(() => undefined), cb);
  }

  // ---- BLCR runs: BEGIN, then exactly one END or ERROR --------------------------------------

  private runBegin(op: string, cb?: Callback<string>): Promise<string> {
    return settle(this.call(op).then((r) => r.beginHandle as string), cb);
  }

  private runEnd(op: string, args: Record<string, unknown>, cb?: Callback<void>): Promise<void> {
    return settle(this.call(op, args).then(() => undefined), cb);
  }

  /** Publishes CHKPT_BEGIN; @returns the run's handle for checkpointEnd / checkpointError. */
  checkpointBegin(cb?: Callback<string>): Promise<string> {
    return this.runBegin('chkptBegin', cb);
  }

  /** Publishes CHKPT_END. @throws ServiceError BAD_OPERATION when the run is not open (ended, or not ours). */
  checkpointEnd(beginHandle: string, cb?: Callback<void>): Promise<void> {
    return this.runEnd('chkptEnd', { beginHandle }, cb);
  }

  /** Publishes CHKPT_ERROR with `errorCode`. */
  checkpointError(beginHandle: string, errorCode = 0, message?: string, cb?: Callback<void>): Promise<void> {
    return this.runEnd('chkptError', { beginHandle, errorCode, message }, cb);
  }

  /** Publishes RSTRT_BEGIN; @returns the run's handle. */
  restartBegin(cb?: Callback<string>): Promise<string> {
    return this.runBegin('rstrtBegin', cb);
  }

  restartEnd(beginHandle: string, cb?: Callback<void>): Promise<void> {
    return this.runEnd('rstrtEnd', { beginHandle }, cb);
  }

  restartError(beginHandle: string, errorCode = 0, message?: string, cb?: Callback<void>): Promise<void> {
    return this.runEnd('rstrtError', { beginHandle, errorCode, message }, cb);
  }
}

const runResult = (r: ServiceReply): RunResult => (typeof r.beginHandle === 'string' ? { beginHandle: r.beginHandle } : {});
