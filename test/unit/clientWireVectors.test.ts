// Every capture of a real Spread 5.0.1 daemon (shared/spread-vectors): decode each unit and
// check it against manifest.json, re-encode the daemon's units byte for byte, and reassemble
// every full stream cut at every boundary.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import {
  ENDIAN_FLAG,
  MAX_GROUP_NAME,
  HEADER_SIZE,
  decodeAccept,
  decodeAuthChoice,
  decodeAuthList,
  decodeConnect,
  decodeMembershipBody,
  decodeMessage,
  encodeAccept,
  encodeAuthChoice,
  encodeAuthList,
  encodeConnect,
  encodeMessage,
  encodeReject,
  isRegularMembership,
  isSelfLeave,
  isTransitionalMembership,
  messTypeOf,
  regularMembershipMessage,
  selfLeaveMessage,
  transitionalMessage,
  typeFlagNames,
  type DecodeResult,
  type DecodedMessage,
  type MembershipCause,
  type RegularMembership,
  type SpreadMessage,
} from '../../src/wire/client';
import { findVectors, fullStreams, loadScenarios, readHex, type ManifestEntry, type Scenario } from './clientWireFixtures';
import { decodeStream, splitAt, summarize, type StreamUnit } from './clientWireStream';

const vectors = findVectors();

function ok<T>(r: DecodeResult<T>, what: string): { value: T; length: number } {
  if (r.status !== 'ok') assert.fail(`${what}: expected ok, got ${JSON.stringify(r)}`);
  return r;
}

/** The private group each connection was given, from its accept unit. */
function privateGroups(scenario: Scenario): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of scenario.manifest) if (e.kind === 'accept') out.set(e.conn, e.private_group as string);
  return out;
}

/** Byte offset of vs_set `index` from the first vs_set. */
function vsSetOffset(sets: string[][], index: number): number {
  let offset = 0;
  for (let i = 0; i < index; i++) offset += 4 + sets[i]!.length * MAX_GROUP_NAME;
  return offset;
}

/** Rebuilds a daemon-originated membership message from its decoded form, as ringcast's daemon would. */
function rebuildMembership(m: DecodedMessage): SpreadMessage {
  const body = ok(decodeMembershipBody(m.type, m.data, m.littleEndian), 'membership body').value;
  if (body.kind === 'selfLeave') return selfLeaveMessage(m.sender, m.littleEndian);
  if (body.kind === 'transitional') return transitionalMessage(m.sender, body.groupId, m.littleEndian);
  return regularMembershipMessage(
    {
      group: m.sender,
      cause: (m.type & 0x0f00) as MembershipCause,
      members: m.groups,
      groupId: body.groupId,
      vsSets: body.vsSets,
      localVsSetIndex: body.localVsSetIndex,
    },
    m.littleEndian,
  );
}

/** Bytes where two frames differ outside group-name padding (after a slot's first NUL). */
function differencesOutsidePadding(a: Buffer, b: Buffer, numGroups: number): number[] {
  const diffs: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    const slotStart =
      i >= 4 && i < 36 ? 4 : i >= HEADER_SIZE && i < HEADER_SIZE + numGroups * MAX_GROUP_NAME
        ? HEADER_SIZE + Math.floor((i - HEADER_SIZE) / MAX_GROUP_NAME) * MAX_GROUP_NAME
        : -1;
    const nul = slotStart < 0 ? -1 : a.indexOf(0, slotStart);
    if (slotStart < 0 || nul < 0 || nul >= i) diffs.push(i);
  }
  return diffs;
}

