import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import msgpack from 'msgpack-lite';
import { connect } from '../../src/client';
import { CHECKPOINT_GROUP, CheckpointIoError, CheckpointService, DEFAULT_CHECKPOINT_ATTRIBUTES, creationAttributes, type ServiceRequester } from '../../src/client/checkpoints';
import { ServiceError, type ServiceRequestOptions } from '../../src/client/serviceClient';
import { RingcastError } from '../../src/errors';
import { CheckpointEngine } from '../../src/services/checkpoint';
import type { ServiceEvent } from '../../src/services/engine';
import { formatDescription, formatList, showBytes } from '../../src/cli/ckpt';
import { SessionServer } from '../../src/session';
import { FakeRing, regularOf, until } from './sessionFixtures';

/** A ServiceClient stand-in: requests go through msgpack to an engine, replies come back the same way. */
class Loopback implements ServiceRequester {
  private nextId = 1;
  readonly requests: Array<{ op: string; options: ServiceRequestOptions }> = [];
  constructor(
    private readonly world: World,
    readonly client: string,
  ) {}

  async request(op: string, args: Record<string, unknown> = {}, options: ServiceRequestOptions = {}): Promise<Record<string, unknown>> {
    this.requests.push({ op, options });
    if (this.world.silent) throw new RingcastError('SERVICE_TIMEOUT', `${op}: no answer within ${options.timeoutMs ?? 10000} ms`);
    const id = this.nextId++;
    const body = msgpack.decode(msgpack.encode({ ...args, op, id })) as Record<string, unknown>;
    const out = this.world.engine.step({ kind: 'request', request: { from: this.client, origin: 'd1', time: this.world.time, safe: options.safe === true, body } });
    for (const o of out) if (o.kind === 'event') this.world.events.push(o.event);
    const reply = out.find((o) => o.kind === 'reply' && o.to === this.client);
    assert.ok(reply && reply.kind === 'reply');
    const r = msgpack.decode(msgpack.encode(reply.body)) as Record<string, unknown>;
    assert.equal(r.id, id);
    await Promise.resolve(); // answers come later, as from a daemon
    if (r.ok === true) return r;
    throw new ServiceError(String(r.error), Number(r.code), String(r.message), op);
  }
}

class World {
  readonly engine = new CheckpointEngine();
  readonly events: ServiceEvent[] = [];
  time = 5_000;
  silent = false;
  constructor() {
    this.engine.step({ kind: 'configuration', configuration: { kind: 'regular', ringId: '1.d1', ringSeq: 1, members: ['d1', 'd2'], left: [], joined: [] } });
  }
  service(client: string, options = {}): CheckpointService {
    return new CheckpointService(new Loopback(this, client), options);
  }
}

const rejects = async (p: Promise<unknown>, error: string): Promise<ServiceError> => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ServiceError, `not a ServiceError: ${String(e)}`);
    assert.equal(e.error, error, e.message);
    return e;
  }
  assert.fail(`resolved, expected ${error}`);
};

