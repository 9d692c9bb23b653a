// The supervisor: the pure restart policy (times in, decisions out), then real child processes —
// one that crashes twice and then succeeds, one that never stops failing, one stopped by
// SIGTERM — with the fault events going to an in-memory publisher; the best-effort events
// publisher; and `ringcast supervise` as a process of its own (SIGTERM stops it cleanly, an
// unreachable daemon does not stop it supervising).
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { superviseOptions, SUPERVISE_DEFAULTS, type SuperviseFlags } from '../../src/cli/supervise';
import { connect, type Session } from '../../src/client';
import { EventService, type EventRecord } from '../../src/client/events';
import { HaError, UsageError } from '../../src/errors';
import { EventsEngine } from '../../src/services/events/eventsEngine';
import { EVENTS_GROUP } from '../../src/services/events/protocol';
import { daemonFaultPublisher, supervisorClientName } from '../../src/services/ha/daemonEvents';
import { ReconnectingFaultPublisher, type OpenEvents } from '../../src/services/ha/eventsPublisher';
import { MemoryFaultPublisher, SUPERVISOR_EVENTS, type FaultPublisher } from '../../src/services/ha/faults';
import { RestartPolicy, isFailure } from '../../src/services/ha/restartPolicy';
import { Supervisor, exitCodeOf, type SupervisorOptions } from '../../src/services/ha/supervisor';
import { SessionServer } from '../../src/session';
import { repoRoot } from '../support/repo';
import { FakeRing, regularOf } from './sessionFixtures';

const NODE = process.execPath;
const fail = { code: 1, signal: null } as const;
const ok = { code: 0, signal: null } as const;

