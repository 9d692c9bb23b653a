// The checkpoint service through real daemons:
// (1) every call and error condition of the SA Forum API, from clients at different daemons;
// (2) writes while a daemon is killed with SIGKILL and restarted, and (as root, in a network
//     namespace of its own with nftables) while the ring is partitioned and healed: afterwards
//     every daemon holds the same checkpoints, and no acknowledged write is lost.
// Needs `npx tsc -p .` first (bin/ringcast.js loads dist/).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { connect, type Session } from '../../src/client';
import { ServiceError } from '../../src/client/serviceClient';
import type { CheckpointHandle } from '../../src/client/checkpoints';
import type { EventRecord } from '../../src/services/events/protocol';
import { type Cluster, sleep, startCluster, until } from '../support/cluster';


const aisError = (name: string) => (e: unknown) => e instanceof ServiceError && e.error === `SA_AIS_ERR_${name}`;

/** What a daemon's replica holds: every linked checkpoint's attributes and sections' data. */
async function dump(s: Session): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const list = (await s.checkpoints.list()).filter((c) => !c.unlinked).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const c of list) {
    const d = await s.checkpoints.describe(c.name);
    const h = await s.checkpoints.open(c.name, { read: true });
    const sections: Record<string, string> = {};
    for (const sec of d.sections) sections[sec.sectionId.toString('hex')] = (await h.readSection(sec.sectionId)).toString('hex');
    await h.close();
    out[c.name] = { attrs: c.attrs, sections, more: d.moreSections };
  }
  return out;
}