describe('checkpoint client (CheckpointService over a loopback)', () => {
  it('open with create, sections, write, read, overwrite, status, close', async () => {
    const w = new World();
    const ckpt = w.service('#alice#d1');
    const h = await ckpt.open('app', { create: true, attrs: { maxSections: 4, maxSectionSize: 100 } });
    assert.equal(h.created, true);
    assert.deepEqual(h.attrs, { ...DEFAULT_CHECKPOINT_ATTRIBUTES, maxSections: 4, maxSectionSize: 100, checkpointSize: 400 });
    assert.deepEqual(await h.createSection('state', { data: 'v1' }), Buffer.from('state'));
    const generated = await h.createSection({ generated: true });
    assert.deepEqual(generated, Buffer.from('1'));
    await h.write([{ sectionId: 'state', offset: 2, data: '-more' }, { sectionId: generated, data: new Uint8Array([1, 2]) }]);
    assert.equal((await h.readSection('state')).toString(), 'v1-more');
    assert.deepEqual(await h.read([{ sectionId: 'state', offset: 3, size: 2 }, { sectionId: generated }]), [
      { data: Buffer.from('mo'), readSize: 2 },
      { data: Buffer.from([1, 2]), readSize: 2 },
    ]);
    await h.overwrite('state', 'v2');
    assert.equal((await h.readSection('state')).toString(), 'v2');
    assert.deepEqual(await h.status(), { attrs: h.attrs, numberOfSections: 2, memoryUsed: 4 });
    await h.deleteSection(generated);
    await h.close();
    await rejects(h.status(), 'SA_AIS_ERR_BAD_HANDLE');
  });

  it('open flags: read-only handles get ACCESS on writes; no create gives NOT_EXIST; other attributes EXIST', async () => {
    const w = new World();
    const alice = w.service('#alice#d1');
    const bob = w.service('#bob#d2');
    await rejects(bob.open('none'), 'SA_AIS_ERR_NOT_EXIST');
    const h = await alice.open('app', { create: true });
    await h.createSection('s');
    const ro = await bob.open('app', { read: true });
    assert.equal(ro.flags, 1);
    assert.equal(ro.created, false);
    await rejects(ro.overwrite('s', 'x'), 'SA_AIS_ERR_ACCESS');
    await rejects(bob.open('app', { create: true, attrs: { maxSections: 2 } }), 'SA_AIS_ERR_EXIST');
    const wo = await bob.open('app', { write: true });
    assert.equal(wo.flags, 2);
    await rejects(wo.readSection('s'), 'SA_AIS_ERR_ACCESS');
  });

  it('io-vector failures are CheckpointIoError with the element', async () => {
    const w = new World();
    const h = await w.service('#alice#d1').open('app', { create: true });
    await h.createSection('a');
    const e = await rejects(h.write([{ sectionId: 'a', data: 'x' }, { sectionId: 'b', data: 'y' }]), 'SA_AIS_ERR_NOT_EXIST');
    assert.ok(e instanceof CheckpointIoError);
    assert.equal(e.erroneousVectorIndex, 1);
    assert.equal(e.errorCode, 12);
    assert.equal(e.op, 'write');
    const r = await rejects(h.read([{ sectionId: 'a', offset: 5 }]), 'SA_AIS_ERR_INVALID_PARAM');
    assert.equal((r as CheckpointIoError).erroneousVectorIndex, 0);
  });

  it('sections() walks every page with the filters', async () => {
    const w = new World();
    const h = await w.service('#alice#d1').open('app', { create: true, attrs: { maxSections: 1500, maxSectionSize: 10 } });
    for (let i = 0; i < 1200; i++) await h.createSection(`s${String(i).padStart(4, '0')}`, i % 2 === 0 ? { expiration: new Date(w.time + 1000 + i) } : {});
    const all = await h.sections();
    assert.equal(all.length, 1200);
    assert.deepEqual(all[0]!.sectionId, Buffer.from('s0000'));
    assert.equal((await h.sections({ filter: 'FOREVER' })).length, 600);
    assert.equal((await h.sections({ filter: 'LEQ_EXPIRATION_TIME', expiration: w.time + 1100 })).length, 51);
    assert.equal((await h.sections({ filter: 'CORRUPTED' })).length, 0);
  });

  it('retention, expiration, unlink, list and describe', async () => {
    const w = new World();
    const ckpt = w.service('#alice#d1');
    const h = await ckpt.open('app', { create: true, attrs: { retentionDuration: 1000 } });
    await h.createSection('s', { expiration: w.time + 10 });
    await h.setSectionExpiration('s', null);
    await h.setRetention(20);
    const [summary] = await ckpt.list();
    assert.equal(summary!.name, 'app');
    assert.equal(summary!.attrs.retentionDuration, 20);
    const d = await ckpt.describe('app');
    assert.deepEqual(d.sections.map((s) => Buffer.from(s.sectionId).toString()), ['s']);
    assert.equal(d.openedBy[0]!.client, '#alice#d1');
    await ckpt.unlink('app');
    await rejects(ckpt.unlink('app'), 'SA_AIS_ERR_NOT_EXIST');
    await rejects(h.setRetention(5), 'SA_AIS_ERR_BAD_OPERATION');
    assert.deepEqual(await ckpt.list(), []);
  });

  it('activeReplicaSet and synchronize on collocated asynchronous checkpoints', async () => {
    const w = new World();
    const h = await w.service('#alice#d1').open('c', { create: true, attrs: { creationFlags: ['WR_ACTIVE_REPLICA', 'CHECKPOINT_COLLOCATED'] } });
    await rejects(h.synchronize(), 'SA_AIS_ERR_NOT_EXIST');
    await h.activeReplicaSet();
    await h.synchronize();
    const all = await w.service('#alice#d1').open('all', { create: true });
    await rejects(all.synchronize(), 'SA_AIS_ERR_BAD_OPERATION');
    await rejects(all.activeReplicaSet(), 'SA_AIS_ERR_BAD_OPERATION');
  });

  it('initialize / finalize close the opens made through the library handle', async () => {
    const w = new World();
    const root = w.service('#alice#d1');
    const lib = await root.initialize();
    assert.ok(lib.library > 0);
    const a = await lib.open('a', { create: true });
    const b = await root.open('b', { create: true });
    assert.equal(await lib.finalize(), 1);
    await rejects(a.status(), 'SA_AIS_ERR_BAD_HANDLE');
    await b.status();
    await rejects(root.initialize({ releaseCode: 'C', majorVersion: 1, minorVersion: 0 }), 'SA_AIS_ERR_VERSION');
  });

  it('BLCR runs: begin/end calls and markers publish the events', async () => {
    const w = new World();
    const h = await w.service('#alice#d1').open('app', { create: true });
    await h.createSection('s');
    const run = await h.checkpointBegin();
    await h.write([{ sectionId: 's', data: 'x' }]);
    await h.checkpointEnd(run);
    await rejects(h.checkpointEnd(run), 'SA_AIS_ERR_BAD_OPERATION');
    const once = await h.overwrite('s', 'y', { blcr: 'once' });
    assert.equal(typeof once.beginHandle, 'string');
    const r = await h.restartBegin();
    await h.restartError(r, 7, 'corrupt');
    const begun = await h.write([{ sectionId: 's', data: 'z' }], { blcr: 'begin' });
    await h.read([{ sectionId: 's' }]);
    await h.write([{ sectionId: 's', data: 'w' }], { blcr: 'end', beginHandle: begun.beginHandle });
    assert.deepEqual(
      w.events.map((e) => e.name),
      ['CHKPT_BEGIN', 'CHKPT_END', 'CHKPT_BEGIN', 'CHKPT_END', 'RSTRT_BEGIN', 'RSTRT_ERROR', 'CHKPT_BEGIN', 'CHKPT_END'],
    );
    assert.equal(w.events[1]!.beginHandle, run);
    assert.equal(w.events[5]!.payload?.errorCode, 7);
  });

  it('node-style callbacks get the result or the error', async () => {
    const w = new World();
    const ckpt = w.service('#alice#d1');
    const h = await new Promise<Parameters<Parameters<typeof ckpt.open>[2] & object>[1]>((resolve, reject) =>
      void ckpt.open('cb', { create: true }, (err, handle) => (err ? reject(err) : resolve(handle))),
    );
    assert.ok(h);
    const err = await new Promise<Error | null>((resolve) => void ckpt.open('missing', {}, (e) => resolve(e)));
    assert.ok(err instanceof ServiceError);
    assert.equal(err.error, 'SA_AIS_ERR_NOT_EXIST');
    const id = await new Promise<Buffer | undefined>((resolve, reject) => void h.createSection('s', { data: 'd' }, (e, r) => (e ? reject(e) : resolve(r))));
    assert.deepEqual(id, Buffer.from('s'));
  });

  it('a request the daemons never answer is SA_AIS_ERR_TIMEOUT; changes go SAFE when asked', async () => {
    const w = new World();
    const loop = new Loopback(w, '#alice#d1');
    const ckpt = new CheckpointService(loop, { safe: true, timeoutMs: 50 });
    const h = await ckpt.open('app', { create: true });
    await ckpt.list();
    assert.deepEqual(loop.requests.map((r) => [r.op, r.options.safe, r.options.timeoutMs]), [['open', true, 50], ['list', false, 50]]);
    w.silent = true;
    const e = await rejects(h.status(), 'SA_AIS_ERR_TIMEOUT');
    assert.equal(e.errorCode, 5);
  });

  it('creationAttributes fills in defaults and derives checkpointSize', () => {
    assert.deepEqual(creationAttributes(), DEFAULT_CHECKPOINT_ATTRIBUTES);
    assert.equal(creationAttributes({ maxSections: 2, maxSectionSize: 10 }).checkpointSize, 20);
    assert.equal(creationAttributes({ creationFlags: ['WR_ACTIVE_REPLICA_WEAK', 'CHECKPOINT_COLLOCATED'] }).creationFlags, 12);
    assert.equal(creationAttributes({ retentionDuration: 0 }).retentionDuration, 0);
  });

  it('the CLI formats lists, descriptions and section ids', async () => {
    const w = new World();
    const ckpt = w.service('#alice#d1');
    const h = await ckpt.open('app', { create: true });
    await h.createSection('s', { data: 'abc' });
    await h.createSection(new Uint8Array([0, 1]));
    const list = formatList(await ckpt.list());
    assert.match(list[0]!, /^name\s+sections\s+bytes\s+openers\s+retention\s+flags$/);
    assert.match(list[1]!, /^app\s+2\s+3\s+1\s+forever\s+WR_ALL_REPLICAS$/);
    assert.deepEqual(formatList([]), ['no checkpoints']);
    const lines = formatDescription(await ckpt.describe('app'));
    assert.ok(lines.some((l) => /^sections\s+0x0001  0 bytes/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /"s"  3 bytes  expires never/.test(l)), lines.join('\n'));
    assert.equal(showBytes(Buffer.alloc(0)), "''");
    assert.equal(showBytes(Buffer.from('x'.repeat(70))), `"${'x'.repeat(64)}"… (70 bytes)`);
  });
});

