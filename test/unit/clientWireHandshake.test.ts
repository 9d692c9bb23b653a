// Handshake codecs: connect message, auth list and choice, accept, reject — hand-built cases,
// malformed input, and a replay of Spread 5.0.1's s4_handshake_probes from the daemon's side.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  FrameReader,
  acceptCarriesPatch,
  decodeAccept,
  decodeAuthChoice,
  decodeAuthList,
  decodeConnect,
  encodeAccept,
  encodeAuthChoice,
  encodeAuthList,
  encodeConnect,
  encodeReject,
  expectsAuthExchange,
  faultToError,
  generatedPrivateName,
  isLegalGroupName,
  isLegalPrivateName,
  privateGroupName,
  sendsPatchByte,
  splitPrivateGroup,
  versionCode,
  type DecodeResult,
} from '../../src/wire/client';
import { RingcastError, SpreadError } from '../../src/errors';
import { findVectors, loadProbes, readHex } from './clientWireFixtures';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function ok<T>(r: DecodeResult<T>): { value: T; length: number } {
  if (r.status !== 'ok') assert.fail(`expected ok, got ${JSON.stringify(r)}`);
  return r;
}

function fault<T>(r: DecodeResult<T>, code: string, reason?: string): void {
  if (r.status !== 'error') assert.fail(`expected ${code}, got ${JSON.stringify(r)}`);
  assert.equal(r.code, code);
  if (reason) assert.equal(r.reason, reason);
}

