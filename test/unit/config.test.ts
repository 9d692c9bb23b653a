import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, RingcastError } from '../../src/errors';
import {
  DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_PAYLOAD_BUDGET, LAN_TIMEOUTS, WAN_TIMEOUTS, canonicalConfigText, daemonVid,
  findLocalHost, loadConfig, parseConfig, type ConfigOptions, type SpreadConfig,
} from '../../src/config';
import { tokenize } from '../../src/config/lexer';

/** The repository's file `name`, found upwards from here (this test also runs from dist/). */
function findUp(name: string, dir = __dirname): string {
  const candidate = join(dir, name);
  if (existsSync(candidate)) return candidate;
  assert.notEqual(dirname(dir), dir, `${name} not found`);
  return findUp(name, dirname(dir));
}
const EXAMPLE = findUp('spread.conf.example');

/** One loopback segment with one daemon, followed by `extra`. */
const single = (extra = ''): string => `Spread_Segment 127.0.0.1:4803 {\n  rc1 127.0.0.1\n}\n${extra}`;
const options = (extra: string): ConfigOptions => parseConfig(single(extra)).options;

/** Asserts parseConfig throws a ConfigError at exactly line:column. */
function assertConfigError(text: string, line: number, column: number, message: RegExp, hint?: RegExp): ConfigError {
  let caught: unknown;
  try {
    parseConfig(text, 'test.conf');
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, 'CONFIG');
  assert.equal(caught.file, 'test.conf');
  assert.deepEqual([caught.line, caught.column], [line, column], caught.message);
  assert.match(caught.message, message);
  assert.ok(caught.message.startsWith(`test.conf:${line}:${column}: `), caught.message);
  if (hint) assert.match(caught.hint ?? '', hint);
  return caught;
}

describe('config lexer', () => {
  it('splits words, quoted strings and punctuation, with 1-based line:column', () => {
    const tokens = tokenize('Window=160 # comment\r\n  "a b" {x;}\n', 'f');
    assert.deepEqual(
      tokens.map((t) => [t.kind, t.text, t.line, t.column]),
      [
        ['word', 'Window', 1, 1], ['=', '=', 1, 7], ['word', '160', 1, 8],
        ['string', 'a b', 2, 3], ['{', '{', 2, 9], ['word', 'x', 2, 10], [';', ';', 2, 11], ['}', '}', 2, 12],
        ['eof', '', 3, 1],
      ],
    );
  });

  it('keeps ports, IPv6 brackets and # inside quotes', () => {
    const tokens = tokenize("[ff02::1]:4803 10.0.0.1:5 'x#y' !EXIT", 'f');
    assert.deepEqual(tokens.map((t) => t.text), ['[ff02::1]:4803', '10.0.0.1:5', 'x#y', '!', 'EXIT', '']);
  });

  it('reports an unterminated string where it opens', () => {
    assert.throws(() => tokenize('EventLogFile = "abc\nWindow = 1', 'f'), (error: ConfigError) =>
      error instanceof ConfigError && error.line === 1 && error.column === 16 && /unterminated/.test(error.message));
  });
});