function checkFrame(e: ManifestEntry, bytes: Buffer, privateGroup: string | undefined): void {
  const direction = e.dir === 'c2s' ? 'toDaemon' : 'toClient';
  const r = ok(decodeMessage(bytes, 0, { direction, privateGroup }), e.file);
  const m = r.value;
  assert.equal(r.length, e.length);
  assert.equal(m.littleEndian, e.endian === 'little');
  assert.equal(`0x${((m.type | (m.littleEndian ? ENDIAN_FLAG : 0)) >>> 0).toString(16).padStart(8, '0')}`, e.type_hex);
  assert.equal(typeFlagNames(m.type), e.type_flags);
  assert.equal(m.sender, e.sender);
  assert.equal(m.groups.length, e.num_groups);
  assert.deepEqual(m.groups, e.groups);
  assert.equal(`0x${m.hint.toString(16).padStart(8, '0')}`, e.hint_hex);
  assert.equal(messTypeOf(m.hint), e.mess_type);
  assert.equal(m.data.length, e.data_len);
  // The manifest shows at most the first 64 bytes of data.
  if (e.data_ascii !== undefined) assert.equal(m.data.toString('latin1', 0, 64), e.data_ascii);

  if (e.group_id !== undefined) {
    const body = ok(decodeMembershipBody(m.type, m.data, m.littleEndian), `${e.file} membership`).value;
    assert.ok(body.kind === 'regular' || body.kind === 'transitional', e.file);
    const [daemonId, time, index] = (e.group_id as number[]).map((n) => n >>> 0);
    assert.deepEqual(body.groupId, { daemonId, time, index });
    if (body.kind === 'regular') {
      assert.equal(body.vsSets.length, e.num_vs_sets);
      assert.deepEqual(body.vsSets, e.vs_sets);
      assert.equal(vsSetOffset(body.vsSets, body.localVsSetIndex), e.local_vs_set_offset);
    } else {
      assert.ok(isTransitionalMembership(m.type));
    }
  }

  if (e.dir === 's2c') {
    // The daemon's own units must come out of ringcast's encoders byte for byte.
    const rebuilt = isRegularMembership(m.type) || isTransitionalMembership(m.type) || isSelfLeave(m.type) ? rebuildMembership(m) : m;
    assert.equal(encodeMessage(rebuilt, m.littleEndian).toString('hex'), bytes.toString('hex'), `${e.file} re-encoded`);
  } else {
    // Clients may leave stack garbage after the NUL of a name (spuser's KILL in s2 does).
    assert.deepEqual(differencesOutsidePadding(encodeMessage(m, m.littleEndian), bytes, m.groups.length), [], `${e.file} re-encoded`);
  }
}

function checkHandshakeUnit(e: ManifestEntry, bytes: Buffer): void {
  switch (e.kind) {
    case 'connect': {
      const r = ok(decodeConnect(bytes), e.file);
      const [major, minor, patch] = e.version as number[];
      assert.equal(r.length, e.length);
      assert.deepEqual(r.value.version, { major, minor, patch });
      assert.equal(r.value.flags, e.flags_byte);
      assert.equal(r.value.membership, e.membership_notify === 1);
      assert.equal(r.value.priority, e.priority);
      assert.equal(r.value.name.length, e.name_len);
      assert.equal(r.value.name, e.name);
      const again = encodeConnect({ version: r.value.version, membership: r.value.membership, priority: r.value.priority, name: r.value.name });
      assert.equal(again.toString('hex'), bytes.toString('hex'));
      return;
    }
    case 'authlist': {
      const r = ok(decodeAuthList(bytes), e.file);
      assert.equal(r.length, e.length);
      assert.equal(bytes[0], e.list_len);
      assert.deepEqual(r.value, (e.list as string).split(' ').filter(Boolean));
      assert.equal(encodeAuthList(r.value).toString('hex'), bytes.toString('hex'));
      return;
    }
    case 'authchoice': {
      const r = ok(decodeAuthChoice(bytes), e.file);
      assert.equal(r.length, e.length);
      assert.deepEqual(r.value, (e.slots as string[]).filter(Boolean));
      assert.equal(encodeAuthChoice(r.value).toString('hex'), bytes.toString('hex'));
      return;
    }
    case 'accept': {
      const r = ok(decodeAccept(bytes, 0, true), e.file);
      const [major, minor, patch] = e.daemon_version as number[];
      assert.equal(r.length, e.length);
      assert.deepEqual(r.value.daemonVersion, { major, minor, patch });
      assert.equal(r.value.privateGroup, e.private_group);
      assert.equal(r.value.privateGroup.length, e.name_len);
      assert.equal(encodeAccept(r.value.privateGroup, { includePatch: true, daemonVersion: r.value.daemonVersion }).toString('hex'), bytes.toString('hex'));
      return;
    }
    case 'reject': {
      // A reject comes in place of the auth list.
      const r = decodeAuthList(bytes);
      assert.equal(r.status, 'error');
      assert.equal(r.status === 'error' && r.spreadCode, e.code);
      assert.equal(r.status === 'error' && r.code, 'REJECT_NOT_UNIQUE');
      assert.equal(encodeReject(e.code as number).toString('hex'), bytes.toString('hex'));
      return;
    }
    default:
      assert.fail(`unknown handshake kind ${e.kind} in ${e.file}`);
  }
}