describe('client wire: connect message', () => {
  it('encodes 5.0.1 with membership, priority and name as spuser does', () => {
    assert.equal(encodeConnect({ membership: true, name: 'alice' }).toString('hex'), '0500010105616c696365');
    assert.equal(encodeConnect({ membership: false, name: 'probe2' }).toString('hex'), '050001000670726f626532');
    assert.equal(encodeConnect({ membership: true, priority: 1, name: 'probe3' }).toString('hex'), '050001110670726f626533');
    assert.equal(encodeConnect({ membership: true, name: '' }).toString('hex'), '0500010100');
  });

  it('sends no patch byte for libraries up to 3.14 (the two-byte rule)', () => {
    assert.equal(sendsPatchByte(3, 14), false);
    assert.equal(sendsPatchByte(3, 15), true);
    assert.equal(encodeConnect({ version: { major: 3, minor: 14, patch: 9 }, membership: true, name: 'v314' }).toString('hex'), '030e010476333134');
    assert.equal(encodeConnect({ version: { major: 3, minor: 15, patch: 0 }, membership: true, name: 'v315' }).toString('hex'), '030f00010476333135');
  });

  it('decodes incrementally: incomplete until every byte is in, then the request', () => {
    const bytes = hex('0500010105616c696365');
    const needs: number[] = [];
    for (let n = 0; n < bytes.length; n++) {
      const r = decodeConnect(bytes.subarray(0, n));
      assert.equal(r.status, 'incomplete', `prefix ${n}`);
      if (r.status === 'incomplete') {
        assert.ok(r.needed > n, `needed ${r.needed} beyond prefix ${n}`);
        needs.push(r.needed);
      }
    }
    assert.deepEqual([...new Set(needs)], [2, 3, 5, 10]);
    const r = ok(decodeConnect(Buffer.concat([bytes, hex('4e554c4c')])));
    assert.equal(r.length, 10, 'bytes after the connect message are not taken');
    assert.deepEqual(r.value, {
      version: { major: 5, minor: 0, patch: 1 },
      versionCode: 50001,
      patchSent: true,
      flags: 1,
      membership: true,
      priority: 0,
      name: 'alice',
    });
  });

  it('decodes from an offset', () => {
    const r = ok(decodeConnect(hex('ffff 0500011103626f62'), 2));
    assert.equal(r.value.name, 'bob');
    assert.equal(r.value.priority, 1);
    assert.equal(r.length, 8);
  });

  it('rejects versions below 3.1.0 with REJECT_VERSION as soon as the version bytes are in', () => {
    fault(decodeConnect(hex('0300')), 'REJECT_VERSION', 'VERSION_TOO_OLD');
    fault(decodeConnect(hex('0200')), 'REJECT_VERSION');
    ok(decodeConnect(hex('0301 01 00')));
    // A version byte ≥ 0x80 is negative to Spread's signed char: rejected.
    fault(decodeConnect(hex('c800')), 'REJECT_VERSION');
    assert.equal(versionCode(0xc8, 0, 0), -560000);
  });

  it('reads 3.14 as two version bytes and 3.15 as three', () => {
    const v314 = ok(decodeConnect(hex('030e010476333134')));
    assert.equal(v314.value.patchSent, false);
    assert.equal(v314.value.versionCode, 31400);
    assert.equal(v314.value.name, 'v314');
    assert.equal(expectsAuthExchange(v314.value.versionCode), false);
    assert.equal(acceptCarriesPatch(v314.value.versionCode), false);
    const v315 = ok(decodeConnect(hex('030f00010476333135')));
    assert.equal(v315.value.patchSent, true);
    assert.equal(expectsAuthExchange(v315.value.versionCode), false);
    assert.equal(acceptCarriesPatch(v315.value.versionCode), true);
    assert.equal(expectsAuthExchange(versionCode(3, 16, 0)), true);
  });

  it('rejects names longer than 10, or with characters outside $..~, with REJECT_ILLEGAL_NAME', () => {
    fault(decodeConnect(hex('050001010b')), 'REJECT_ILLEGAL_NAME', 'NAME_TOO_LONG');
    fault(decodeConnect(hex('0500010180')), 'REJECT_ILLEGAL_NAME', 'NAME_TOO_LONG'); // signed: -128
    fault(decodeConnect(hex('0500010103612362')), 'REJECT_ILLEGAL_NAME', 'NAME_ILLEGAL_CHARACTER'); // a#b
    fault(decodeConnect(hex('0500010102610a')), 'REJECT_ILLEGAL_NAME');
    fault(decodeConnect(hex('05000101026120')), 'REJECT_ILLEGAL_NAME'); // space
    fault(decodeConnect(hex('0500010102617f')), 'REJECT_ILLEGAL_NAME'); // DEL
    fault(decodeConnect(hex('050001010261e9')), 'REJECT_ILLEGAL_NAME'); // latin1 é
    ok(decodeConnect(hex('0500010102247e'))); // '$~' are the edges
  });

  it('reads the flags byte as Spread does, signed', () => {
    assert.equal(ok(decodeConnect(hex('0500010000'))).value.membership, false);
    assert.deepEqual(
      (({ membership, priority }) => ({ membership, priority }))(ok(decodeConnect(hex('0500012100'))).value),
      { membership: true, priority: 2 },
    );
    // 0xf1 is -15: -15 % 2 is -1 (no membership), -15 / 16 truncates to 0.
    const odd = ok(decodeConnect(hex('050001f100'))).value;
    assert.equal(odd.membership, false);
    assert.equal(odd.priority, 0);
  });

  it('refuses to encode what cannot be sent', () => {
    assert.throws(() => encodeConnect({ membership: true, name: 'elevenchars' }), SpreadError);
    assert.throws(() => encodeConnect({ membership: true, name: 'x', priority: 16 }), SpreadError);
    assert.throws(() => encodeConnect({ membership: true, name: 'x', version: { major: 256, minor: 0, patch: 0 } }), SpreadError);
  });
});