describe('config grammar', () => {
  it('parses the minimal loopback file', () => {
    const config = parseConfig(single());
    assert.equal(config.file, 'spread.conf');
    assert.deepEqual(config.segments, [{ index: 0, port: 4803, addresses: ['127.0.0.1'], unicast: true, hosts: [0] }]);
    assert.deepEqual(config.hosts, [{
      name: 'rc1', segment: 0, port: 4803, address: '127.0.0.1', daemonAddrs: ['127.0.0.1'],
      clientAddrs: ['127.0.0.1'], monitorAddrs: ['127.0.0.1'], id: daemonVid('rc1'),
    }]);
    assert.equal(config.multipath, 'none');
  });

  it('defaults the segment port to 4803 and takes an explicit one', () => {
    assert.equal(parseConfig('Spread_Segment 225.0.1.1 { d1 10.0.0.1 }').segments[0]!.port, 4803);
    assert.equal(parseConfig('Spread_Segment 225.0.1.1:5100 { d1 10.0.0.1 }').hosts[0]!.port, 5100);
  });

  it('accepts up to five segment addresses sharing the first one\'s port', () => {
    const config = parseConfig('Spread_Segment 225.0.1.1:4900 225.0.1.2 225.0.1.3 225.0.1.4 225.0.1.5 { d1 10.0.0.1 }');
    assert.deepEqual(config.segments[0]!.addresses, ['225.0.1.1', '225.0.1.2', '225.0.1.3', '225.0.1.4', '225.0.1.5']);
    assert.equal(config.segments[0]!.port, 4900);
    assert.equal(config.segments[0]!.unicast, false);
    assertConfigError('Spread_Segment 225.0.1.1 225.0.1.2 225.0.1.3 225.0.1.4 225.0.1.5 225.0.1.6 { d1 10.0.0.1 }',
      1, 66, /too many segment addresses/, /at most 5/);
    assertConfigError('Spread_Segment 225.0.1.1 225.0.1.2:4803 { d1 10.0.0.1 }', 1, 26, /only the first segment address may carry a port/);
  });

  it('reads the three daemon forms: NAME ADDRESS, NAME, ADDRESS', () => {
    const config = parseConfig(`Spread_Segment 225.0.1.1 {
      alpha 10.0.0.1
      10.0.0.2
      localhost
      "10.0.0.4"
    }`);
    assert.deepEqual(config.hosts.map((h) => [h.name, h.address]), [
      ['alpha', '10.0.0.1'], ['10.0.0.2', '10.0.0.2'], ['localhost', '127.0.0.1'], ['10.0.0.4', '10.0.0.4'],
    ]);
  });

  it('reads NAME and ADDRESS on separate lines as one daemon, and ; as a separator', () => {
    const joined = parseConfig('Spread_Segment 225.0.1.1 {\n a\n 10.0.0.1\n}');
    assert.deepEqual(joined.hosts.map((h) => [h.name, h.address]), [['a', '10.0.0.1']]);
    const separated = parseConfig('Spread_Segment 225.0.1.1 {\n "127.0.0.9";\n 10.0.0.1;; b 10.0.0.2; }');
    assert.deepEqual(separated.hosts.map((h) => [h.name, h.address]), [
      ['127.0.0.9', '127.0.0.9'], ['10.0.0.1', '10.0.0.1'], ['b', '10.0.0.2'],
    ]);
  });

  it('refuses a name it cannot resolve without DNS', () => {
    assertConfigError('Spread_Segment 225.0.1.1 {\n  d1 10.0.0.1\n  web1\n}', 3, 3, /cannot resolve daemon name 'web1'/, /web1 ADDRESS/);
  });

  it('keeps segments and daemons in file order, with segment indexes', () => {
    const config = parseConfig(`
      Spread_Segment 225.0.1.1:4803 { a 10.0.0.1  b 10.0.0.2 }
      Spread_Segment 225.0.2.1:4803 { c 10.0.1.1 }`);
    assert.deepEqual(config.hosts.map((h) => [h.name, h.segment]), [['a', 0], ['b', 0], ['c', 1]]);
    assert.deepEqual(config.segments.map((s) => s.hosts), [[0, 1], [2]]);
  });

  it('uses VirtualID as the id', () => {
    const config = parseConfig('Spread_Segment 225.0.1.1 { a 10.0.0.1 VirtualID = 42 ; b 10.0.0.2 }');
    assert.equal(config.hosts[0]!.virtualId, 42);
    assert.equal(config.hosts[0]!.id, 42);
    assert.equal(config.hosts[1]!.virtualId, undefined);
    assert.equal(config.hosts[1]!.id, daemonVid('b'));
    assertConfigError('Spread_Segment 225.0.1.1 { a 10.0.0.1 VirtualID = 0 }', 1, 51, /VirtualID between 1 and/);
  });

  it('reads interface blocks: D, C, M, no letter = all, 0.0.0.0 = any', () => {
    const config = parseConfig(`Spread_Segment 225.0.1.1 {
      a 10.0.0.1 { D 10.0.0.1 C 0.0.0.0 M 127.0.0.1 }
      b 10.0.0.2 { 10.0.0.2 }
      c 10.0.0.3 { D C 0.0.0.0 M 10.0.0.3 }
      d 10.0.0.4 { d 10.0.0.4 c 10.0.0.4 }
    }`);
    const [a, b, c, d] = config.hosts;
    assert.deepEqual([a!.daemonAddrs, a!.clientAddrs, a!.monitorAddrs], [['10.0.0.1'], ['0.0.0.0'], ['127.0.0.1']]);
    assert.deepEqual([b!.daemonAddrs, b!.clientAddrs, b!.monitorAddrs], [['10.0.0.2'], ['10.0.0.2'], ['10.0.0.2']]);
    assert.deepEqual([c!.daemonAddrs, c!.clientAddrs, c!.monitorAddrs], [['10.0.0.3'], ['0.0.0.0'], ['10.0.0.3']]);
    assert.deepEqual([d!.daemonAddrs, d!.clientAddrs, d!.monitorAddrs], [['10.0.0.4'], ['10.0.0.4'], []]);
  });

  it('listens for clients on loopback by default (monitors on any address), on its own address when loopback', () => {
    const config = parseConfig('Spread_Segment 225.0.1.1 { a 10.0.0.1 }\nSpread_Segment 127.0.0.1:4900 { b 127.0.0.2 }');
    assert.deepEqual(config.hosts.map((h) => [h.clientAddrs, h.monitorAddrs]), [
      [['127.0.0.1'], ['0.0.0.0']], [['127.0.0.2'], ['127.0.0.2']],
    ]);
    const block = parseConfig('Spread_Segment 225.0.1.1 { a 10.0.0.1 { D 10.0.0.1 M 10.0.0.1 } }').hosts[0]!;
    assert.deepEqual(block.clientAddrs, ['127.0.0.1'], 'an interface block without C entries');
    assert.deepEqual(parseConfig('Spread_Segment [ff02::1]:4803 { a fe80::1 }').hosts[0]!.clientAddrs, ['::1']);
  });

  it('requires the daemon\'s own address as a D entry of its interface block', () => {
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 { C 10.0.0.1 }\n}', 2, 14, /no D entry for its address 10\.0\.0\.1/, /D 10\.0\.0\.1/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 { }\n}', 2, 16, /empty interface block/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 { D }\n}', 2, 18, /expected an address after 'D'/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 { X 10.0.0.1 }\n}', 2, 16, /expected D, C, M or an address/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 { D 10.0.0.1\n', 3, 1, /missing '}' to close the interface block opened at line 2:14/);
  });

  describe('multipath', () => {
    const twoLinks = `Spread_Segment 225.0.1.1 {
      a 10.0.0.1 { D 10.0.0.1 D 10.1.0.1 C 0.0.0.0 }
      b 10.0.0.2 { D 10.1.0.2 D 10.0.0.2 }
    }`;

    it('makes several D lines links 0, 1, … in order; default active', () => {
      const config = parseConfig(twoLinks);
      assert.deepEqual(config.hosts.map((h) => h.daemonAddrs), [['10.0.0.1', '10.1.0.1'], ['10.1.0.2', '10.0.0.2']]);
      assert.equal(config.multipath, 'active');
      assert.equal(config.options.multipath, 'active');
    });

    it('takes Multipath = passive; stays none with one link', () => {
      assert.equal(parseConfig(`${twoLinks}\nMultipath = passive`).multipath, 'passive');
      assert.equal(parseConfig(single('Multipath = passive')).multipath, 'none');
      assertConfigError(`${twoLinks}\nMultipath = both`, 5, 13, /expected one of active, passive for Multipath/);
    });

    it('needs the same number of D addresses on every host', () => {
      assertConfigError(`Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 { D 10.0.0.1 D 10.1.0.1 }\n  b 10.0.0.2\n}`, 3, 3,
        /daemon 'b' has 1 D address\(es\) but 'a' has 2/, /one D address per network/);
    });

    it('substitutes the daemon address for D 0.0.0.0 and refuses duplicate links', () => {
      const config = parseConfig('Spread_Segment 225.0.1.1 { a 10.0.0.1 { D 0.0.0.0 D 10.1.0.1 } }');
      assert.deepEqual(config.hosts[0]!.daemonAddrs, ['10.0.0.1', '10.1.0.1']);
      assertConfigError('Spread_Segment 225.0.1.1 { a 10.0.0.1 { D 0.0.0.0 D 10.0.0.1 } }', 1, 51, /duplicate D address 10\.0\.0\.1/);
    });

    it('refuses a link address that another daemon has on any link', () => {
      assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 { D 10.0.0.1 D 10.1.0.1 }\n  b 10.0.0.2 { D 10.0.0.2 D 10.1.0.1 }\n}', 3, 3,
        /duplicate daemon address 10\.1\.0\.1:4803/, /daemon 'a'/);
      assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 { D 10.0.0.1 D 10.1.0.1 }\n  b 10.1.0.1 { D 10.1.0.1 D 10.0.0.2 }\n}', 3, 3,
        /duplicate daemon address 10\.1\.0\.1:4803/);
    });

    it('takes four links, and refuses a host with fewer', () => {
      const four = (h: string) => `Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 { D 10.0.0.1 D 10.1.0.1 D 10.2.0.1 D 10.3.0.1 }\n  ${h}\n}`;
      const config = parseConfig(four('b 10.0.0.2 { D 10.0.0.2 D 10.1.0.2 D 10.2.0.2 D 10.3.0.2 }'));
      assert.deepEqual(config.hosts[1]!.daemonAddrs, ['10.0.0.2', '10.1.0.2', '10.2.0.2', '10.3.0.2']);
      assert.equal(config.multipath, 'active');
      assertConfigError(four('b 10.0.0.2 { D 10.0.0.2 D 10.1.0.2 D 10.2.0.2 }'), 3, 3, /daemon 'b' has 3 D address\(es\) but 'a' has 4/);
    });
  });

  describe('unicast segments', () => {
    it('reads unicast and unicast:PORT as a unicast segment without addresses', () => {
      const config = parseConfig('Spread_Segment unicast { a 10.0.0.1 }\nSpread_Segment UNICAST:4900 { b 10.0.0.2 }');
      assert.deepEqual(config.segments.map((s) => [s.unicast, s.addresses, s.port]), [[true, [], 4803], [true, [], 4900]]);
    });

    it('treats loopback segments as unicast, others as multicast unless UnicastSegment', () => {
      const text = 'Spread_Segment 127.0.0.255 { a 127.0.0.1 }\nSpread_Segment 10.0.0.255:4900 { b 10.0.0.2 }';
      assert.deepEqual(parseConfig(text).segments.map((s) => s.unicast), [true, false]);
      assert.deepEqual(parseConfig(`${text}\nUnicastSegment = yes`).segments.map((s) => s.unicast), [true, true]);
    });

    it('refuses addresses after unicast, and bad ports', () => {
      assertConfigError('Spread_Segment unicast 225.0.1.1 { a 10.0.0.1 }', 1, 24, /unicast segment takes no segment addresses/);
      assertConfigError('Spread_Segment unicast:70000 { a 10.0.0.1 }', 1, 16, /port '70000' is out of range/, /1\.\.65534/);
      assertConfigError('Spread_Segment 225.0.1.1:65535 { a 10.0.0.1 }', 1, 16, /port '65535' is out of range/);
      assertConfigError('Spread_Segment unicast: { a 10.0.0.1 }', 1, 16, /port '' is out of range/);
    });
  });

  it('reads IPv6 segments and daemons in canonical form', () => {
    const config = parseConfig('Spread_Segment [FF02::0:1]:4803 { a 0::1 ; b fe80::2%eth0 ; 0:0::3 }');
    assert.deepEqual(config.segments[0]!.addresses, ['ff02::1']);
    assert.deepEqual(config.hosts.map((h) => [h.name, h.address]), [['a', '::1'], ['b', 'fe80::2%eth0'], ['0:0::3', '::3']]);
    assert.equal(config.options.activeIpVersion, 'IPv6');
    assert.deepEqual(config.hosts[2]!.clientAddrs, ['::1']);
    assert.equal(parseConfig('Spread_Segment [ff02::1]:4803 { localhost }').hosts[0]!.address, '::1');
  });

  it('refuses mixed address families', () => {
    assertConfigError('Spread_Segment 225.0.1.1 { a 10.0.0.1 b ::2 }', 1, 41, /daemon address ::2 is IPv6, but the first daemon's address makes this an IPv4/);
    assertConfigError('ActiveIPVersion = IPv6\nSpread_Segment 225.0.1.1 { a ::1 }', 2, 16, /segment address 225\.0\.1\.1 is IPv4, but ActiveIPVersion/);
  });

  it('refuses duplicate names, addresses, ids and overlapping ports', () => {
    assertConfigError('Spread_Segment 225.0.1.1 {\n a 10.0.0.1\n a 10.0.0.2\n}', 3, 2, /duplicate daemon name 'a'/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n a 10.0.0.1\n b 10.0.0.1\n}', 3, 2, /duplicate daemon address 10\.0\.0\.1:4803/, /daemon 'a'/);
    assertConfigError('Spread_Segment 225.0.1.1 { a 10.0.0.1 }\nSpread_Segment 225.0.2.1 { b 10.0.0.1 { D 10.0.0.1 } }', 2, 28,
      /duplicate daemon address 10\.0\.0\.1:4803/);
    assertConfigError('Spread_Segment 225.0.1.1 { a 10.0.0.1 VirtualID = 7 b 10.0.0.2 VirtualID = 7 }', 1, 53,
      /same id 7 as 'a'/, /VirtualID/);
    assertConfigError('Spread_Segment 127.0.0.1:4803 { a 127.0.0.1 }\nSpread_Segment 127.0.0.1:4804 { b 127.0.0.1 }', 2, 33,
      /needs ports 4804 and 4805, which overlap 'a' on ports 4803 and 4804/);
  });

  it('allows one address with ports two apart (Spread\'s one-machine test rings)', () => {
    const config = parseConfig(`Spread_Segment 127.0.0.1:14903 { d1 127.0.0.1 }
      Spread_Segment 127.0.0.1:14913 { d2 127.0.0.1 }
      Spread_Segment 127.0.0.1:14923 { d3 127.0.0.1 }`);
    assert.deepEqual(config.hosts.map((h) => [h.name, h.port, h.id]), [
      ['d1', 14903, 1552775919], ['d2', 14913, 348480928], ['d3', 14923, 4014350958],
    ]);
  });

  it('checks daemon names and addresses', () => {
    assertConfigError('Spread_Segment 225.0.1.1 { "" 10.0.0.1 }', 1, 28, /empty daemon name/);
    assertConfigError('Spread_Segment 225.0.1.1 { "a b" 10.0.0.1 }', 1, 28, /contains whitespace or '#'/);
    assertConfigError('Spread_Segment 225.0.1.1 { abcdefghijklmnopqrst 10.0.0.1 }', 1, 28, /longer than 19 bytes/);
    assertConfigError('Spread_Segment 225.0.1.1 { a 0.0.0.0 }', 1, 30, /cannot be the unspecified address/);
    assertConfigError('Spread_Segment 225.0.1.1 { a 225.0.1.2 }', 1, 30, /cannot be a multicast address/);
    assertConfigError('Spread_Segment 0.0.0.0 { a 10.0.0.1 }', 1, 16, /segment address cannot be the unspecified/);
    assert.equal(parseConfig('Spread_Segment 225.0.1.1 { abcdefghijklmnopqrs 10.0.0.1 }').hosts[0]!.name, 'abcdefghijklmnopqrs');
  });

  it('ignores comments and whitespace anywhere, and takes Name=value without spaces', () => {
    const config = parseConfig('#c\n\tSpread_Segment 225.0.1.1 # c\n{ # c\n a # c\n 10.0.0.1 } # c\nWindow=100#c\n');
    assert.deepEqual(config.hosts.map((h) => [h.name, h.address]), [['a', '10.0.0.1']]);
    assert.equal(config.options.window, 100);
  });
});