function run(cmd: string, args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 170_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

describe('integration: checkpoints through real daemons', function () {
  this.timeout(180_000);
  let cluster: Cluster | undefined;
  const sessions: Session[] = [];

  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.disconnect().catch(() => {});
    await cluster?.stop();
    cluster = undefined;
  });

  const open = async (daemon: string): Promise<Session> => {
    const s = await connect({ daemon: cluster!.daemons.get(daemon)!.socket });
    sessions.push(s);
    return s;
  };

  it('implements every call and its error conditions, seen alike from every daemon', async () => {
    cluster = await startCluster(3, { label: 'ckpt' });
    const [a, b, c] = [await open('d1'), await open('d2'), await open('d3')];
    const attrs = { creationFlags: ['WR_ALL_REPLICAS'] as const, checkpointSize: 4096, retentionDuration: 60_000, maxSections: 4, maxSectionSize: 1024, maxSectionIdSize: 16 };

    // open / create / attributes
    await assert.rejects(a.checkpoints.open('nope', { read: true }), aisError('NOT_EXIST'));
    const wa = await a.checkpoints.open('ck', { create: true, attrs: { ...attrs, creationFlags: [...attrs.creationFlags] } });
    await assert.rejects(b.checkpoints.open('ck', { create: true, attrs: { ...attrs, creationFlags: [...attrs.creationFlags], maxSections: 5 } }), aisError('EXIST'));
    await assert.rejects(b.checkpoints.open('bad', { create: true, attrs: { ...attrs, creationFlags: [...attrs.creationFlags], checkpointSize: 1 << 30 } }), aisError('INVALID_PARAM'));
    await assert.rejects(
      b.checkpoints.open('bad', { create: true, attrs: { ...attrs, creationFlags: ['WR_ALL_REPLICAS', 'WR_ACTIVE_REPLICA'] } }),
      (e: unknown) => e instanceof ServiceError && (e.error === 'SA_AIS_ERR_BAD_FLAGS' || e.error === 'SA_AIS_ERR_INVALID_PARAM'),
    );
    const rb = await b.checkpoints.open('ck', { read: true });
    const wc = await c.checkpoints.open('ck', { read: true, write: true });

    // sections
    await wa.createSection('one', { data: 'hello' });
    await assert.rejects(wc.createSection('one'), aisError('EXIST'));
    await assert.rejects(rb.createSection('two'), aisError('ACCESS'));
    const generated = await wc.createSection({ generated: true }, { data: 'gen' });
    assert.ok(generated.length > 0);
    await wa.createSection('three');
    await wa.createSection('four');
    await assert.rejects(wa.createSection('five'), aisError('NO_SPACE'));
    await wa.deleteSection('four');
    await assert.rejects(wa.deleteSection('four'), aisError('NOT_EXIST'));

    // write / overwrite / read with io-vectors and offsets
    await wc.write([{ sectionId: 'one', offset: 5, data: ', world' }, { sectionId: 'three', data: 'x' }]);
    assert.equal((await rb.readSection('one')).toString(), 'hello, world');
    const parts = await rb.read([{ sectionId: 'one', offset: 7, size: 5 }, { sectionId: 'three' }]);
    assert.deepEqual(parts.map((p) => p.data.toString()), ['world', 'x']);
    await wa.overwrite('three', 'y');
    assert.equal((await rb.readSection('three')).toString(), 'y');
    await assert.rejects(rb.overwrite('three', 'z'), aisError('ACCESS'));
    await assert.rejects(rb.read([{ sectionId: 'missing' }]), aisError('NOT_EXIST'));
    await assert.rejects(wa.overwrite('three', Buffer.alloc(2000)), (e: unknown) => e instanceof ServiceError && /NO_SPACE|INVALID_PARAM/.test(e.error));

    // status, iteration, replica operations
    const st = await rb.status();
    assert.equal(st.numberOfSections, 3);
    assert.ok(st.memoryUsed >= 'hello, world'.length + 1);
    assert.equal((await rb.sections({ filter: 'ANY' })).length, 3);
    await assert.rejects(wa.activeReplicaSet(), aisError('BAD_OPERATION'));
    await assert.rejects(wa.synchronize(), aisError('BAD_OPERATION'));
    const async = await a.checkpoints.open('async', { create: true, attrs: { creationFlags: ['WR_ACTIVE_REPLICA', 'CHECKPOINT_COLLOCATED'], checkpointSize: 1024, maxSections: 2, maxSectionSize: 512, maxSectionIdSize: 8, retentionDuration: 0 } });
    await async.activeReplicaSet();
    await async.createSection('s', { data: 'v' });
    await async.synchronize();
    assert.equal((await (await b.checkpoints.open('async', { read: true })).readSection('s')).toString(), 'v');

    // section expiry: gone at every daemon
    await wa.setSectionExpiration('three', Date.now() + 300);
    await until(async () => (await rb.sections({ filter: 'ANY' })).length === 2, 'the expired section to go');
    assert.equal((await (await c.checkpoints.open('ck', { read: true })).sections({ filter: 'ANY' })).length, 2);

    // retention: the last close starts it; the checkpoint then goes everywhere
    const short = await b.checkpoints.open('short', { create: true, attrs: { ...attrs, creationFlags: [...attrs.creationFlags], retentionDuration: 200 } });
    await short.close();
    await until(async () => !(await c.checkpoints.list()).some((x) => x.name === 'short'), 'retention to delete "short"');
    await assert.rejects(a.checkpoints.open('short', { read: true }), aisError('NOT_EXIST'));

    // unlink: the name goes at once, the open handles keep working until closed
    await a.checkpoints.unlink('ck');
    await assert.rejects(b.checkpoints.open('ck', { read: true }), aisError('NOT_EXIST'));
    assert.equal((await rb.readSection('one')).toString(), 'hello, world');
    await assert.rejects(a.checkpoints.unlink('ck'), aisError('NOT_EXIST'));
    for (const h of [wa, rb, wc]) await h.close();
    await assert.rejects(wa.readSection('one'), (e: unknown) => e instanceof ServiceError && /BAD_HANDLE|NOT_EXIST/.test(e.error));

    // the three daemons agree on what is left
    const states = [await dump(a), await dump(b), await dump(c)];
    assert.deepEqual(states[1], states[0]);
    assert.deepEqual(states[2], states[0]);
  });

  it('publishes BLCR checkpoint events: BEGIN, then one END or ERROR with its handle', async () => {
    cluster = await startCluster(2, { label: 'ckpt-blcr' });
    const [a, b] = [await open('d1'), await open('d2')];
    const watcher = await b.events.connect({ clientName: 'blcr-watch', space: 'ringcast.test.watch' });
    const events: EventRecord[] = [];
    const sub = await watcher.subscribe('event_space=ringcast.checkpoint.blcr');
    void (async () => {
      for await (const e of sub) events.push(e);
    })().catch(() => {});
    const h = await a.checkpoints.open('app', { create: true });
    const begin = await h.checkpointBegin();
    await h.checkpointEnd(begin);
    await assert.rejects(h.checkpointEnd(begin), aisError('BAD_OPERATION'));
    const failed = await h.checkpointBegin();
    await h.checkpointError(failed, 5, 'disk full');
    await assert.rejects(h.checkpointError(failed, 5), aisError('BAD_OPERATION'));
    await until(() => events.length >= 4, 'four BLCR events');
    assert.deepEqual(events.map((e) => e.name), ['CHKPT_BEGIN', 'CHKPT_END', 'CHKPT_BEGIN', 'CHKPT_ERROR']);
    assert.equal(events[1]!.beginHandle, events[0]!.handle);
    assert.equal(events[3]!.beginHandle, events[2]!.handle);
    assert.equal(events[3]!.severity, 'ERROR');
  });

  it('loses no acknowledged write across kill -9, restart, partition and heal', async function () {
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    const ns = `rc-ck-${process.pid}`;
    let nsMade = false;
    let partition = root;
    if (root) {
      if (run('sh', ['-c', 'command -v nft']).ok === false) {
        let r = run('apt-get', ['install', '-y', 'nftables']);
        if (!r.ok) {
          run('apt-get', ['update']);
          r = run('apt-get', ['install', '-y', 'nftables']);
        }
        if (!r.ok) throw new Error(`cannot install nftables: ${r.out.slice(-1000)}`);
      }
      nsMade = run('ip', ['netns', 'add', ns]).ok && run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']).ok;
      partition = nsMade;
    }
    if (!partition) console.log('    partition part skipped: needs root and network namespaces');
    try {
      cluster = await startCluster(3, { label: 'ckpt-faults', ...(nsMade ? { netns: ns } : {}) });
      const acked = new Map<string, string>(); // section → last acknowledged value
      const writers = new Map<string, { session: Session; handle: CheckpointHandle; n: number; stop: boolean; loop: Promise<void> }>();
      const attrs = { creationFlags: ['WR_ALL_REPLICAS'] as Array<'WR_ALL_REPLICAS'>, checkpointSize: 64 * 64, retentionDuration: null, maxSections: 64, maxSectionSize: 64, maxSectionIdSize: 16 };
      const startWriter = async (daemon: string, section: string): Promise<void> => {
        const session = await open(daemon);
        const handle = await session.checkpoints.open('faults', { create: true, attrs });
        await handle.createSection(section).catch((e: unknown) => {
          if (!aisError('EXIST')(e)) throw e;
        });
        const w = { session, handle, n: 0, stop: false, loop: Promise.resolve() };
        w.loop = (async () => {
          while (!w.stop) {
            const value = `${section}:${++w.n}`;
            try {
              await handle.overwrite(section, value);
              acked.set(section, value);
            } catch {
              if (session.isClosed) return; // its daemon died; the writer is done
              await sleep(20); // TRY_AGAIN past its timeout, or a configuration change: go on
            }
          }
        })();
        writers.set(`${daemon}/${section}`, w);
      };
      for (const d of ['d1', 'd2', 'd3']) await startWriter(d, `w-${d}`);
      await sleep(500);

      // kill -9 d3 while everyone writes; its writer's session dies with it
      await cluster.kill('d3');
      await cluster.waitRing(['d1', 'd2']);
      await sleep(300);
      cluster.start('d3', 2);
      await cluster.waitRing(['d1', 'd2', 'd3']);
      await startWriter('d3', 'w-d3-2');
      await sleep(500);

      if (partition) {
        const table =
          `table inet rcpart {\n  chain input {\n    type filter hook input priority 0; policy accept;\n` +
          `    ip saddr 127.0.0.3 ip daddr { 127.0.0.1, 127.0.0.2 } drop\n` +
          `    ip saddr { 127.0.0.1, 127.0.0.2 } ip daddr 127.0.0.3 drop\n  }\n}\n`;
        const cut = run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], table);
        assert.ok(cut.ok, `nft: ${cut.out}`);
        await cluster.waitRing(['d1', 'd2']);
        await cluster.waitRing(['d3']);
        // both sides go on writing (their own sections), and one section on both sides
        await startWriter('d1', 'both');
        await startWriter('d3', 'both');
        await sleep(800);
        assert.ok(run('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'rcpart']).ok);
        await cluster.waitRing(['d1', 'd2', 'd3']);
        await sleep(500);
      }
      for (const w of writers.values()) w.stop = true;
      await Promise.all([...writers.values()].map((w) => w.loop));
      await sleep(300);

      const views = await Promise.all(['d1', 'd2', 'd3'].map(async (d) => dump(await open(d))));
      assert.deepEqual(views[1], views[0], 'd2 holds what d1 holds');
      assert.deepEqual(views[2], views[0], 'd3 holds what d1 holds');
      const sections = (views[0] as Record<string, { sections: Record<string, string> }>).faults!.sections;
      const value = (s: string) => Buffer.from(sections[Buffer.from(s).toString('hex')] ?? '', 'hex').toString();
      for (const [section, last] of acked) {
        if (section === 'both') continue; // written on both sides: the later stamp wins
        const [, n] = last.split(':');
        const held = value(section);
        assert.ok(held.startsWith(`${section}:`), `section ${section} holds ${JSON.stringify(held)}`);
        // The last acknowledged write, or a later one that was applied but whose reply was lost.
        assert.ok(Number(held.split(':')[1]) >= Number(n), `section ${section}: acknowledged ${last}, holds ${held}`);
      }
      if (partition) assert.match(value('both'), /^both:\d+$/);
    } finally {
      if (nsMade) {
        await cluster?.stop();
        cluster = undefined;
        run('ip', ['netns', 'del', ns]);
      }
      if (fs.existsSync(`/var/run/netns/${ns}`)) run('ip', ['netns', 'del', ns]);
    }
  });
});