describe('client wire: auth list, auth choice, accept, reject', () => {
  it('encodes and decodes the auth list', () => {
    assert.equal(encodeAuthList(['NULL']).toString('hex'), '054e554c4c20');
    assert.equal(encodeAuthList(['NULL', 'IP']).toString('latin1', 1), 'NULL IP ');
    assert.deepEqual(ok(decodeAuthList(hex('084e554c4c20495020'))).value, ['NULL', 'IP']);
    assert.deepEqual(ok(decodeAuthList(hex('00'))).value, []);
    assert.equal(decodeAuthList(hex('054e55')).status, 'incomplete');
    assert.equal(decodeAuthList(hex('')).status, 'incomplete');
  });

  it('reads a negative first byte as the daemon rejecting, with its code', () => {
    fault(decodeAuthList(hex('fa')), 'REJECT_NOT_UNIQUE', 'REJECTED_BY_DAEMON');
    fault(decodeAuthList(hex('f9')), 'REJECT_VERSION');
    fault(decodeAuthList(hex('fb')), 'REJECT_ILLEGAL_NAME');
    const unknown = decodeAuthList(hex('f6')); // -10: sp.h has no such code
    fault(unknown, 'UNKNOWN');
    assert.ok(unknown.status === 'error' && faultToError(unknown) instanceof RingcastError);
    assert.equal(unknown.status === 'error' && unknown.spreadCode, -10);
    fault(decodeAuthList(hex('5b')), 'CONNECTION_CLOSED', 'BAD_HANDSHAKE_REPLY'); // 91 > 90
  });

  it('encodes and decodes the 90-byte auth choice', () => {
    const choice = encodeAuthChoice(['NULL']);
    assert.equal(choice.length, 90);
    assert.equal(choice.toString('hex'), '4e554c4c' + '00'.repeat(86));
    assert.deepEqual(ok(decodeAuthChoice(choice)).value, ['NULL']);
    assert.deepEqual(ok(decodeAuthChoice(encodeAuthChoice(['IP', 'NULL']))).value, ['IP', 'NULL']);
    assert.equal(decodeAuthChoice(choice.subarray(0, 89)).status, 'incomplete');
    // Spread reads methods up to the first empty slot.
    const gap = Buffer.alloc(90);
    gap.write('A', 0);
    gap.write('B', 60);
    assert.deepEqual(ok(decodeAuthChoice(gap)).value, ['A']);
    // A slot without NUL still decodes (30 characters); it will just not be an allowed method.
    assert.equal(ok(decodeAuthChoice(Buffer.alloc(90, 0x41))).value[0]!.length, 30);
    assert.throws(() => encodeAuthChoice(['a', 'b', 'c', 'd']), SpreadError);
    assert.throws(() => encodeAuthChoice(['x'.repeat(30)]), SpreadError);
  });

  it('encodes the accept with or without the patch byte', () => {
    assert.equal(encodeAccept('#alice#sp1', { includePatch: true }).toString('hex'), '010500010a23616c69636523737031');
    assert.equal(encodeAccept('#v314#sp1', { includePatch: false }).toString('hex'), '01050009237633313423737031');
    assert.throws(() => encodeAccept('#' + 'x'.repeat(31), { includePatch: true }), SpreadError);
  });

  it('decodes the accept, incrementally, and a reject in its place', () => {
    const bytes = hex('010500010a23616c69636523737031');
    for (let n = 0; n < bytes.length; n++) assert.equal(decodeAccept(bytes.subarray(0, n)).status, 'incomplete');
    const r = ok(decodeAccept(bytes));
    assert.deepEqual(r.value, { daemonVersion: { major: 5, minor: 0, patch: 1 }, privateGroup: '#alice#sp1' });
    assert.equal(r.length, 15);
    assert.deepEqual(ok(decodeAccept(hex('01050009237633313423737031'), 0, false)).value, {
      daemonVersion: { major: 5, minor: 0, patch: 0 },
      privateGroup: '#v314#sp1',
    });
    fault(decodeAccept(hex('f7')), 'REJECT_AUTH', 'REJECTED_BY_DAEMON');
    fault(decodeAccept(hex('02')), 'CONNECTION_CLOSED', 'BAD_HANDSHAKE_REPLY');
    fault(decodeAccept(hex('0105000120')), 'CONNECTION_CLOSED', 'BAD_HANDSHAKE_REPLY'); // name length 32
  });

  it('encodes reject bytes', () => {
    assert.equal(encodeReject('REJECT_NOT_UNIQUE').toString('hex'), 'fa');
    assert.equal(encodeReject('REJECT_VERSION').toString('hex'), 'f9');
    assert.equal(encodeReject(-9).toString('hex'), 'f7');
    assert.throws(() => encodeReject(1), SpreadError);
  });
});

describe('client wire: names', () => {
  it('applies Spread name rules', () => {
    assert.ok(isLegalPrivateName(''));
    assert.ok(isLegalPrivateName('abcdefghij'));
    assert.ok(!isLegalPrivateName('abcdefghijk'));
    assert.ok(!isLegalPrivateName('a#b'));
    assert.ok(isLegalGroupName('grp'));
    assert.ok(!isLegalGroupName(''));
    assert.ok(!isLegalGroupName('#alice#sp1'));
    assert.ok(!isLegalGroupName('x'.repeat(32)));
    assert.ok(isLegalGroupName('x'.repeat(31)));
  });

  it('builds and splits private groups, cutting at 31 characters like snprintf', () => {
    assert.equal(privateGroupName('alice', 'sp1'), '#alice#sp1');
    assert.equal(privateGroupName('abcdefghij', 'd'.repeat(20)), '#abcdefghij#' + 'd'.repeat(19));
    assert.deepEqual(splitPrivateGroup('#alice#sp1'), { privateName: 'alice', daemonName: 'sp1' });
    assert.equal(splitPrivateGroup('grp'), undefined);
    assert.equal(splitPrivateGroup('#alice'), undefined);
  });

  it('generates names like Spread (r<random>-<fd>, at most 9 characters)', () => {
    assert.equal(generatedPrivateName(9838, 9), 'r9838-9');
    assert.equal(generatedPrivateName(9998, 123456), 'r9998-123');
    assert.ok(isLegalPrivateName(generatedPrivateName(1, 2)));
  });
});