describe('config options', () => {
  it('sizes the default payload budget for the path MTU', () => {
    assert.equal(parseConfig('Spread_Segment 225.0.1.1 { a 10.0.0.1 }').options.payloadBudget, DEFAULT_PAYLOAD_BUDGET);
    assert.equal(options('').payloadBudget, 16000);
    assert.equal(options('PayloadBudget = 1400').payloadBudget, 1400);
  });

  it('applies every Spread and ringcast default', () => {
    const expected: ConfigOptions = {
      eventLogFile: null,
      eventTimeStamp: false,
      eventTimeStampFormat: null,
      eventPreciseTimeStamp: false,
      debugFlags: ['EXIT', 'PRINT'],
      eventPriority: 'INFO',
      dangerousMonitor: false,
      socketPortReuse: 'auto',
      runtimeDir: '/var/run/spread',
      daemonUser: 'spread',
      daemonGroup: 'spread',
      allowedAuthMethods: ['NULL'],
      requiredAuthMethods: [],
      accessControlPolicy: 'PERMIT',
      maxSessionMessages: 1000,
      activeIpVersion: 'IPv4',
      window: 160,
      personalWindow: 20,
      acceleratedWindow: 15,
      acceleratedRing: true,
      wideAreaNetwork: false,
      timeouts: { ...LAN_TIMEOUTS },
      excludeSegAddrsFromHash: false,
      ignoreMulticastJoinErrors: false,
      multipath: 'active',
      authKeyFile: null,
      encryption: false,
      payloadBudget: 16000, // every daemon on loopback: see the next test for Ethernet's 1400
      maxMessageSize: 4 * 1024 * 1024,
      clientSocketDir: '/tmp',
      unicastSegment: false,
      metricsAddress: null,
      clientSocketMode: 0o660,
      clientSocketOwner: null,
      clientSocketGroup: null,
      ipAllow: ['127.0.0.0/8', '::1/128'],
      maxSessions: 1000,
      maxGroupsPerSession: 1000,
      maxSessionBytes: 64 * 1024 * 1024,
      clientHandshakeTimeout: 10_000,
    };
    assert.deepEqual(options(''), expected);
    assert.equal(DEFAULT_PAYLOAD_BUDGET, 1400);
    assert.equal(DEFAULT_MAX_MESSAGE_SIZE, 4194304);
  });

  it('sets each option', () => {
    const cases: [string, Partial<ConfigOptions>][] = [
      ['EventLogFile = /var/log/spread-%h.log', { eventLogFile: '/var/log/spread-%h.log' }],
      ['EventLogFile = "/tmp/with space.log"', { eventLogFile: '/tmp/with space.log' }],
      ['EventTimeStamp', { eventTimeStamp: true }],
      ['EventTimeStamp = "[%H:%M]"', { eventTimeStamp: true, eventTimeStampFormat: '[%H:%M]' }],
      ['EventTimeStamp = no', { eventTimeStamp: false }],
      ['EventPreciseTimeStamp', { eventPreciseTimeStamp: true }],
      ['EventPriority = WARNING', { eventPriority: 'WARNING' }],
      ['EventPriority = pDEBUG', { eventPriority: 'pDEBUG' }],
      ['EventPriority = debug', { eventPriority: 'pDEBUG' }],
      ['DangerousMonitor = true', { dangerousMonitor: true }],
      ['SocketPortReuse = ON', { socketPortReuse: 'on' }],
      ['SocketPortReuse = off', { socketPortReuse: 'off' }],
      ['SocketPortReuse = Auto', { socketPortReuse: 'auto' }],
      ['RuntimeDir = /run/ringcast', { runtimeDir: '/run/ringcast' }],
      ['DaemonUser = rc', { daemonUser: 'rc' }],
      ['DaemonGroup = "rc"', { daemonGroup: 'rc' }],
      ['AllowedAuthMethods = "NULL IP"', { allowedAuthMethods: ['NULL', 'IP'], requiredAuthMethods: [] }],
      ['RequiredAuthMethods = "IP"', { allowedAuthMethods: [], requiredAuthMethods: ['IP'] }],
      ['AccessControlPolicy = PERMIT', { accessControlPolicy: 'PERMIT' }],
      ['MaxSessionMessages = 5000', { maxSessionMessages: 5000 }],
      ['ActiveIPVersion = IPv4', { activeIpVersion: 'IPv4' }],
      ['Window = 300', { window: 300 }],
      ['PersonalWindow = 30', { personalWindow: 30 }],
      ['AcceleratedRing = yes', { acceleratedRing: true }],
      ['AcceleratedWindow = 10', { acceleratedWindow: 10 }],
      ['WideAreaNetwork = on', { wideAreaNetwork: true, timeouts: { ...WAN_TIMEOUTS } }],
      ['ExcludeSegAddrsFromHash = TRUE', { excludeSegAddrsFromHash: true }],
      ['IgnoreMulticastJoinErrors = True', { ignoreMulticastJoinErrors: true }],
      ['Multipath = PASSIVE', { multipath: 'passive' }],
      ['AuthKeyFile = "/etc/ringcast/authkey"', { authKeyFile: '/etc/ringcast/authkey' }],
      ['AuthKeyFile = k\nEncryption = on', { authKeyFile: 'k', encryption: true }],
      ['PayloadBudget = 8900', { payloadBudget: 8900 }],
      ['MaxMessageSize = 1048576', { maxMessageSize: 1048576 }],
      ['ClientSocketDir = /run/ringcast', { clientSocketDir: '/run/ringcast' }],
      ['UnicastSegment = true', { unicastSegment: true }],
      ['ClientSocketMode = 0600', { clientSocketMode: 0o600 }],
      ['ClientSocketMode = 666', { clientSocketMode: 0o666 }],
      ['ClientSocketOwner = spread', { clientSocketOwner: 'spread' }],
      ['ClientSocketGroup = 1001', { clientSocketGroup: '1001' }],
      ['IpAllow = { 10.0.0.0/8 192.168.1.7 FE80::/10 10.0.0.0/8 }', { ipAllow: ['10.0.0.0/8', '192.168.1.7/32', 'fe80::/10'] }],
      ['IpAllow = { }', { ipAllow: [] }],
      ['MaxSessions = 50', { maxSessions: 50 }],
      ['MaxGroupsPerSession = 10', { maxGroupsPerSession: 10 }],
      ['MaxSessionBytes = 2000000', { maxSessionBytes: 2000000 }],
      ['ClientHandshakeTimeout = 500', { clientHandshakeTimeout: 500 }],
    ];
    const defaults = options('');
    for (const [line, changes] of cases) {
      assert.deepEqual(options(line), { ...defaults, ...changes }, line);
    }
  });

  it('sets each timeout', () => {
    const names = ['Token', 'Hurry', 'Alive', 'Join', 'Rep', 'Seg', 'Gather', 'Form', 'Lookup'] as const;
    for (const name of names) {
      const key = name.toLowerCase() as keyof typeof LAN_TIMEOUTS;
      assert.deepEqual(options(`${name}Timeout = 4321`).timeouts, { ...LAN_TIMEOUTS, [key]: 4321 }, name);
    }
  });

  it('reads booleans as true/false/yes/no/on/off in any case', () => {
    for (const word of ['true', 'YES', 'On']) assert.equal(options(`DangerousMonitor = ${word}`).dangerousMonitor, true, word);
    for (const word of ['false', 'No', 'OFF']) assert.equal(options(`DangerousMonitor = ${word}`).dangerousMonitor, false, word);
  });

  it('computes DebugFlags as Spread: from empty, names add, !NAME removes, NONE adds nothing', () => {
    assert.deepEqual(options('DebugFlags = { PRINT }').debugFlags, ['PRINT']);
    assert.deepEqual(options('DebugFlags = { }').debugFlags, []);
    assert.deepEqual(options('DebugFlags = { NONE }').debugFlags, []);
    assert.deepEqual(options('DebugFlags = { ALL NONE }').debugFlags.length, 17);
    const allButExit = options('DebugFlags = { ALL !EXIT ! MEMORY }').debugFlags;
    assert.equal(allButExit.length, 15);
    assert.ok(!allButExit.includes('EXIT') && !allButExit.includes('MEMORY'));
    assert.deepEqual(options('DebugFlags = { EXIT PRINT !ALL CONFIGURATION }').debugFlags, ['CONFIGURATION']);
  });

  it('uses WAN timeouts with several segments unless WideAreaNetwork = false', () => {
    const two = 'Spread_Segment 225.0.1.1 { a 10.0.0.1 }\nSpread_Segment 225.0.2.1 { b 10.0.1.1 }\n';
    assert.equal(parseConfig(two).options.wideAreaNetwork, true);
    assert.deepEqual(parseConfig(two).options.timeouts, WAN_TIMEOUTS);
    assert.deepEqual(parseConfig(`${two}WideAreaNetwork = false`).options.timeouts, LAN_TIMEOUTS);
  });

  it('fills timeouts left out with the LAN defaults, even on a WAN', () => {
    const two = 'Spread_Segment 225.0.1.1 { a 10.0.0.1 }\nSpread_Segment 225.0.2.1 { b 10.0.1.1 }\n';
    assert.deepEqual(parseConfig(`${two}TokenTimeout = 9000\nLookupTimeout = 60000`).options.timeouts,
      { ...LAN_TIMEOUTS, token: 9000, lookup: 60000 });
  });

  it('lets a later line win', () => {
    assert.equal(options('Window = 100\nWindow = 200').window, 200);
  });

  it('places options before, between and after segments', () => {
    const config = parseConfig('Window = 99\nSpread_Segment 225.0.1.1 { a 10.0.0.1 }\nPersonalWindow = 9\nSpread_Segment 225.0.2.1 { b 10.0.1.1 }\nHurryTimeout = 7');
    assert.deepEqual([config.options.window, config.options.personalWindow, config.options.timeouts.hurry], [99, 9, 7]);
  });

  it('checks windows against each other', () => {
    assertConfigError(single('Window = 10\nPersonalWindow = 20'), 5, 1, /PersonalWindow \(20\) is larger than Window \(10\)/);
    assertConfigError(single('Window = 10'), 4, 1, /PersonalWindow \(20\) is larger than Window \(10\)/);
    assertConfigError(single('AcceleratedRing = true\nAcceleratedWindow = 25'), 5, 1, /AcceleratedWindow \(25\) is larger than PersonalWindow/);
    assert.equal(options('AcceleratedWindow = 25').acceleratedWindow, 25); // only checked with AcceleratedRing, as Spread
  });

  it('checks value ranges', () => {
    assertConfigError(single('PayloadBudget = 100'), 4, 17, /PayloadBudget must be between 512 and 65000, found 100/);
    assertConfigError(single('MaxMessageSize = 1048575'), 4, 18, /MaxMessageSize must be between 1048576 and/);
    assertConfigError(single('Window = 0'), 4, 10, /Window must be between 1 and/);
    assertConfigError(single('TokenTimeout = 0'), 4, 16, /TokenTimeout must be between 1 and/);
    assertConfigError(single('AccessControlPolicy = DENY'), 4, 23, /expected one of PERMIT for AccessControlPolicy/);
    assertConfigError(single('ActiveIPVersion = IPv5'), 4, 19, /expected one of IPv4, IPv6/);
    assertConfigError(single('RuntimeDir = ""'), 4, 14, /expected a non-empty string for RuntimeDir/);
    assertConfigError(single('AllowedAuthMethods = "  "'), 4, 22, /expected a list of authentication methods/);
    assertConfigError(single('SocketPortReuse = sometimes'), 4, 19, /expected ON, OFF or AUTO/);
    assertConfigError(single('EventPreciseTimeStamp = "x"'), 4, 25, /expected true or false for EventPreciseTimeStamp/);
    assertConfigError(single('ClientSocketMode = 0999'), 4, 20, /expected octal permission bits such as 0660 for ClientSocketMode/);
    assertConfigError(single('ClientSocketMode = 4755'), 4, 20, /expected octal permission bits/);
    assertConfigError(single('IpAllow = 10.0.0.0/8'), 4, 11, /expected '\{' after IpAllow =/);
    assertConfigError(single('IpAllow = { 10.0.0.0/33 }'), 4, 13, /expected an address or ADDRESS\/PREFIX in IpAllow, found '10\.0\.0\.0\/33'/);
    assertConfigError(single('IpAllow = { 10.0.0.0/8'), 4, 23, /missing '\}' to close the IpAllow list/);
    assertConfigError(single('MaxSessions = 0'), 4, 15, /MaxSessions must be between 1 and/);
  });
});