describe('checkpoint client through the service host (fake ring, real sessions)', function () {
  this.timeout(10_000);
  it('replicates checkpoints to both daemons and merges them when they come together', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
    const ring = new FakeRing([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
    const engines = [new CheckpointEngine(), new CheckpointEngine()];
    const servers = await Promise.all(
      [1, 2].map(async (id) => {
        const s = new SessionServer(ring.port(id), { unixSocketPath: path.join(dir, `d${id}`) }, {}, [engines[id - 1]!]);
        await s.listen();
        return s;
      }),
    );
    const sessions = await Promise.all([1, 2].map((id) => connect({ daemon: path.join(dir, `d${id}`), name: `c${id}` })));
    try {
      ring.configure(regularOf(10, 1, [1, 2]));
      await until(() => servers.every((s) => !s.services!.exchanging), 'exchange done');
      const [alice, bob] = sessions.map((s) => new CheckpointService(s!.service(CHECKPOINT_GROUP))) as [CheckpointService, CheckpointService];
      const h = await alice.open('app', { create: true });
      await h.createSection(new Uint8Array([0, 1, 2]), { data: Buffer.from([7, 8, 9]) });
      const hb = await bob.open('app', { read: true });
      assert.deepEqual(await hb.readSection(new Uint8Array([0, 1, 2])), Buffer.from([7, 8, 9]));
      await rejects(hb.overwrite(new Uint8Array([0, 1, 2]), 'x'), 'SA_AIS_ERR_ACCESS');
      assert.deepEqual(engines[0]!.snapshot(), engines[1]!.snapshot());
      // Apart, then together again: one merged state on both.
      // Apart (each keeps writing), then together: as the membership does, a transitional
      // configuration of those that come from one's old ring first.
      const transitional = (ringSeq: number, ringRep: number, members: number[]) => ({ ...regularOf(ringSeq, ringRep, members), kind: 'transitional' as const });
      for (const id of [1, 2]) {
        ring.configure(transitional(20, id, [id]), [id]);
        ring.configure(regularOf(20, id, [id]), [id]);
      }
      await h.createSection('apart-a', { data: 'a' });
      assert.equal((await hb.status()).numberOfSections, 1); // b has not seen it
      for (const id of [1, 2]) ring.configure(transitional(30, 1, [id]), [id]);
      ring.configure(regularOf(30, 1, [1, 2]));
      await until(() => servers.every((s) => !s.services!.exchanging), 'second exchange done');
      assert.deepEqual(engines[0]!.snapshot(), engines[1]!.snapshot());
      assert.deepEqual((await bob.list()).map((c) => [c.name, c.numberOfSections, c.openers]), [['app', 2, 2]]);
      assert.equal((await hb.readSection('apart-a')).toString(), 'a');
    } finally {
      for (const s of sessions) await s.disconnect().catch(() => undefined);
      for (const s of servers) await s.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
