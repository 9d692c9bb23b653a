// The fault-event service through three real daemons: a subscriber with transaction depth
// "all" on d1; d1 is killed with SIGKILL; the subscriber resumes through d2, and every event
// published after the resume reaches it exactly once. `ringcast events watch` (a separate
// process on d2) sees the system events of the kill. Also: API errors through daemons.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';
import { connect, type Session } from '../../src/client';
import { ServiceError } from '../../src/client/serviceClient';
import type { EventRecord } from '../../src/services/events/protocol';
import { BIN, type Cluster, sleep, startCluster, until } from '../support/cluster';


describe('integration: fault events through real daemons', function () {
  this.timeout(120_000);
  let cluster: Cluster;
  const sessions: Session[] = [];
  let watcher: ChildProcess | undefined;

  before(async () => {
    cluster = await startCluster(3, { label: 'events' });
  });

  after(async () => {
    watcher?.kill('SIGKILL');
    for (const s of sessions) await s.disconnect().catch(() => {});
    await cluster.stop();
  });

  const open = async (daemon: string): Promise<Session> => {
    const s = await connect({ daemon: cluster.daemons.get(daemon)!.socket });
    sessions.push(s);
    return s;
  };

  it('answers API errors with FTB codes through a daemon', async () => {
    const s = await open('d2');
    await assert.rejects(s.events.connect({ clientName: 'bad', space: 'no-dots' }), (e: ServiceError) => e.error === 'FTB_ERR_EVENTSPACE_FORMAT');
    const c = await s.events.connect({ clientName: 'errs', space: 'ringcast.test.errs', declare: [{ name: 'OK_EVENT', severity: 'INFO' }] });
    await assert.rejects(c.publish('UNDECLARED'), (e: ServiceError) => e.error === 'FTB_ERR_INVALID_EVENT_NAME');
    await assert.rejects(c.publish('OK_EVENT', { payload: 'x'.repeat(369) }), (e: ServiceError) => e.error === 'FTB_ERR_INVALID_VALUE');
    await assert.rejects(c.subscribe('event_space=,,='), (e: ServiceError) => e.error.startsWith('FTB_ERR_'));
    await assert.rejects(c.subscribe('all', { depth: 4 }), (e: ServiceError) => e.error === 'FTB_FAILURE');
    assert.equal(typeof (await c.publish('OK_EVENT', { payload: 'fine' })), 'string');
    await c.disconnect();
  });

  it('shows the restarts of `ringcast supervise` as events', async () => {
    const sock = cluster.daemons.get('d2')!.socket;
    const seen: EventRecord[] = [];
    const err: string[] = [];
    const watch = spawn(process.execPath, [BIN, 'events', 'watch', 'event_space=ringcast.ha.supervisor', '--json', '--daemon', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      readline.createInterface({ input: watch.stdout! }).on('line', (l) => seen.push(JSON.parse(l) as EventRecord));
      readline.createInterface({ input: watch.stderr! }).on('line', (l) => err.push(l));
      await until(() => err.some((l) => l.includes('watching')), 'the watcher');
      const sup = spawn(
        process.execPath,
        [BIN, 'supervise', '--name', 'crashy', '--max-restarts', '2', '--backoff-ms', '10', '--daemon', sock, '--', process.execPath, '-e', 'process.exit(3)'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const code = await new Promise<number | null>((r) => sup.once('exit', r));
      assert.equal(code, 3, 'the supervisor gives up with the child exit code');
      await until(() => seen.some((e) => e.name === 'RESTART_LIMIT'), 'RESTART_LIMIT');
      const names = seen.map((e) => e.name);
      assert.equal(names.filter((n) => n === 'PROCESS_RESTARTED').length, 2);
      assert.equal(names.filter((n) => n === 'PROCESS_EXITED').length, 3);
    } finally {
      watch.kill('SIGKILL');
    }
  });

  it('keeps a depth-all subscription across the death of its daemon, without loss or duplicates', async () => {
    const watchLines: string[] = [];
    watcher = spawn(process.execPath, [BIN, 'events', 'watch', 'event_space=ringcast.system.daemon', '--json', '--daemon', cluster.daemons.get('d2')!.socket], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    readline.createInterface({ input: watcher.stdout! }).on('line', (l) => watchLines.push(l));
    const watchErr: string[] = [];
    readline.createInterface({ input: watcher.stderr! }).on('line', (l) => watchErr.push(l));
    await until(() => watchErr.some((l) => l.includes('watching')), '`ringcast events watch` to subscribe');
    const s1 = await open('d1');
    const sub = await s1.events.connect({ clientName: 'subscriber', space: 'ringcast.test.sub' });
    const subscription = await sub.subscribe('event_space=ringcast.test.app', { depth: 'all' });
    const received: EventRecord[] = [];
    void (async () => {
      try {
        for await (const e of subscription) received.push(e);
      } catch {
        /* the first session dies with d1; the resumed subscription continues */
      }
    })();
    const p = await open('d3');
    const pub = await p.events.connect({ clientName: 'publisher', space: 'ringcast.test.app', declare: [{ name: 'TICK', severity: 'INFO' }] });
    for (let i = 0; i < 20; i++) await pub.publish('TICK', { payload: `before ${i}` });
    await until(() => received.length === 20, 'the first 20 events');

    await cluster.kill('d1');
    await cluster.waitRing(['d2', 'd3']);
    const s2 = await open('d2');
    const resumed = await sub.resume(s2.events);
    assert.ok(resumed);
    const mark = received.length;
    const after: string[] = [];
    for (let i = 0; i < 50; i++) after.push(await pub.publish('TICK', { payload: `after ${i}` }));
    await until(() => received.filter((e) => after.includes(e.handle)).length >= 50, 'the 50 events published after the resume');
    await sleep(200);
    const got = received.slice(mark).filter((e) => after.includes(e.handle)).map((e) => e.handle);
    assert.equal(got.length, 50, 'each event published after the resume exactly once');
    assert.equal(new Set(got).size, 50);
    assert.deepEqual(got, after, 'in publication order');

    await until(() => watchLines.some((l) => l.includes('DAEMON_LEFT') && l.includes('d1')), 'DAEMON_LEFT d1 in `ringcast events watch`');
    const left = JSON.parse(watchLines.find((l) => l.includes('DAEMON_LEFT'))!) as EventRecord;
    assert.equal(left.space, 'ringcast.system.daemon');
    assert.equal(left.severity, 'WARNING');
  });
});
