// The daemon's event log (src/daemon/log.ts): EventPriority filtering, the time stamp options,
// and EventLogFile with %h.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../src/config';
import type { EventPriority } from '../../src/config/types';
import { DaemonLog, SPREAD_TIMESTAMP_FORMAT, logFilePath, logOptionsFromConfig, type LogOptions } from '../../src/daemon/log';
import { strftime } from '../../src/daemon/timeFormat';
import { RingcastError } from '../../src/errors';

// 2024-03-05 07:08:09.012345 UTC, in microseconds.
const AT = Date.UTC(2024, 2, 5, 7, 8, 9, 12) * 1000 + 345;
const DEFAULTS: LogOptions = { file: null, priority: 'INFO', timeStampFormat: null, precise: false };

function capture(options: Partial<LogOptions> = {}): { log: DaemonLog; lines: string[] } {
  const lines: string[] = [];
  const log = new DaemonLog('d1', { ...DEFAULTS, ...options }, { write: (l) => lines.push(l), nowMicros: () => AT });
  return { log, lines };
}

const pad = (n: number) => String(n).padStart(2, '0');

describe('daemon log', () => {
  it('prefixes the text with an ISO 8601 UTC stamp, the level and the daemon name', () => {
    const { log, lines } = capture();
    log.info('regular configuration 17.d1: d1 d2');
    assert.deepEqual(lines, ['2024-03-05T07:08:09.012Z INFO d1: regular configuration 17.d1: d1 d2\n']);
  });

  it('drops lines below EventPriority and always writes FATAL', () => {
    const levels: EventPriority[] = ['pDEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'FATAL'];
    const written = (priority: EventPriority): string[] => {
      const { log, lines } = capture({ priority, timeStampFormat: '' });
      for (const level of levels) log.log(level, 'x');
      return lines.map((l) => l.split(' ')[0]!);
    };
    assert.deepEqual(written('pDEBUG'), ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'FATAL']);
    assert.deepEqual(written('INFO'), ['INFO', 'WARNING', 'ERROR', 'CRITICAL', 'FATAL']);
    assert.deepEqual(written('WARNING'), ['WARNING', 'ERROR', 'CRITICAL', 'FATAL']);
    assert.deepEqual(written('FATAL'), ['FATAL']);
    const { log } = capture({ priority: 'ERROR' });
    assert.equal(log.enabled('WARNING'), false);
    assert.equal(log.enabled('CRITICAL'), true);
  });

  it('writes microseconds with EventPreciseTimeStamp', () => {
    const { log, lines } = capture({ precise: true });
    log.warning('w');
    assert.equal(lines[0], '2024-03-05T07:08:09.012345Z WARNING d1: w\n');
  });

  it("takes Spread's local-time format with EventTimeStamp, a given one, or none", () => {
    const local = new Date(Math.floor(AT / 1000));
    const spread = `${pad(local.getMonth() + 1)}/${pad(local.getDate())}/${pad(local.getFullYear() % 100)} ${pad(local.getHours())}:${pad(local.getMinutes())}:${pad(local.getSeconds())}`;
    const stamped = (text: string) => {
      const config = parseConfig(`Spread_Segment 127.0.0.1:4803 {\n d1 127.0.0.1\n}\n${text}`);
      const { log, lines } = capture(logOptionsFromConfig(config.options));
      log.info('hello');
      return lines[0];
    };
    assert.equal(stamped('EventTimeStamp'), `${spread} INFO d1: hello\n`);
    assert.equal(stamped('EventTimeStamp\nEventPreciseTimeStamp'), `${spread}.012345 INFO d1: hello\n`);
    assert.equal(stamped('EventTimeStamp = "[%Y %H]"'), `[${local.getFullYear()} ${pad(local.getHours())}] INFO d1: hello\n`);
    assert.equal(stamped('EventTimeStamp = ""'), 'INFO d1: hello\n');
    assert.equal(stamped(''), '2024-03-05T07:08:09.012Z INFO d1: hello\n');
    assert.equal(logOptionsFromConfig(parseConfig('Spread_Segment 127.0.0.1:4803 {\n d1 127.0.0.1\n}\nEventTimeStamp').options).timeStampFormat, SPREAD_TIMESTAMP_FORMAT);
  });

  it('formats strftime conversions, keeping unknown ones as written', () => {
    const d = new Date(2024, 0, 9, 15, 4, 5); // local time
    assert.equal(strftime('%a %A %b %B %d %e %H %I %j %m %M %p %S %y %Y %F %T %D %% %Q', d),
      'Tue Tuesday Jan January 09  9 15 03 009 01 04 PM 05 24 2024 2024-01-09 15:04:05 01/09/24 % %Q');
  });

  it('appends to EventLogFile with %h replaced by the daemon name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-log-'));
    try {
      const file = path.join(dir, 'spread-%h.log');
      assert.equal(logFilePath(file, 'd7'), path.join(dir, 'spread-d7.log'));
      for (const text of ['first', 'second']) {
        const log = new DaemonLog('d7', { ...DEFAULTS, file, timeStampFormat: '' });
        log.info(text);
        log.close();
        log.info('after close: dropped');
      }
      assert.equal(fs.readFileSync(path.join(dir, 'spread-d7.log'), 'utf8'), 'INFO d7: first\nINFO d7: second\n');
      assert.throws(
        () => new DaemonLog('d7', { ...DEFAULTS, file: path.join(dir, 'missing', '%h.log') }),
        (e: unknown) => e instanceof RingcastError && e.code === 'LOG_FILE' && /missing\/d7\.log/.test(e.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