describe('config errors', () => {
  it('names an unknown option and suggests the nearest', () => {
    const error = assertConfigError(single('TokenTimout = 100'), 4, 1, /unknown option 'TokenTimout'/, /did you mean TokenTimeout\?/);
    assert.equal(error.message, "test.conf:4:1: unknown option 'TokenTimout' (did you mean TokenTimeout?)");
    assertConfigError(single('  window = 100'), 4, 3, /unknown option 'window'/, /did you mean Window\? Names are case-sensitive/);
    assertConfigError('spread_segment 225.0.1.1 { a 10.0.0.1 }', 1, 1, /unknown option 'spread_segment'/, /Spread_Segment/);
    assertConfigError(single('Frobnicate = 1'), 4, 1, /unknown option 'Frobnicate'/, /expected Spread_Segment or an option/);
    assertConfigError(single('Window = 160 200'), 4, 14, /unexpected '200'/);
    assertConfigError(single('}'), 4, 1, /unexpected '}'/);
  });

  it('says what was expected after an option name', () => {
    assertConfigError(single('Window 160'), 4, 8, /expected '=' after Window, found '160'/, /Window = 160/);
    assertConfigError(single('Window = lots'), 4, 10, /expected a whole number for Window, found 'lots'/);
    assertConfigError(single('Window = "160"'), 4, 10, /expected a whole number for Window/);
    assertConfigError(single('DangerousMonitor = maybe'), 4, 20, /expected true or false/);
    assertConfigError(single('Window ='), 4, 9, /expected a value for Window, found end of file/);
    assertConfigError(single('RuntimeDir =\nWindow = 5'), 5, 1, /expected a value for RuntimeDir, found 'Window'/);
    assert.equal(options('Window = 100;\nPersonalWindow = 10;').window, 100);
    assertConfigError(single('DebugFlags = PRINT'), 4, 14, /expected '\{' after DebugFlags =/);
    assertConfigError(single('DebugFlags = { PRINT EXT }'), 4, 22, /unknown debug flag 'EXT'/, /did you mean EXIT\?/);
    assertConfigError(single('DebugFlags = { PRINT'), 4, 21, /missing '}' to close the DebugFlags list opened at line 4:14/);
  });

  it('points at a segment left open', () => {
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1\n', 3, 1, /missing '}' to close the segment opened at line 1:26/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1\nWindow = 10\n', 3, 1,
      /missing '}' to close the segment opened at line 1:26/, /found 'Window' where a daemon was expected/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1\nSpread_Segment 225.0.2.1 { b 10.0.1.1 }', 3, 1, /missing '}'/);
  });

  it('explains malformed segment and daemon lines', () => {
    assertConfigError('Spread_Segment { a 10.0.0.1 }', 1, 16, /expected a segment address after Spread_Segment, found '\{'/, /unicast:4803/);
    assertConfigError('Spread_Segment multicast { a 10.0.0.1 }', 1, 16, /'multicast' is not a segment address/);
    assertConfigError('Spread_Segment 225.0.1.1 a 10.0.0.1 }', 1, 26, /expected '\{' to open the segment's daemon list, found 'a'/);
    assertConfigError('Spread_Segment 225.0.1.1', 1, 25, /expected '\{' to open the segment's daemon list, found end of file/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1:4803\n}', 2, 5, /a daemon address takes no port/, /Spread_Segment ADDRESS:PORT/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.300\n}', 2, 5, /'10\.0\.0\.300' is not a valid IP address/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 VirtualID 5\n}', 2, 24, /expected '=' after VirtualID/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 virtualid = 5\n}', 2, 24, /unexpected '='/, /did you mean VirtualID\?/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  VirtualID = 5\n}', 2, 3, /VirtualID must follow a daemon name or address/);
    assertConfigError('Spread_Segment 225.0.1.1 {\n  a 10.0.0.1 = \n}', 2, 14, /unexpected '=' in a segment/);
    assertConfigError('Spread_Segment 225.0.1.1 { }', 1, 1, /segment has no daemons/);
  });

  it('reports a file without segments at its end', () => {
    assertConfigError('# only a comment\nWindow = 100\n', 3, 1, /no Spread_Segment in the file/);
    assertConfigError('', 1, 1, /no Spread_Segment in the file/);
  });

  it('names the file it was given', () => {
    assert.throws(() => parseConfig('Bogus = 1', '/etc/ringcast.conf'), /^ConfigError: \/etc\/ringcast\.conf:1:1: unknown option 'Bogus'/);
    assert.throws(() => parseConfig('Bogus = 1'), /spread\.conf:1:1:/);
  });
});

