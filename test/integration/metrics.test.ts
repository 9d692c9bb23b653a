// Metrics and health of real daemons: three `ringcast daemon` processes (the built CLI) on
// 127.0.0.1/.2/.3 with `MetricsAddress = 0` (each on its own loopback address, any free port,
// logged), a client flood from d1 read at d2, /metrics scraped before, in the middle of and
// after the flood: the counters move by at least what was sent. /health answers 200 with the
// ring once it is up; `ringcast status --json` prints one object; a daemon that leaves shows as a
// membership change and a smaller ring in the others' metrics.
// Needs `npx tsc -p .` first (it runs bin/ringcast.js, which loads dist/).
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../../src/client/connect';
import type { Session } from '../../src/client/session';
import type { StatusOutput } from '../../src/cli/status';
import { canBind, freeUdpPort, repoRoot, showOutput, watchDaemon, type WatchedDaemon } from '../support/repo';
import { parseMetrics } from '../support/prometheus';

const ADDRS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const NAMES = ['d1', 'd2', 'd3'];
const BIN = path.join(repoRoot(), 'bin', 'ringcast.js');
const HALF = 1500;
const SIZE = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(20);
  }
}

/** The metrics URL a daemon logged ("metrics: http://…/metrics, health: …"). */
const metricsUrl = (d: WatchedDaemon): string | undefined =>
  d.out.map((l) => / metrics: (http:\/\/\S+)\/metrics, /.exec(l)?.[1]).find((u) => u !== undefined);

const inRingOf = (d: WatchedDaemon, n: number): boolean =>
  d.out.some((l) => (/: regular configuration \S+: (.*)$/.exec(l)?.[1]?.trim().split(/\s+/).length ?? 0) === n);

function status(port: number, address: string): Promise<StatusOutput> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, 'status', '--daemon', `${port}@${address}`, '--json'], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`ringcast status: ${err.message}\n${stderr}`));
      const lines = stdout.trim().split('\n');
      assert.equal(lines.length, 1, `one line of JSON:\n${stdout}`);
      resolve(JSON.parse(lines[0]!) as StatusOutput);
    });
  });
}