describe('HA supervisor', () => {
  describe('RestartPolicy (pure)', () => {
    it('done on exit 0; restarts failures with doubling backoff up to the cap; gives up past the limit', () => {
      const p = new RestartPolicy({ maxRestarts: 4, backoffMs: 100, maxBackoffMs: 300, resetAfterMs: 10_000 });
      p.started(0);
      assert.deepEqual(p.exited(10, ok), { action: 'done' });
      const delays: unknown[] = [];
      for (let t = 0; t < 4; t++) {
        p.started(t * 1000);
        delays.push(p.exited(t * 1000 + 5, t % 2 ? fail : { code: null, signal: 'SIGSEGV' }));
      }
      assert.deepEqual(delays, [
        { action: 'restart', delayMs: 100, restarts: 1 },
        { action: 'restart', delayMs: 200, restarts: 2 },
        { action: 'restart', delayMs: 300, restarts: 3 },
        { action: 'restart', delayMs: 300, restarts: 4 },
      ]);
      p.started(5000);
      assert.deepEqual(p.exited(5001, fail), { action: 'give-up', restarts: 4 });
      assert.equal(p.restarts, 4);
    });

    it('a run of resetAfterMs or more starts the consecutive count (and the backoff) again', () => {
      const p = new RestartPolicy({ maxRestarts: 1, backoffMs: 50, resetAfterMs: 1000 });
      p.started(0);
      assert.deepEqual(p.exited(10, fail), { action: 'restart', delayMs: 50, restarts: 1 });
      p.started(100);
      assert.deepEqual(p.exited(1100, fail), { action: 'restart', delayMs: 50, restarts: 2 });
      p.started(1200);
      assert.deepEqual(p.exited(1300, fail), { action: 'give-up', restarts: 2 });
    });

    it('after stop(), any exit is stopped; maxRestarts 0 never restarts', () => {
      const p = new RestartPolicy();
      p.stop();
      assert.equal(p.stopRequested, true);
      assert.deepEqual(p.exited(0, fail), { action: 'stopped' });
      assert.deepEqual(new RestartPolicy({ maxRestarts: 0 }).exited(0, fail), { action: 'give-up', restarts: 0 });
    });

    it('failure, exit codes and option checks', () => {
      assert.equal(isFailure(ok), false);
      assert.equal(isFailure({ code: 2, signal: null }), true);
      assert.equal(isFailure({ code: null, signal: 'SIGKILL' }), true);
      assert.equal(exitCodeOf({ code: 3, signal: null }), 3);
      assert.equal(exitCodeOf({ code: null, signal: 'SIGKILL' }), 137);
      assert.throws(() => new RestartPolicy({ maxRestarts: -1 }), (e: HaError) => e.code === 'HA_INVALID' && /maxRestarts/.test(e.message));
      assert.throws(() => new RestartPolicy({ backoffMs: 1.5 }), HaError);
      assert.throws(() => new RestartPolicy({ backoffMs: 500, maxBackoffMs: 100 }), /less than/);
    });
  });

  describe('Supervisor with real children', function () {
    this.timeout(20_000);
    let tmp: string;
    before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-supervise-'))));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    const quiet = (lines: string[] = []): Pick<SupervisorOptions, 'log' | 'stdio' | 'backoffMs'> => ({ log: (l) => lines.push(l), stdio: 'ignore', backoffMs: 1 });

    it('restarts a child that crashes twice, then ends when it exits 0; each failure and restart is an event', async () => {
      const counter = path.join(tmp, 'count');
      // Counts its runs in a file: exits 1 on the first two, 0 on the third.
      const script = "const fs=require('fs');const f=process.argv[1];const n=(fs.existsSync(f)?+fs.readFileSync(f,'utf8'):0)+1;fs.writeFileSync(f,String(n));process.exit(n<3?1:0)";
      const events = new MemoryFaultPublisher();
      const pids: number[] = [];
      const sup = new Supervisor({ command: NODE, args: ['-e', script, counter], name: 'crashy', publisher: events, ...quiet() });
      sup.on('spawn', (child) => pids.push(child.pid!));
      const result = await sup.run();
      assert.deepEqual(result, { outcome: 'completed', exitCode: 0, restarts: 2, last: ok });
      assert.equal(fs.readFileSync(counter, 'utf8'), '3');
      assert.equal(pids.length, 3);
      assert.deepEqual(events.names(), ['PROCESS_EXITED', 'PROCESS_RESTARTED', 'PROCESS_EXITED', 'PROCESS_RESTARTED']);
      assert.deepEqual(
        events.events.map((e) => [e.severity, e.payload]),
        [
          ['ERROR', { name: 'crashy', pid: pids[0], code: 1, signal: null, restarts: 0 }],
          ['WARNING', { name: 'crashy', pid: pids[1], code: 1, signal: null, restarts: 1 }],
          ['ERROR', { name: 'crashy', pid: pids[1], code: 1, signal: null, restarts: 1 }],
          ['WARNING', { name: 'crashy', pid: pids[2], code: 1, signal: null, restarts: 2 }],
        ],
      );
    });

    it('gives up past the restart limit with the child exit code and a RESTART_LIMIT event; a signal counts as failure', async () => {
      const events = new MemoryFaultPublisher();
      const sup = new Supervisor({ command: NODE, args: ['-e', "process.kill(process.pid,'SIGKILL')"], maxRestarts: 1, publisher: events, ...quiet() });
      const result = await sup.run();
      assert.equal(result.outcome, 'gave-up');
      assert.equal(result.exitCode, 137);
      assert.deepEqual(result.last, { code: null, signal: 'SIGKILL' });
      assert.deepEqual(events.names(), ['PROCESS_EXITED', 'PROCESS_RESTARTED', 'PROCESS_EXITED', 'RESTART_LIMIT']);
      assert.equal(events.events[3]!.severity, SUPERVISOR_EVENTS.RESTART_LIMIT);
      assert.equal(events.events[3]!.payload.signal, 'SIGKILL');
    });

    it('a command that cannot be run fails like a shell (127) and is given up on', async () => {
      const lines: string[] = [];
      const result = await new Supervisor({ command: path.join(tmp, 'no-such-program'), maxRestarts: 1, ...quiet(lines) }).run();
      assert.deepEqual([result.outcome, result.exitCode, result.restarts], ['gave-up', 127, 1]);
      assert.ok(lines.some((l) => /cannot start/.test(l)), lines.join('\n'));
    });

    it('stop(): the child gets SIGTERM and is not restarted; run() resolves stopped, exit code 0', async () => {
      const events = new MemoryFaultPublisher();
      const sup = new Supervisor({ command: NODE, args: ['-e', 'setInterval(() => {}, 1000)'], publisher: events, ...quiet() });
      sup.once('spawn', () => sup.stop('SIGTERM'));
      const result = await sup.run();
      assert.deepEqual(result, { outcome: 'stopped', exitCode: 0, restarts: 0, last: { code: null, signal: 'SIGTERM' } });
      assert.deepEqual(events.names(), ['PROCESS_STOPPED']);
      assert.equal(sup.pid, undefined);
    });

    it('a child that ignores the stop signal is killed after stopTimeoutMs; stop() during the backoff ends at once', async () => {
      const sup = new Supervisor({
        command: NODE,
        args: ['-e', "process.on('SIGTERM',()=>{});console.log('ready');setInterval(()=>{},1000)"],
        ...quiet(),
        stdio: ['ignore', 'pipe', 'ignore'],
        stopTimeoutMs: 50,
      });
      sup.once('spawn', (child) => readline.createInterface({ input: child.stdout! }).once('line', () => sup.stop()));
      const result = await sup.run();
      assert.deepEqual([result.outcome, result.last.signal], ['stopped', 'SIGKILL']);

      const events = new MemoryFaultPublisher();
      const waiting = new Supervisor({ command: NODE, args: ['-e', 'process.exit(1)'], publisher: events, ...quiet(), backoffMs: 60_000, maxBackoffMs: 60_000 });
      waiting.once('exit', () => setImmediate(() => waiting.stop()));
      const r2 = await waiting.run();
      assert.deepEqual([r2.outcome, r2.restarts], ['stopped', 1]);
      assert.deepEqual(events.names(), ['PROCESS_EXITED', 'PROCESS_STOPPED']);
    });

    it('goes on supervising when events cannot be published, and says so once', async () => {
      const lines: string[] = [];
      const broken: FaultPublisher = { publish: () => Promise.reject(new Error('daemon unreachable')), close: () => Promise.resolve() };
      const result = await new Supervisor({ command: NODE, args: ['-e', 'process.exit(2)'], maxRestarts: 2, publisher: broken, ...quiet(lines) }).run();
      assert.deepEqual([result.outcome, result.restarts, result.exitCode], ['gave-up', 2, 2]);
      assert.equal(lines.filter((l) => /not published: daemon unreachable/.test(l)).length, 1, lines.join('\n'));
      assert.ok(lines.includes('6 fault event(s) not published'), lines.join('\n'));
    });
  });

  describe('ReconnectingFaultPublisher', () => {
    it('opens at the first event, reuses the connection, opens again after a failure or a closed session', async () => {
      const log: string[] = [];
      let opens = 0;
      let closed = false;
      let failNext = false;
      const open = (): Promise<OpenEvents> => {
        const n = ++opens;
        if (n === 1) return Promise.reject(new Error('no daemon'));
        return Promise.resolve({
          client: {
            publish: (name: string) => {
              if (failNext) return Promise.reject(new Error('lost'));
              log.push(`${n}:${name}`);
              return Promise.resolve();
            },
          },
          isClosed: () => closed,
          close: () => (log.push(`close ${n}`), Promise.resolve()),
        });
      };
      const p = new ReconnectingFaultPublisher(open);
      const e = (name: string) => ({ name, severity: 'INFO' as const, payload: {} });
      await assert.rejects(p.publish(e('A')), /no daemon/);
      await p.publish(e('B'));
      await p.publish(e('C'));
      failNext = true;
      await assert.rejects(p.publish(e('D')), /lost/);
      failNext = false;
      await p.publish(e('E'));
      closed = true;
      await p.publish(e('F'));
      await p.close();
      assert.deepEqual(log, ['2:B', '2:C', 'close 2', '3:E', 'close 3', '4:F', 'close 4']);
      assert.equal(supervisorClientName('my server!', 42), 'myserver.42');
      assert.equal(supervisorClientName('a-very-long-program-name', 1234567), 'a-very-.1234567');
      assert.equal(supervisorClientName('!!!', 7), 'sv.7');
    });
  });

  describe('through the events service of a daemon', function () {
    this.timeout(20_000);
    it('a subscriber sees the failures and restarts of a crashing program; after the daemon restarts, events go on', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-sv-events-'));
      const socket = path.join(dir, 'd1');
      const ring = new FakeRing([{ id: 1, name: 'd1' }]);
      const servers: SessionServer[] = [];
      const sessions: Session[] = [];
      const publisher = daemonFaultPublisher({ daemon: socket, name: 'crashy' });
      /** A daemon (session server with the events engine) and a subscriber to the supervisor's space. */
      const daemonWithWatcher = async () => {
        const server = new SessionServer(ring.port(1), { unixSocketPath: socket }, {}, [new EventsEngine()]);
        servers.push(server);
        await server.listen();
        const watcher = await connect({ daemon: socket });
        sessions.push(watcher);
        const events = new EventService(watcher.service(EVENTS_GROUP), watcher);
        return (await events.connect({ clientName: `w${servers.length}`, space: 'test.ha.watch' })).subscribe('event_space=ringcast.ha.supervisor');
      };
      const next = async (sub: { next(): Promise<IteratorResult<EventRecord>> }) => (await sub.next()).value as EventRecord;
      try {
        ring.configure(regularOf(10, 1, [1]));
        const sub = await daemonWithWatcher();
        const result = await new Supervisor({ command: NODE, args: ['-e', 'process.exit(5)'], name: 'crashy', maxRestarts: 1, backoffMs: 1, stdio: 'ignore', log: () => {}, publisher }).run();
        assert.equal(result.outcome, 'gave-up');
        const got: EventRecord[] = [];
        while (got.length < 4) got.push(await next(sub));
        const client = supervisorClientName('crashy');
        assert.deepEqual(
          got.map((e) => [e.name, e.severity, e.space, e.client]),
          [
            ['PROCESS_EXITED', 'ERROR', 'ringcast.ha.supervisor', client],
            ['PROCESS_RESTARTED', 'WARNING', 'ringcast.ha.supervisor', client],
            ['PROCESS_EXITED', 'ERROR', 'ringcast.ha.supervisor', client],
            ['RESTART_LIMIT', 'FATAL', 'ringcast.ha.supervisor', client],
          ],
        );
        assert.deepEqual(got[3]!.payload, { name: 'crashy', pid: (got[2]!.payload as { pid: number }).pid, code: 5, signal: null, restarts: 1 });

        // The daemon goes (the publisher's session ends) and a new one starts: the next event
        // opens a session to it and resumes the events client there.
        await servers[0]!.close();
        const sub2 = await daemonWithWatcher();
        await publisher.publish({ name: 'PROCESS_STOPPED', severity: 'INFO', payload: { name: 'crashy', pid: null, code: null, signal: null, restarts: 1 } });
        assert.equal((await next(sub2)).name, 'PROCESS_STOPPED');
      } finally {
        await publisher.close();
        for (const s of sessions) await s.disconnect();
        for (const s of servers) await s.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('ringcast supervise', function () {
    this.timeout(20_000);
    const flags = (over: Partial<SuperviseFlags> = {}): SuperviseFlags => ({ ...SUPERVISE_DEFAULTS, events: true, ...over });

    it('turns flags into supervisor options, refusing bad ones with the flag named', () => {
      const o = superviseOptions(flags({ maxRestarts: 2 }), '/usr/bin/server', ['-v']);
      assert.deepEqual([o.name, o.maxRestarts, o.args], ['server', 2, ['-v']]);
      assert.throws(() => superviseOptions(flags({ backoffMs: -1 }), 'x', []), (e: UsageError) => e instanceof UsageError && /--backoff-ms/.test(e.message));
      assert.throws(() => superviseOptions(flags({ maxBackoffMs: 10, backoffMs: 20 }), 'x', []), /--max-backoff-ms/);
      assert.throws(() => superviseOptions(flags({ daemon: '' }), 'x', []), /--daemon/);
    });

    /** `ringcast supervise …` from the sources, in a process of its own; stdout and stderr collected. */
    function cli(args: string[]): { proc: ChildProcess; out: string[]; err: string[]; exited: Promise<number | null> } {
      const proc = spawn(NODE, ['--import', 'tsx', '-e', "require('./src/cli/main').main(process.argv.slice(1))", 'supervise', ...args], { cwd: repoRoot() });
      const out: string[] = [];
      const err: string[] = [];
      readline.createInterface({ input: proc.stdout! }).on('line', (l) => out.push(l));
      readline.createInterface({ input: proc.stderr! }).on('line', (l) => err.push(l));
      const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
      return { proc, out, err, exited };
    }

    it('SIGTERM to the supervisor reaches the child and ends both cleanly, with no restart', async () => {
      // The daemon port is closed: events are not published, supervision goes on.
      const run = cli(['--name', 'sleeper', '--daemon', '1@127.0.0.1', '--', NODE, '-e', "console.log('up');setInterval(()=>{},1000)"]);
      while (!run.out.includes('up')) {
        if (run.proc.exitCode !== null) assert.fail(run.err.join('\n'));
        await new Promise((r) => setTimeout(r, 20));
      }
      run.proc.kill('SIGTERM');
      assert.equal(await run.exited, 0, run.err.join('\n'));
      const err = run.err.join('\n');
      assert.match(err, /SIGTERM: stopping sleeper/);
      assert.match(err, /sleeper stopped/);
      assert.doesNotMatch(err, /restart/);
      assert.equal(run.out.filter((l) => l === 'up').length, 1);
    });

    it('restarts a crashing program with the daemon unreachable, and exits with its code after giving up', async () => {
      const run = cli(['--max-restarts', '2', '--backoff-ms', '1', '--daemon', '1@127.0.0.1', '--', NODE, '-e', "console.log('run');process.exit(4)"]);
      assert.equal(await run.exited, 4, run.err.join('\n'));
      assert.equal(run.out.filter((l) => l === 'run').length, 3);
      const err = run.err.join('\n');
      assert.match(err, /restart 2 in 2 ms/);
      assert.match(err, /gave up after 2 restart\(s\)/);
      assert.match(err, /not published: cannot connect to daemon 1@127\.0\.0\.1/);
    });
  });
});
