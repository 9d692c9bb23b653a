// The client tools: `ringcast user` command parsing, `ringcast flood` options, report and a
// whole run against the echo daemon (with its delivery log), the client delivery recorder,
// readable descriptions, and the status query.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../../src/client';
import { ClientDeliveryRecorder } from '../../src/client/deliveryRecorder';
import { describeMessage, previewData } from '../../src/client/describe';
import { runFlood } from '../../src/client/flood';
import { allocFloodPayload, readFloodPayload, stampFloodPayload } from '../../src/client/floodPayload';
import { LatencySamples } from '../../src/client/latency';
import { compareGroupIdStrings, formatGroupId, type MembershipMessage, type ReceivedMessage } from '../../src/client/received';
import {
  STATUS_GROUP,
  STATUS_REPLY,
  STATUS_REQUEST,
  decodeStatusRequest,
  encodeStatusReport,
  requestStatus,
  type StatusReport,
} from '../../src/client/statusProtocol';
import { FLOOD_DEFAULTS, floodJson, floodPlan, formatFloodReport, type FloodFlags } from '../../src/cli/flood';
import { formatStatus, statusOutput } from '../../src/cli/status';
import { parseUserLine } from '../../src/cli/user';
import { buildProgram } from '../../src/cli/main';
import { UsageError } from '../../src/errors';
import { checkLogs } from '../../src/sim/checker';
import type { LogEntry } from '../../src/sim/deliveryLog';
import { LogWriter, readLogFile } from '../../src/sim/logFiles';
import { MessageType, encodeMessage, hintFor } from '../../src/wire/client';
import { FakeDaemon, serveEcho } from './clientFakeDaemon';

describe('ringcast user: command lines', () => {
  const cases: Array<[string, unknown]> = [
    ['j grp', { kind: 'join', group: 'grp' }],
    ['  join   grp  ', { kind: 'join', group: 'grp' }],
    ['l grp', { kind: 'leave', group: 'grp' }],
    ['s grp', { kind: 'send', groups: ['grp'] }],
    ['s grp hello  world', { kind: 'send', groups: ['grp'], text: 'hello  world' }],
    ['s g1 g2 -- two groups', { kind: 'send', groups: ['g1', 'g2'], text: 'two groups' }],
    ['s g1 g2 --', { kind: 'send', groups: ['g1', 'g2'], text: '' }],
    ['m g1 g2', { kind: 'send', groups: ['g1', 'g2'] }],
    ['m g1 g2 -- hi', { kind: 'send', groups: ['g1', 'g2'], text: 'hi' }],
    ['b grp', { kind: 'burst', group: 'grp', count: 10 }],
    ['b grp 3', { kind: 'burst', group: 'grp', count: 3 }],
    ['u', { kind: 'service', service: 'UNRELIABLE' }],
    ['r', { kind: 'service', service: 'RELIABLE' }],
    ['f', { kind: 'service', service: 'FIFO' }],
    ['c', { kind: 'service', service: 'CAUSAL' }],
    ['a', { kind: 'service', service: 'AGREED' }],
    ['service safe', { kind: 'service', service: 'SAFE' }],
    ['SAFE', { kind: 'service', service: 'SAFE' }],
    ['agreed', { kind: 'service', service: 'AGREED' }],
    ['t 4660', { kind: 'messType', messType: 4660 }],
    ['discard', { kind: 'selfDiscard' }],
    ['discard on', { kind: 'selfDiscard', on: true }],
    ['w', { kind: 'wait', ms: 500 }],
    ['w 20', { kind: 'wait', ms: 20 }],
    ['h', { kind: 'help' }],
    ['?', { kind: 'help' }],
    ['q', { kind: 'quit' }],
    ['', { kind: 'nothing' }],
  ];
  for (const [line, expected] of cases) {
    it(JSON.stringify(line), () => assert.deepEqual(parseUserLine(line), expected));
  }
  it('errors name the command', () => {
    for (const line of ['j', 'j a b', 's', 'b', 'b g 0', 'b g x', 'service BEST', 't x', 't 70000', 'discard maybe', 'zz', 'u x']) {
      const c = parseUserLine(line);
      assert.equal(c.kind, 'error', line);
    }
  });
});