describe('integration: metrics and health of three daemons', function () {
  this.timeout(60_000);
  let tmp = '';
  let port = 0;
  const daemons: WatchedDaemon[] = [];
  const sessions: Session[] = [];
  const url = (i: number): string => metricsUrl(daemons[i]!)!;
  const scrape = async (i: number): Promise<Map<string, number>> => {
    const res = await fetch(`${url(i)}/metrics`);
    assert.equal(res.status, 200);
    return parseMetrics(await res.text());
  };

  before(async function () {
    if (!fs.existsSync(path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'))) throw new Error('build first: npx tsc -p .');
    for (const a of ADDRS) if (!(await canBind(a, 0))) this.skip(); // no 127.0.0.2/.3 here
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-metrics-'));
    port = await freeUdpPort(ADDRS, true);
    const conf = path.join(tmp, 'spread.conf');
    // MaxSessionMessages above a whole flood: the reader shares this process with the sender and
    // may fall that far behind; a daemon that took it for a client that never reads would drop it.
    fs.writeFileSync(conf, `Spread_Segment 127.0.0.255:${port} {\n${NAMES.map((n, i) => `    ${n} ${ADDRS[i]}\n`).join('')}}\nMetricsAddress = 0\nMaxSessionMessages = 10000\n`);
    for (const name of NAMES) {
      const proc = spawn(process.execPath, [BIN, 'daemon', '-c', conf, '-n', name, '--socket', 'none', '--incarnation', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      daemons.push(watchDaemon(name, proc));
    }
    await waitUntil(
      () => daemons.every((d) => inRingOf(d, 3) && metricsUrl(d) !== undefined),
      20_000,
      () => `a ring of three with metrics:\n${daemons.map(showOutput).join('\n')}`,
    );
  });

  after(async () => {
    for (const s of sessions) await s.disconnect().catch(() => undefined);
    for (const d of daemons) if (!d.exit) d.proc.kill('SIGKILL');
    await Promise.all(daemons.map((d) => d.exited));
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('listens on each daemon\'s own loopback address', () => {
    daemons.forEach((_, i) => assert.match(url(i), new RegExp(`^http://${ADDRS[i]!.replace(/\./g, '\\.')}:\\d+$`)));
  });

  it('answers /health with 200 and the ring once the ring is up', async () => {
    for (let i = 0; i < 3; i++) {
      let res: Response | undefined;
      await waitUntil(async () => (res = await fetch(`${url(i)}/health`)).status === 200, 10_000, () => `${NAMES[i]} healthy`);
      const body = (await res!.json()) as { status: string; daemon: string; members: string[]; state: string };
      assert.equal(body.status, 'ok');
      assert.equal(body.daemon, NAMES[i]);
      assert.equal(body.state, 'operational');
      assert.equal(body.members.length, 3);
    }
  });

  it('moves the counters during a flood', async () => {
    const sender = await connect({ daemon: `${port}@${ADDRS[0]}`, name: 'sender', membership: false });
    const reader = await connect({ daemon: `${port}@${ADDRS[1]}`, name: 'reader' });
    sessions.push(sender, reader);
    let received = 0;
    reader.on('message', () => received++);
    let joined = false;
    reader.on('membership', (m) => (joined ||= m.kind === 'regular' && m.group === 'flood'));
    await reader.join('flood');
    await waitUntil(() => joined, 10_000, () => 'the reader in group flood');

    const [s1, s2] = [await scrape(0), await scrape(1)];
    const flood = async (service: 'AGREED' | 'SAFE', n: number) => {
      for (let k = 0; k < n; k++) await sender.multicast('flood', Buffer.alloc(SIZE), { service });
    };
    await flood('AGREED', HALF);
    await waitUntil(() => received >= HALF, 20_000, () => `half the flood at the reader (${received})`);
    const [m1, m2] = [await scrape(0), await scrape(1)]; // mid-flood: more is coming
    await flood('AGREED', HALF);
    await flood('SAFE', 100);
    await waitUntil(() => received >= 2 * HALF + 100, 20_000, () => `the whole flood at the reader (${received})`);
    const [e1, e2] = [await scrape(0), await scrape(1)];

    const moved = (before: Map<string, number>, after: Map<string, number>, name: string, atLeast: number) => {
      const delta = (after.get(name) ?? NaN) - (before.get(name) ?? NaN);
      assert.ok(delta >= atLeast, `${name} moved by ${delta}, at least ${atLeast} expected (before ${before.get(name)}, after ${after.get(name)})`);
    };
    const agreed = '{service="AGREED"}';
    // d2 delivers everything; d1 originated it (its share of the order).
    moved(s2, m2, `ringcast_messages_delivered_total${agreed}`, HALF);
    moved(m2, e2, `ringcast_messages_delivered_total${agreed}`, HALF);
    moved(s2, e2, 'ringcast_messages_delivered_total{service="SAFE"}', 100);
    moved(s2, e2, `ringcast_bytes_delivered_total${agreed}`, 2 * HALF * SIZE);
    moved(s1, m1, `ringcast_messages_ordered_total${agreed}`, HALF);
    moved(s1, e1, `ringcast_bytes_ordered_total${agreed}`, 2 * HALF * SIZE);
    moved(s2, e2, `ringcast_messages_ordered_total${agreed}`, 0);
    assert.equal(e2.get(`ringcast_messages_ordered_total${agreed}`), s2.get(`ringcast_messages_ordered_total${agreed}`), 'd2 sent none of it');
    for (const [before, mid, after] of [[s1, m1, e1], [s2, m2, e2]] as const) {
      moved(before, mid, 'ringcast_token_rotations_total', 1);
      moved(mid, after, 'ringcast_token_rotations_total', 1);
      moved(before, after, 'ringcast_ring_tokens_accepted', 1); // a status counter, exported generically
      assert.equal(after.get('ringcast_ring_size'), 3);
      assert.equal(after.get('ringcast_ring_operational'), 1);
      assert.ok((after.get('ringcast_membership_changes_total') ?? 0) >= 1);
    }
    moved(s1, e1, 'ringcast_sessions_submitted', 2 * HALF + 100); // the session server's counters
    assert.equal(e1.get('ringcast_client_sessions'), 1);
    assert.equal(e2.get('ringcast_client_sessions'), 1);
    assert.ok([...e1.keys()].some((k) => k.startsWith('ringcast_ring_info{') && k.includes('state="operational"')));
  });

  it('prints one parseable JSON object for ringcast status --json', async () => {
    const st = await status(port, ADDRS[2]!);
    assert.equal(st.daemonName, 'd3');
    assert.deepEqual([...(st.status?.ring?.members ?? [])].sort(), ['d1', 'd2', 'd3']);
    assert.ok((st.status?.counters?.ring?.tokensAccepted ?? 0) > 0);
  });

  it('shows a daemon that leaves as a membership change and a smaller ring', async () => {
    const before = await scrape(0);
    daemons[2]!.proc.kill('SIGTERM');
    await daemons[2]!.exited;
    await waitUntil(async () => (await scrape(0)).get('ringcast_ring_size') === 2, 10_000, () => 'a ring of two at d1');
    const after = await scrape(0);
    assert.ok(after.get('ringcast_membership_changes_total')! > before.get('ringcast_membership_changes_total')!);
    assert.ok(after.get('ringcast_token_rotations_total')! >= before.get('ringcast_token_rotations_total')!, 'the totals never go back');
    assert.equal(after.get(`ringcast_messages_delivered_total{service="AGREED"}`), before.get(`ringcast_messages_delivered_total{service="AGREED"}`));
    assert.equal(daemons[2]!.exit?.code, 0);
  });
});
