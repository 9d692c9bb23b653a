// A ring that delivers from inside submit, as a daemon alone in its ring does when it holds the
// token: the session server must still free a disconnected client's name (its KILL delivered
// before the session's end was recorded), keep its in-flight count right, and keep ring order.
import { strict as assert } from 'node:assert';
import type { ConfigurationChange } from '../../src/core/membership/types';
import type { ServiceCode } from '../../src/core/service';
import { SessionServer, type RingDelivery, type RingListener, type RingPort } from '../../src/session';
import { MessageType } from '../../src/wire/client';
import { summarize } from './groupsFixtures';
import { RawClient, connectTo, regularOf, sleep } from './sessionFixtures';

const { AGREED_MESS, JOIN_MESS, KILL_MESS } = MessageType;

class SyncPort implements RingPort {
  readonly daemonId = 1;
  readonly daemonName = 'solo';
  readonly daemonOrder = [1];
  readonly maxPayload = 1 << 20;
  readonly listeners = new Set<RingListener>();
  delivered = 0;
  current: ConfigurationChange = regularOf(5, 1, [1]);

  submit(service: ServiceCode, _groups: readonly string[], payload: Buffer): void {
    const m: RingDelivery = { origin: this.daemonId, service, payload };
    this.delivered++;
    for (const l of [...this.listeners]) l.deliver(m);
  }

  subscribe(listener: RingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  currentConfiguration(): ConfigurationChange {
    return this.current;
  }
}

async function next(c: RawClient): Promise<string> {
  return summarize([await c.frameBytes()])[0]!;
}

describe('session server on a ring that delivers synchronously', function () {
  it('frees the name of a session that disconnected, and counts nothing in flight after', async function () {
    const port = new SyncPort();
    const server = new SessionServer(port);
    for (let round = 0; round < 3; round++) {
      const x = connectTo(server);
      assert.equal(await x.connect('x'), '#x#solo', `round ${round}: the name is free again`);
      x.send(JOIN_MESS, ['g']);
      assert.equal(await next(x), 'CAUSED_BY_JOIN|REG_MEMB_MESS g [#x#solo] vs=*[#x#solo] #1');
      x.send(KILL_MESS, [x.privateGroup]);
      await x.closed();
      await sleep(5);
    }
    const report = server.statusReport('t');
    assert.equal(report.counters?.sessions?.inFlight, 0);
    assert.equal(report.sessions?.local, 0);
    assert.equal(report.groupCount, 0);
    await server.close();
  });

  it('a connection that just drops frees its name too; others keep their order', async function () {
    const port = new SyncPort();
    const server = new SessionServer(port);
    const a = connectTo(server);
    await a.connect('a');
    a.send(JOIN_MESS, ['g']);
    await next(a);
    const y = connectTo(server);
    await y.connect('y');
    y.send(JOIN_MESS, ['g']);
    assert.equal(await next(a), 'CAUSED_BY_JOIN|REG_MEMB_MESS g [#a#solo #y#solo] vs=*[#y#solo] #2');
    await next(y);
    for (let i = 0; i < 5; i++) y.send(AGREED_MESS, ['g'], `m${i}`);
    y.close();
    for (let i = 0; i < 5; i++) assert.equal(await next(a), `AGREED #y#solo -> g: m${i}`);
    assert.equal(await next(a), 'CAUSED_BY_DISCONNECT|REG_MEMB_MESS g [#a#solo] vs=*[#y#solo] #3');
    const again = connectTo(server);
    assert.equal(await again.connect('y'), '#y#solo');
    assert.equal(server.statusReport('t').counters?.sessions?.inFlight, 0);
    await server.close();
  });
});