const flags = (over: Partial<FloodFlags> = {}): FloodFlags => ({ ...FLOOD_DEFAULTS, ...over });

describe('ringcast flood: options', () => {
  it('defaults: group flood, one sender (this one), 10000 × 1000 bytes AGREED', () => {
    assert.deepEqual(floodPlan(flags()), {
      daemon: '4803@127.0.0.1',
      group: 'flood',
      senders: 1,
      send: true,
      waitMembers: 1,
      size: 1000,
      count: 10000,
      service: 'AGREED',
      messType: 0,
      window: 1000,
    });
  });

  it('--read-only and --senders 0 do not send; --members sets the wait; --service any case', () => {
    assert.equal(floodPlan(flags({ readOnly: true, senders: 3 })).send, false);
    assert.equal(floodPlan(flags({ readOnly: true, senders: 3 })).senders, 3);
    assert.equal(floodPlan(flags({ senders: 0 })).send, false);
    assert.equal(floodPlan(flags({ senders: 3, members: 5 })).waitMembers, 5);
    assert.equal(floodPlan(flags({ service: 'safe' })).service, 'SAFE');
    assert.equal(floodPlan(flags({ name: 'f1', daemon: '/tmp/4803' })).name, 'f1');
  });

  it('refuses bad values with a UsageError naming the flag', () => {
    const bad: Array<[Partial<FloodFlags>, RegExp]> = [
      [{ service: 'BEST' }, /--service/],
      [{ size: 15 }, /--size/],
      [{ count: 0 }, /--count/],
      [{ senders: -1 }, /--senders/],
      [{ window: 0 }, /--window/],
      [{ group: '#x' }, /--group/],
      [{ daemon: 'nowhere' }, /--daemon/],
      [{ messType: 70000 }, /--mess-type/],
    ];
    for (const [over, message] of bad) assert.throws(() => floodPlan(flags(over)), (e: Error) => e instanceof UsageError && message.test(e.message), JSON.stringify(over));
  });

  it('the commands parse their flags (commander)', async () => {
    const program = buildProgram();
    const flood = program.commands.find((c) => c.name() === 'flood')!;
    assert.ok(flood);
    const names = flood.options.map((o) => o.long);
    for (const f of ['--daemon', '--name', '--group', '--senders', '--size', '--count', '--service', '--log', '--json', '--read-only']) assert.ok(names.includes(f), f);
    const user = program.commands.find((c) => c.name() === 'user')!;
    assert.deepEqual(['--daemon', '--name'].filter((f) => user.options.some((o) => o.long === f)), ['--daemon', '--name']);
    const status = program.commands.find((c) => c.name() === 'status')!;
    assert.deepEqual(['--daemon', '--json'].filter((f) => status.options.some((o) => o.long === f)), ['--daemon', '--json']);
  });

  it('plain report: the last line holds "<number> msgs/s"; --json has msgsPerSec, mbPerSec, latency', () => {
    const plan = floodPlan(flags());
    const result = {
      privateGroup: '#f#d1',
      complete: true,
      sent: 10,
      delivered: 10,
      bytes: 10000,
      seconds: 0.5,
      msgsPerSec: 20,
      mbPerSec: 0.02,
      latencyMs: new LatencySamples().summary(),
      perSender: { '#f#d1': 10 },
    };
    const lines = formatFloodReport(plan, result);
    assert.match(lines[lines.length - 1]!, /\b\d+(\.\d+)? msgs\/s/);
    const json = floodJson(plan, result);
    assert.equal(json.msgsPerSec, 20);
    assert.equal(json.mbPerSec, 0.02);
    assert.equal(json.latencyMs, null);
  });
});

describe('flood pieces', () => {
  it('payload round trip, and other data is not a flood payload', () => {
    const buf = allocFloodPayload(100);
    assert.equal(buf.length, 100);
    assert.deepEqual(readFloodPayload(stampFloodPayload(buf, 42, 1234.5)), { n: 42, sentAtMs: 1234.5 });
    assert.equal(readFloodPayload(Buffer.from('hello, this is not a payload')), undefined);
  });

  it('latency percentiles by nearest rank', () => {
    const s = new LatencySamples();
    for (let i = 100; i >= 1; i--) s.add(i);
    assert.deepEqual(s.summary(), { count: 100, min: 1, mean: 50.5, p50: 50, p90: 90, p99: 99, p999: 100, max: 100 });
  });
});