/** The units a connection's stream should yield, in order, decoded from its split files. */
function expectedUnits(scenario: Scenario, conn: string, dir: 'c2s' | 's2c', privateGroup: string | undefined): StreamUnit[] {
  return decodeStream(
    scenario.manifest
      .filter((e) => e.conn === conn && e.dir === dir)
      .sort((a, b) => a.file.localeCompare(b.file))
      .map((e) => readHex(path.join(scenario.dir, e.file))),
    dir,
    { privateGroup },
  );
}

if (!vectors.dir) {
  describe('client wire: Spread 5.0.1 golden vectors', () => {
    it.skip(`SKIPPED: spread-vectors folder not found (looked at ${vectors.looked})`, () => undefined);
  });
} else {
  const vectorsDir = vectors.dir;
  for (const scenario of loadScenarios(vectorsDir)) {
    describe(`client wire: golden vectors ${scenario.name}`, () => {
      const groups = privateGroups(scenario);

      it('decodes every unit as the manifest says and re-encodes it byte for byte', () => {
        assert.ok(scenario.manifest.length > 0);
        for (const e of scenario.manifest) {
          const bytes = readHex(path.join(scenario.dir, e.file));
          assert.equal(bytes.length, e.length, e.file);
          if (e.type_hex !== undefined) checkFrame(e, bytes, e.dir === 'c2s' ? groups.get(e.conn) : undefined);
          else checkHandshakeUnit(e, bytes);
        }
      });

      for (const stream of fullStreams(scenario)) {
        const privateGroup = stream.dir === 'c2s' ? groups.get(stream.conn) : undefined;
        it(`reassembles ${stream.conn}_full_${stream.dir} cut at every boundary`, () => {
          const expected = summarize(expectedUnits(scenario, stream.conn, stream.dir, privateGroup));
          assert.equal(
            expected.length,
            scenario.manifest.filter((e) => e.conn === stream.conn && e.dir === stream.dir).length,
            'every split file is one unit',
          );
          const bytes = stream.bytes;
          assert.deepEqual(summarize(decodeStream([bytes], stream.dir, { privateGroup })), expected, 'in one piece');
          for (let cut = 1; cut < bytes.length; cut++) {
            const got = summarize(decodeStream(splitAt(bytes, [cut]), stream.dir, { privateGroup }));
            assert.deepEqual(got, expected, `cut at ${cut}`);
          }
          const bytewise = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
          assert.deepEqual(summarize(decodeStream(splitAt(bytes, bytewise), stream.dir, { privateGroup })), expected, 'byte by byte');
          let seed = bytes.length;
          const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
          for (let round = 0; round < 200; round++) {
            const cuts = Array.from({ length: 1 + Math.floor(random() * 12) }, () => 1 + Math.floor(random() * (bytes.length - 1)));
            const sorted = [...new Set(cuts)].sort((a, b) => a - b);
            assert.deepEqual(summarize(decodeStream(splitAt(bytes, sorted), stream.dir, { privateGroup })), expected, `cuts ${sorted}`);
          }
        });
      }

      it('keeps every membership body consistent with its groups list', () => {
        for (const e of scenario.manifest) {
          if (e.group_id === undefined || e.num_vs_sets === undefined) continue;
          const m = ok(decodeMessage(readHex(path.join(scenario.dir, e.file)), 0, { direction: 'toClient' }), e.file).value;
          const body = ok(decodeMembershipBody(m.type, m.data, m.littleEndian), e.file).value as RegularMembership;
          // Every vs_set member is a member of the new view.
          for (const member of body.vsSets.flat()) {
            if (!(m.type & 0x0200) && !(m.type & 0x0400)) assert.ok(m.groups.includes(member), `${e.file}: ${member}`);
          }
        }
      });
    });
  }
}
