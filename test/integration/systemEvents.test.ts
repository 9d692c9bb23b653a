// The documented system events, as `ringcast events watch` shows them: three multipath daemons
// in network namespaces of their own (two networks each, test/integration/netns.ts); one link
// taken down and up (LINK_DOWN, LINK_UP), a checkpoint write that fails (WRITE_ERROR), a daemon
// killed with SIGKILL (DAEMON_LEFT, CONFIGURATION_INSTALLED). Needs root (skipped without).
// Needs `npx tsc -p .` first.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { connect, type Session } from '../../src/client';
import { ServiceError } from '../../src/client/serviceClient';
import type { EventRecord } from '../../src/services/events/protocol';
import { showOutput, watchDaemon, type WatchedDaemon } from '../support/repo';
import { canUseNetns, createLab, labConfig, type NetnsLab } from './netns';
import { BIN, until } from '../support/cluster';

/** A field of an event's map payload. */
const field = (e: EventRecord, name: string): unknown => (e.payload && typeof e.payload === 'object' && !(e.payload instanceof Uint8Array) ? (e.payload as Record<string, unknown>)[name] : undefined);


describe('integration: system events seen by `ringcast events watch` (multipath lab, root)', function () {
  this.timeout(120_000);
  let lab: NetnsLab | undefined;
  let dir = '';
  const daemons: WatchedDaemon[] = [];
  let watcher: ChildProcess | undefined;
  let session: Session | undefined;

  before(function () {
    if (!canUseNetns()) this.skip();
  });

  after(async () => {
    watcher?.kill('SIGKILL');
    await session?.disconnect().catch(() => {});
    for (const d of daemons) if (!d.exit) d.proc.kill('SIGKILL');
    await Promise.all(daemons.map((d) => d.exited));
    lab?.destroy();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports a link down and up, a failed checkpoint write and a killed daemon', async () => {
    lab = createLab(3, 2);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-sysevents-'));
    const conf = path.join(dir, 'spread.conf');
    fs.writeFileSync(conf, labConfig(lab, 'active'));
    const socket = (h: number) => path.join(dir, `h${h + 1}.sock`);
    for (let h = 0; h < 3; h++) {
      daemons.push(watchDaemon(`h${h + 1}`, lab.spawn(h, [process.execPath, BIN, 'daemon', '-c', conf, '-n', `h${h + 1}`, '--socket', socket(h)])));
    }
    const inRing = (d: WatchedDaemon) => d.out.some((l) => /regular configuration \S+: \S+ \S+ \S+$/.test(l));
    await until(() => daemons.every(inRing) && daemons.every((_, h) => fs.existsSync(socket(h))), `one ring of three\n${daemons.map(showOutput).join('\n')}`, 20_000);

    const lines: EventRecord[] = [];
    const watchErr: string[] = [];
    watcher = spawn(process.execPath, [BIN, 'events', 'watch', 'all', '--json', '--daemon', socket(0)], { stdio: ['ignore', 'pipe', 'pipe'] });
    readline.createInterface({ input: watcher.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as EventRecord));
    readline.createInterface({ input: watcher.stderr! }).on('line', (l) => watchErr.push(l));
    await until(() => watchErr.some((l) => l.includes('watching')), '`ringcast events watch` to subscribe');
    const seen = (name: string, test: (e: EventRecord) => boolean = () => true) => lines.some((e) => e.name === name && test(e));

    // a multipath link of h3 goes down, then up
    lab.setLink(2, 1, false);
    await until(() => seen('LINK_DOWN', (e) => field(e, 'link') === 1), `LINK_DOWN for link 1\n${watchErr.join('\n')}`);
    lab.setLink(2, 1, true);
    await until(() => seen('LINK_UP', (e) => field(e, 'link') === 1), 'LINK_UP for link 1');
    assert.equal(lines.find((e) => e.name === 'LINK_DOWN')!.space, 'ringcast.system.daemon');
    assert.equal(lines.find((e) => e.name === 'LINK_DOWN')!.severity, 'WARNING');

    // a checkpoint write that fails
    session = await connect({ daemon: socket(1) });
    const h = await session.checkpoints.open('small', { create: true, attrs: { maxSections: 1, maxSectionSize: 8, checkpointSize: 8 } });
    await assert.rejects(h.overwrite('', Buffer.alloc(64)), (e: unknown) => e instanceof ServiceError);
    await until(() => seen('WRITE_ERROR'), 'WRITE_ERROR for the failed write');
    assert.equal(lines.find((e) => e.name === 'WRITE_ERROR')!.space, 'ringcast.checkpoint.service');

    // a daemon killed
    daemons[2]!.proc.kill('SIGKILL');
    await until(() => seen('DAEMON_LEFT', (e) => field(e, 'daemon') === 'h3'), 'DAEMON_LEFT h3');
    await until(() => seen('CONFIGURATION_INSTALLED', (e) => (field(e, 'left') as string[] | undefined)?.includes('h3') === true), 'CONFIGURATION_INSTALLED without h3');
  });
});