describe('client delivery recorder', () => {
  const regular = (cause: 'JOIN' | 'NETWORK', members: string[], time: number, index: number, vsSets: string[][], local = 0): MembershipMessage => ({
    type: 'membership',
    kind: 'regular',
    group: 'g',
    cause,
    members,
    groupId: { daemonId: 9, time, index },
    vsSets,
    localVsSetIndex: local,
  });

  it('holds entries after a transitional membership and writes them after it, members from the local vs_set', () => {
    const out: LogEntry[] = [];
    const r = new ClientDeliveryRecorder({ write: (e) => out.push(e) }, 'g');
    r.membership(regular('JOIN', ['#a#1', '#b#2', '#c#3'], 100, 3, [['#c#3']]));
    r.sent('#a#1#1', 'AGREED');
    r.membership({ type: 'membership', kind: 'transitional', group: 'g', groupId: { daemonId: 9, time: 100, index: 3 } });
    r.delivered('#a#1#1', 'AGREED', ['g'], 10);
    r.membership({ type: 'membership', kind: 'regular', group: 'other', cause: 'JOIN', members: [], groupId: { daemonId: 1, time: 1, index: 1 }, vsSets: [], localVsSetIndex: -1 });
    r.membership(regular('NETWORK', ['#a#1', '#b#2'], 140, 1, [['#a#1', '#b#2']]));
    r.delivered('#b#2#1', 'SAFE', ['g'], 5);
    r.finish();
    assert.deepEqual(out, [
      { t: 'conf', kind: 'regular', ring: '100.3.9', members: ['#a#1', '#b#2', '#c#3'] },
      { t: 'sent', id: '#a#1#1', svc: 'AGREED' },
      { t: 'conf', kind: 'transitional', ring: '140.1.9', members: ['#a#1', '#b#2'] },
      { t: 'msg', id: '#a#1#1', svc: 'AGREED', groups: ['g'], len: 10 },
      { t: 'conf', kind: 'regular', ring: '140.1.9', members: ['#a#1', '#b#2'] },
      { t: 'msg', id: '#b#2#1', svc: 'SAFE', groups: ['g'], len: 5 },
    ]);
  });

  it('a log that ends inside a transitional configuration still gets its entries', () => {
    const out: LogEntry[] = [];
    const r = new ClientDeliveryRecorder({ write: (e) => out.push(e) }, 'g');
    r.membership(regular('JOIN', ['#a#1'], 100, 1, [['#a#1']]));
    r.membership({ type: 'membership', kind: 'transitional', group: 'g', groupId: { daemonId: 9, time: 100, index: 1 } });
    r.delivered('#a#1#1', 'AGREED', ['g'], 1);
    assert.equal(out.length, 1);
    r.finish();
    assert.deepEqual(out.slice(1), [
      { t: 'conf', kind: 'transitional', ring: '100.1.9/transitional', members: ['#a#1'] },
      { t: 'msg', id: '#a#1#1', svc: 'AGREED', groups: ['g'], len: 1 },
    ]);
  });

  it('group id strings order by formation time, then counter', () => {
    assert.equal(formatGroupId({ daemonId: 4254043461, time: 1795306493, index: 2 }), '1795306493.2.4254043461');
    assert.equal(compareGroupIdStrings('100.3.9', '140.1.2'), -1);
    assert.equal(compareGroupIdStrings('100.3.9', '100.2.9'), 1);
    assert.equal(compareGroupIdStrings('100.3.9', '100.3.9'), undefined);
    assert.equal(compareGroupIdStrings('x', '100.3.9'), undefined);
  });
});