describe('config ids and hash', () => {
  it('reproduces Spread\'s automatic daemon ids', () => {
    assert.equal(daemonVid('sp1'), 4254043461);
    assert.equal(daemonVid('sp1'), 0xfd8f8d45);
    assert.equal(daemonVid('d1'), 1552775919);
    assert.equal(daemonVid('d2'), 348480928);
    assert.equal(daemonVid('d3'), 4014350958);
  });

  it('hashes bytes >= 0x80 as signed chars, as Spread on x86', () => {
    // Spread adds `const char` values: a byte >= 0x80 counts negative, unlike an unsigned reading.
    const id = daemonVid('é');
    assert.ok(Number.isInteger(id) && id > 0 && id < 2 ** 32);
    assert.notEqual(id, daemonVidUnsigned('é'));
  });

  const base = `Spread_Segment 225.0.1.1:4803 {
    a 10.0.0.1
    b 10.0.0.2
  }
  Spread_Segment 225.0.2.1:4803 {
    c 10.0.1.1
  }`;
  const hashOf = (text: string): number => parseConfig(text).configHash;

  it('is a u32 that depends only on segments and daemons', () => {
    const hash = hashOf(base);
    assert.ok(Number.isInteger(hash) && hash >= 0 && hash < 2 ** 32);
    const equivalent = [
      `# comment\n${base}\n# trailing`,
      base.replace(/\n\s*/g, ' ').replace('a 10.0.0.1', 'a 10.0.0.1;'),
      `${base}\nWindow = 100\nTokenTimeout = 900\nDebugFlags = { ALL }\nMultipath = passive\nPayloadBudget = 9000`,
      base.replace('a 10.0.0.1', 'a 10.0.0.1 { D 10.0.0.1 C 0.0.0.0 }'),
      base.replace('225.0.1.1:4803', '225.0.1.1'),
    ];
    for (const text of equivalent) assert.equal(hashOf(text), hash, text);
  });

  it('changes with names, addresses, ports, order, ids and unicast-ness', () => {
    const hash = hashOf(base);
    const different = [
      base.replace('a 10.0.0.1', 'x 10.0.0.1'),
      base.replace('a 10.0.0.1', 'a 10.0.0.9'),
      base.replace('225.0.1.1:4803', '225.0.1.1:4900'),
      base.replace('225.0.1.1:4803', '225.0.1.9:4803'),
      base.replace('a 10.0.0.1\n    b 10.0.0.2', 'b 10.0.0.2\n    a 10.0.0.1'),
      base.replace('a 10.0.0.1', 'a 10.0.0.1 VirtualID = 5'),
      base.replace('a 10.0.0.1', 'a 10.0.0.1 { D 10.0.0.1 D 10.9.0.1 }').replace('b 10.0.0.2', 'b 10.0.0.2 { D 10.0.0.2 D 10.9.0.2 }')
        .replace('c 10.0.1.1', 'c 10.0.1.1 { D 10.0.1.1 D 10.9.1.1 }'),
      base.replace('225.0.1.1:4803', 'unicast:4803'),
      `${base}\nUnicastSegment = true`,
    ];
    const hashes = new Set([hash, ...different.map(hashOf)]);
    assert.equal(hashes.size, different.length + 1);
  });

  it('canonicalises IPv6 spelling, and leaves segment addresses out with ExcludeSegAddrsFromHash', () => {
    assert.equal(hashOf('Spread_Segment [ff02::1]:4803 { a ::1 }'), hashOf('Spread_Segment [FF02:0::1]:4803 { a 0::1 }'));
    const excluded = (segmentAddress: string): number =>
      hashOf(`Spread_Segment ${segmentAddress}:4803 { a 10.0.0.1 }\nExcludeSegAddrsFromHash = true`);
    assert.equal(excluded('225.0.1.1'), excluded('10.0.0.255'));
  });

  it('hashes a documented canonical text, pinned so that a change is deliberate', () => {
    const config = parseConfig(base);
    assert.equal(canonicalConfigText(config.segments, config.hosts, false), [
      'ringcast-config 1',
      'segment 4803 multicast 225.0.1.1',
      `daemon 'a' ${daemonVid('a')} 10.0.0.1`,
      `daemon 'b' ${daemonVid('b')} 10.0.0.2`,
      'segment 4803 multicast 225.0.2.1',
      `daemon 'c' ${daemonVid('c')} 10.0.1.1`,
      '',
    ].join('\n'));
    assert.equal(config.configHash, fnv1a(canonicalConfigText(config.segments, config.hosts, false)));
    assert.equal(parseConfig(single()).configHash, PINNED_SINGLE_HASH);
  });
});