const vectors = findVectors();
describe('client wire: s4_handshake_probes replayed from the daemon side', () => {
  if (!vectors.dir) {
    it.skip(`SKIPPED: spread-vectors folder not found (looked at ${vectors.looked})`, () => undefined);
    return;
  }
  const { dir, probes } = loadProbes(vectors.dir);

  it('has the same bytes in probes.json and the .hex files', () => {
    for (const p of probes) {
      assert.equal(readHex(path.join(dir, `${p.name}.c2s.hex`)).toString('hex'), p.c2s, p.name);
      const s2cFile = path.join(dir, `${p.name}.s2c.hex`);
      const s2c = fs.readFileSync(s2cFile, 'utf8').trim();
      assert.equal(s2c, p.s2c, p.name);
    }
  });

  // What ringcast's daemon (daemon name sp1, NULL auth only) answers to each probe's bytes,
  // using nothing but these codecs; it must match what Spread answered.
  function handshakeReplies(c2s: Buffer): { replies: Buffer; rest: Buffer; privateGroup?: string } {
    const connect = decodeConnect(c2s);
    if (connect.status === 'error') return { replies: encodeReject(connect.spreadCode), rest: Buffer.alloc(0) };
    const { value: request, length } = ok(connect);
    const parts: Buffer[] = [];
    let at = length;
    if (expectsAuthExchange(request.versionCode)) {
      parts.push(encodeAuthList(['NULL']));
      const choice = ok(decodeAuthChoice(c2s, at));
      at += choice.length;
      if (!choice.value.every((m) => m === 'NULL')) {
        parts.push(encodeReject('REJECT_AUTH'));
        return { replies: Buffer.concat(parts), rest: Buffer.alloc(0) };
      }
    }
    const privateGroup = privateGroupName(request.name, 'sp1');
    parts.push(encodeAccept(privateGroup, { includePatch: acceptCarriesPatch(request.versionCode) }));
    return { replies: Buffer.concat(parts), rest: c2s.subarray(at), privateGroup };
  }

  for (const name of [
    'ok_v5_memb_prio0',
    'ok_v5_nomemb',
    'ok_v5_prio1',
    'reject_version_3_0',
    'ok_v3_15_noauth',
    'ok_v3_14_noauth_nopatch',
    'reject_illegal_name_hash',
    'reject_name_too_long',
    'reject_auth_unknown_method',
  ]) {
    it(`answers ${name} exactly as Spread did`, () => {
      const probe = probes.find((p) => p.name === name);
      assert.ok(probe, `probe ${name} present`);
      const { replies, rest } = handshakeReplies(hex(probe.c2s));
      assert.equal(replies.toString('hex'), probe.s2c);
      if (name.startsWith('ok_')) assert.equal(rest.length, 0);
    });
  }

  it('answers ok_v5 probes with the flags the probes name', () => {
    const flags = (n: string) => ok(decodeConnect(hex(probes.find((p) => p.name === n)!.c2s))).value;
    assert.deepEqual([flags('ok_v5_memb_prio0').membership, flags('ok_v5_memb_prio0').priority], [true, 0]);
    assert.deepEqual([flags('ok_v5_nomemb').membership, flags('ok_v5_nomemb').priority], [false, 0]);
    assert.deepEqual([flags('ok_v5_prio1').membership, flags('ok_v5_prio1').priority], [true, 1]);
  });

  it('closes bad_header_kills_session without a reply: the JOIN names another sender', () => {
    const probe = probes.find((p) => p.name === 'bad_header_kills_session')!;
    const { replies, rest, privateGroup } = handshakeReplies(hex(probe.c2s));
    assert.equal(replies.toString('hex'), probe.s2c, 'handshake replies, then nothing');
    const reader = new FrameReader({ direction: 'toDaemon', privateGroup });
    reader.push(rest);
    const r = reader.next();
    fault(r, 'ILLEGAL_SESSION', 'WRONG_SENDER');
    assert.deepEqual(reader.next(), r, 'the fault sticks');
  });
});
