// spread.conf's MetricsAddress option and where the endpoint then listens.
import { strict as assert } from 'node:assert';
import { parseConfig } from '../../src/config';
import { metricsListenAddress } from '../../src/daemon/metricsServer';
import { ConfigError } from '../../src/errors';

const single = (extra: string): string => `Spread_Segment 127.0.0.1:4803 {\n  rc1 127.0.0.1\n}\n${extra}`;
const metricsAddress = (extra: string) => parseConfig(single(extra)).options.metricsAddress;

function configError(text: string): ConfigError {
  try {
    parseConfig(text, 'test.conf');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail('no ConfigError');
}

describe('config: MetricsAddress', () => {
  it('is off by default', () => {
    assert.equal(metricsAddress(''), null);
  });

  it('takes ADDRESS:PORT, [IPv6]:PORT or a port alone', () => {
    assert.deepEqual(metricsAddress('MetricsAddress = 127.0.0.1:9464'), { address: '127.0.0.1', port: 9464 });
    assert.deepEqual(metricsAddress('MetricsAddress = 0.0.0.0:80'), { address: '0.0.0.0', port: 80 });
    assert.deepEqual(metricsAddress('MetricsAddress = [0::1]:9464'), { address: '::1', port: 9464 });
    assert.deepEqual(metricsAddress('MetricsAddress = 9464'), { port: 9464 });
    assert.deepEqual(metricsAddress('MetricsAddress = 0'), { port: 0 });
    assert.deepEqual(metricsAddress('MetricsAddress = "10.0.0.1:9100"'), { address: '10.0.0.1', port: 9100 });
  });

  it('refuses names, addresses without a port and ports out of range, at the value', () => {
    for (const [value, message] of [
      ['localhost:9464', /expected ADDRESS:PORT or a port for MetricsAddress, found 'localhost:9464'/],
      ['127.0.0.1', /expected ADDRESS:PORT or a port for MetricsAddress/],
      ['127.0.0.1:65536', /MetricsAddress port must be between 0 and 65535, found 65536/],
      ['99999', /MetricsAddress port must be between 0 and 65535, found 99999/],
    ] as const) {
      const e = configError(single(`MetricsAddress = ${value}`));
      assert.deepEqual([e.file, e.line, e.column], ['test.conf', 4, 18], e.message);
      assert.match(e.message, message);
      assert.match(e.message, /e\.g\. MetricsAddress = 127\.0\.0\.1:9464/);
    }
    const missing = configError(single('MetricsAddress =\nWindow = 10'));
    assert.deepEqual([missing.line, missing.column], [5, 1]);
  });

  it('listens on loopback when only a port is given: the daemon\'s own 127.x address, else 127.0.0.1 or ::1', () => {
    assert.deepEqual(metricsListenAddress({ port: 9464 }, { address: '127.0.0.2' }), { address: '127.0.0.2', port: 9464 });
    assert.deepEqual(metricsListenAddress({ port: 9464 }, { address: '10.0.0.5' }), { address: '127.0.0.1', port: 9464 });
    assert.deepEqual(metricsListenAddress({ port: 9464 }, { address: 'fd00::5' }), { address: '::1', port: 9464 });
    assert.deepEqual(metricsListenAddress({ address: '0.0.0.0', port: 1 }, { address: '10.0.0.5' }), { address: '0.0.0.0', port: 1 });
  });
});