describe('findLocalHost', () => {
  const config = parseConfig(`Spread_Segment 225.0.1.1 { a 10.0.0.1 ; b 10.0.0.2 }
    Spread_Segment 127.0.0.1:4900 { l1 127.0.0.1 ; l2 127.0.0.2 }`);
  const remote = parseConfig('Spread_Segment 225.0.1.1 { a 10.0.0.1 ; b 10.0.0.2 }');

  it('picks by name', () => {
    assert.equal(findLocalHost(config, 'b').name, 'b');
    assert.equal(findLocalHost(config, 'l2', []).name, 'l2');
  });

  it('picks the one entry whose address is local', () => {
    assert.equal(findLocalHost(remote, undefined, ['192.168.0.5', '10.0.0.2']).name, 'b');
  });

  it('errors with code CONFIG when the name is unknown, or none or several are local', () => {
    const isConfigError = (pattern: RegExp) => (error: unknown): boolean =>
      error instanceof RingcastError && error.code === 'CONFIG' && pattern.test(error.message);
    assert.throws(() => findLocalHost(config, 'zz'), isConfigError(/no daemon named 'zz' \(daemons: a, b, l1, l2\)/));
    assert.throws(() => findLocalHost(remote, undefined, ['192.168.0.5']), isConfigError(/no daemon's address is an address of this machine/));
    assert.throws(() => findLocalHost(remote, undefined, ['10.0.0.1', '10.0.0.2']), isConfigError(/several daemons have local addresses \(a, b\)/));
    assert.throws(() => findLocalHost(config, undefined, []), isConfigError(/several daemons .*\(l1, l2\)/));
  });

  it('counts loopback addresses as local, using os.networkInterfaces() by default', () => {
    assert.equal(findLocalHost(parseConfig(single())).name, 'rc1');
  });
});

describe('loadConfig and spread.conf.example', () => {
  it('loads the example as is: one loopback daemon rc1', () => {
    const config: SpreadConfig = loadConfig(EXAMPLE);
    assert.equal(config.file, EXAMPLE);
    assert.deepEqual(config.hosts.map((h) => [h.name, h.address, h.port]), [['rc1', '127.0.0.1', 4803]]);
    assert.equal(config.segments[0]!.unicast, true);
  });

  it('has commented examples that parse when uncommented', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const blocks = [...text.matchAll(/^# (Spread_Segment[^\n]*\n(?:#[^\n]*\n)*?# \}\n)/gm)].map((m) => m[1]!.replace(/^# ?/gm, ''));
    assert.ok(blocks.length >= 5, `found ${blocks.length} blocks`);
    for (const block of blocks) assert.doesNotThrow(() => parseConfig(block), block);
    // Every commented option line, together, on top of the live file.
    const optionLines = text.split('\n').filter((line) => /^# [A-Z][A-Za-z]+\s*(=|#|$)/.test(line)).map((line) => line.slice(2));
    assert.ok(optionLines.length >= 35, `found ${optionLines.length} option lines`);
    assert.doesNotThrow(() => parseConfig(`${text}\n${optionLines.join('\n')}\nPersonalWindow = 20\n`));
  });

  it('reports an unreadable file as a CONFIG error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringcast-config-'));
    try {
      assert.throws(() => loadConfig(join(dir, 'missing.conf')), (error: unknown) =>
        error instanceof RingcastError && !(error instanceof ConfigError) && error.code === 'CONFIG' && /cannot read/.test(error.message));
      const bad = join(dir, 'bad.conf');
      writeFileSync(bad, 'Spread_Segment 225.0.1.1 {\n  a\n}\n');
      assert.throws(() => loadConfig(bad), (error: unknown) =>
        error instanceof ConfigError && error.file === bad && error.line === 2 && error.column === 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- helpers

/** FNV-1a 32 written out independently of the implementation. */
function fnv1a(text: string): number {
  let hash = 2166136261;
  for (const byte of Buffer.from(text, 'utf8')) hash = Math.imul(hash ^ byte, 16777619) >>> 0;
  return hash;
}

/** One-at-a-time with unsigned bytes: differs from Spread's for non-ASCII names. */
function daemonVidUnsigned(name: string): number {
  const bytes = Buffer.from(`${name}\0`, 'utf8');
  let hash = bytes.length;
  for (const byte of bytes) {
    hash = (hash + byte) >>> 0;
    hash = (hash + (hash << 10)) >>> 0;
    hash = (hash ^ (hash >>> 6)) >>> 0;
  }
  hash = (hash + (hash << 3)) >>> 0;
  hash = (hash ^ (hash >>> 11)) >>> 0;
  return (hash + (hash << 15)) >>> 0;
}

const PINNED_SINGLE_HASH = 1426005771;