describe('readable messages (ringcast user)', () => {
  it('data, memberships with cause, members and group id, self-leave, reject', () => {
    const data: ReceivedMessage = { type: 'message', sender: '#a#sp1', groups: ['grp'], service: 'SAFE', serviceType: 0x20, messType: 1, data: Buffer.from('hello\n'), endianMismatch: false };
    assert.deepEqual(describeMessage(data, '#b#sp1'), ['received SAFE message from #a#sp1, type 1, to 1 group(s) grp', '  (6 bytes): hello']);
    const join: ReceivedMessage = {
      type: 'membership',
      kind: 'regular',
      group: 'grp',
      cause: 'JOIN',
      members: ['#a#sp1', '#b#sp1'],
      groupId: { daemonId: 4254043461, time: 1795306493, index: 2 },
      vsSets: [['#b#sp1']],
      localVsSetIndex: 0,
      changedMember: '#b#sp1',
    };
    const lines = describeMessage(join, '#b#sp1');
    assert.equal(lines[0], 'REGULAR membership for group grp with 2 member(s), where I am member 1:');
    assert.ok(lines.includes('  group id 4254043461 1795306493 2'));
    assert.equal(lines[lines.length - 1], '  due to the JOIN of #b#sp1');
    const network = describeMessage({ ...join, cause: 'NETWORK', changedMember: undefined, vsSets: [['#a#sp1'], ['#b#sp1']], localVsSetIndex: 1 }, '#b#sp1');
    assert.ok(network.some((l) => l.includes('NETWORK') && l.includes('2 virtual synchrony set(s)')));
    assert.ok(network.includes('  * set 1: #b#sp1'));
    assert.deepEqual(describeMessage({ type: 'membership', kind: 'self-leave', group: 'grp' }, '#b#sp1'), ['left group grp (self-leave)']);
    assert.match(describeMessage({ type: 'reject', sender: '#b#sp1', groups: ['g', '#b#sp1'], rejectedType: 0x10, messType: 0, data: Buffer.alloc(0) }, '#b#sp1')[0]!, /REJECTED message \(AGREED\)/);
  });

  it('data preview: C strings without their NUL padding, binary as hex', () => {
    assert.equal(previewData(Buffer.concat([Buffer.from('mess num 1 '), Buffer.alloc(89)])), 'mess num 1 ');
    assert.equal(previewData(Buffer.from([1, 2, 255])), '<hex 0102ff>');
  });
});

describe('ringcast flood: a run against the echo daemon', function () {
  this.timeout(20_000);
  let daemon: FakeDaemon;
  let echo: { stop: () => void };
  let dir: string;
  before(async () => {
    daemon = await FakeDaemon.listen();
    echo = serveEcho(daemon, { daemonName: 'd1' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-flood-'));
  });
  after(async () => {
    echo.stop();
    await daemon.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('two senders and a reader: everyone delivers every message; the logs pass the invariant checker', async () => {
    const plan = (name: string, over: Partial<FloodFlags>) => floodPlan(flags({ daemon: daemon.address, name, senders: 2, members: 3, count: 300, size: 64, window: 50, ...over }));
    const logs = new Map<string, LogWriter>();
    const run = (name: string, over: Partial<FloodFlags> = {}) => {
      const log = new LogWriter(path.join(dir, `${name}.jsonl`));
      logs.set(name, log);
      const progress: number[] = [];
      return runFlood({ ...plan(name, over), log, onProgress: (n) => progress.push(n) }).then((result) => ({ result, progress }));
    };
    const reader = run('r', { readOnly: true });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const [s1, s2, r] = await Promise.all([run('s1'), run('s2'), reader]);
    for (const log of logs.values()) log.close();

    for (const { result } of [s1, s2, r]) {
      assert.equal(result.complete, true);
      assert.equal(result.delivered, 600);
      assert.deepEqual(result.perSender, { '#s1#d1': 300, '#s2#d1': 300 });
      assert.ok(result.msgsPerSec > 0 && result.mbPerSec > 0);
    }
    assert.equal(s1.result.sent, 300);
    assert.equal(s1.result.latencyMs?.count, 300);
    assert.equal(r.result.sent, 0);
    assert.equal(r.result.latencyMs, undefined);
    assert.equal(s1.progress[s1.progress.length - 1], 600);

    const entries = new Map([...logs.keys()].map((name) => [name, readLogFile(path.join(dir, `${name}.jsonl`))]));
    const s1Log = entries.get('s1')!;
    assert.equal(s1Log.filter((e) => e.t === 'sent').length, 300);
    assert.equal(s1Log.filter((e) => e.t === 'msg').length, 600);
    assert.deepEqual(s1Log.find((e) => e.t === 'sent'), { t: 'sent', id: '#s1#d1#1', svc: 'AGREED' });
    assert.ok(s1Log.some((e) => e.t === 'conf' && e.kind === 'regular' && e.members.length === 3));
    // Run the checker on what the clients wrote; the echo daemon keeps one total order.
    const report = checkLogs(entries, { invariants: [1, 2, 3, 5], mode: 'client', memberNames: { r: '#r#d1', s1: '#s1#d1', s2: '#s2#d1' } });
    assert.equal(report.ok, true, report.results.filter((x) => !x.ok).map((x) => x.violation).join('; '));
  });

  it('stops on abort with complete: false', async () => {
    const abort = new AbortController();
    const result = runFlood({ ...floodPlan(flags({ daemon: daemon.address, senders: 2, count: 10, size: 32 })), signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    const r = await result;
    assert.equal(r.complete, false);
    assert.equal(r.sent, 0); // it was waiting for a second member
  });
});

describe('ringcast status', () => {
  it('asks on #ringcast-status and reads the reply', async () => {
    const daemon = await FakeDaemon.listen();
    const report = (id: string): StatusReport => ({
      v: 1,
      id,
      daemon: { name: 'd1', id: 7 },
      ring: { id: '3.d1', members: ['d1', 'd2'] },
      links: { d2: [{ address: '127.0.0.2:4803', state: 'up', counters: { sent: 5 } }] },
      sessions: { local: 1, perDaemon: { d1: 1, d2: 0 } },
      counters: { ring: { delivered: 12 } },
    });
    const echo = serveEcho(daemon, {
      daemonName: 'd1',
      replyTo: {
        group: STATUS_GROUP,
        reply: (m) => {
          assert.equal(m.hint, hintFor(STATUS_REQUEST));
          const request = decodeStatusRequest(m.data);
          if (!request) return undefined;
          return encodeMessage({ type: MessageType.RELIABLE_MESS, sender: STATUS_GROUP, groups: [m.sender], hint: hintFor(STATUS_REPLY), data: encodeStatusReport(report(request.id)) });
        },
      },
    });
    try {
      const session = await connect({ daemon: daemon.address, membership: false });
      const got = await requestStatus(session, 2000);
      assert.ok(got);
      assert.deepEqual(got.ring, { id: '3.d1', members: ['d1', 'd2'] });
      const lines = formatStatus(statusOutput(session, got), 2000);
      assert.ok(lines.some((l) => l.startsWith('ring       3.d1: d1 d2')));
      assert.ok(lines.some((l) => l === 'links      d2 127.0.0.2:4803 up sent=5'));
      assert.ok(lines.some((l) => l === 'sessions   1 here'));
      assert.ok(lines.some((l) => l === '           clients in groups per daemon: d1 1, d2 0'));
      assert.ok(lines.some((l) => l === 'counters   ring  delivered=12'));
      await session.disconnect();
    } finally {
      echo.stop();
      await daemon.close();
    }
  });

  it('a daemon without the status service: no report, and the handshake facts', async () => {
    const daemon = await FakeDaemon.listen();
    const echo = serveEcho(daemon, { daemonName: 'sp1' });
    try {
      const session = await connect({ daemon: daemon.address, name: 'st' });
      assert.equal(await requestStatus(session, 100), undefined);
      const out = statusOutput(session, undefined);
      assert.deepEqual(out, { daemon: daemon.address, daemonName: 'sp1', daemonVersion: '5.0.1', privateGroup: '#st#sp1', status: null });
      assert.match(formatStatus(out, 100).join('\n'), /not available: no answer on #ringcast-status within 100 ms/);
      await session.disconnect();
    } finally {
      echo.stop();
      await daemon.close();
    }
  });
});
