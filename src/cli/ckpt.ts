// `ringcast ckpt list | show <name> | read <name> <section> | write <name> <section> … |
// unlink <name>`: the checkpoint service from the shell, through one client session. Section
// ids are given as text; '' is the default section (of a checkpoint with one section).
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_DAEMON, parseDaemonAddress } from '../client/address';
import { CHECKPOINT_GROUP, CheckpointService, creationAttributes, type CheckpointDescription, type CheckpointSummary } from '../client/checkpoints';
import { connect } from '../client/connect';
import { ServiceError } from '../client/serviceClient';
import { UsageError } from '../errors';
import { CreationFlag, type SectionDescriptor } from '../services/checkpoint/protocol';
import { DEFAULT_FRAME_LIMITS } from '../wire/client/frameRules';
import { numberOption } from './options';

interface CommonFlags {
  daemon: string;
  timeout: number;
  json?: boolean;
}

/** Connects, runs `fn` with the checkpoint service, disconnects. */
async function withService<T>(flags: CommonFlags, fn: (ckpt: CheckpointService) => Promise<T>): Promise<T> {
  try {
    parseDaemonAddress(flags.daemon);
  } catch (err) {
    throw new UsageError(`--daemon: ${(err as Error).message}`);
  }
  const session = await connect({ daemon: flags.daemon, membership: false, sendLimits: DEFAULT_FRAME_LIMITS });
  try {
    return await fn(new CheckpointService(session.service(CHECKPOINT_GROUP), { timeoutMs: flags.timeout }));
  } finally {
    await session.disconnect();
  }
}

// ---- output -------------------------------------------------------------------------------

const flagNames = (bits: number): string =>
  (Object.entries(CreationFlag) as Array<[string, number]>)
    .filter(([, b]) => (bits & b) !== 0)
    .map(([n]) => n)
    .join('|') || String(bits);

const ms = (v: number | null): string => (v === null ? 'forever' : `${v} ms`);
const when = (t: number | null): string => (t === null ? 'never' : new Date(t).toISOString());

/** A section id or data as text when it is printable, hex otherwise. */
export function showBytes(b: Uint8Array, max = 64): string {
  const buf = Buffer.from(b);
  if (buf.length === 0) return "''";
  const text = buf.toString('utf8');
  const printable = /^[\x20-\x7e]*$/.test(text) && Buffer.byteLength(text) === buf.length;
  const shown = printable ? JSON.stringify(text.slice(0, max)) : `0x${buf.subarray(0, max).toString('hex')}`;
  return buf.length > max ? `${shown}… (${buf.length} bytes)` : shown;
}

export function formatList(list: readonly CheckpointSummary[]): string[] {
  if (list.length === 0) return ['no checkpoints'];
  const rows = list.map((c) => [c.name, String(c.numberOfSections), String(c.memoryUsed), String(c.openers), ms(c.attrs.retentionDuration), flagNames(c.attrs.creationFlags)]);
  const head = ['name', 'sections', 'bytes', 'openers', 'retention', 'flags'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

export function formatSection(s: SectionDescriptor): string {
  return `${showBytes(s.sectionId)}  ${s.sectionSize} bytes  expires ${when(s.expirationTime)}  updated ${when(s.lastUpdate)}`;
}

export function formatDescription(d: CheckpointDescription): string[] {
  const a = d.attrs;
  const label = (l: string): string => l.padEnd(11);
  const lines = [
    `${label('checkpoint')}${d.name} (${d.checkpointId})`,
    `${label('attributes')}${flagNames(a.creationFlags)}, checkpointSize ${a.checkpointSize}, maxSections ${a.maxSections}, maxSectionSize ${a.maxSectionSize}, maxSectionIdSize ${a.maxSectionIdSize}`,
    `${label('retention')}${ms(a.retentionDuration)}${d.idleSince !== null ? ` (not open since ${when(d.idleSince)})` : ''}`,
    `${label('status')}${d.numberOfSections} section(s), ${d.memoryUsed} bytes used, ${d.openers} opener(s)${d.activeReplica ? `, active replica ${d.activeReplica}` : ''}`,
  ];
  for (const o of d.openedBy) lines.push(`${label('opened by')}${o.client} (handle ${o.handle}, flags ${o.flags})`);
  d.sections.forEach((s, i) => lines.push(`${label(i === 0 ? 'sections' : '')}${formatSection(s)}`));
  if (d.moreSections) lines.push(`${label('')}… and more`);
  return lines;
}

const toJson = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => {
    const b = x as { type?: string; data?: number[] };
    return b && b.type === 'Buffer' && Array.isArray(b.data) ? Buffer.from(b.data).toString('utf8') : x;
  });

// ---- commands -----------------------------------------------------------------------------

interface WriteFlags extends CommonFlags {
  file?: string;
  create?: boolean;
  retention?: number;
  maxSections?: number;
  maxSectionSize?: number;
}

/** Writes `data` as the whole section, creating what --create allows. */
async function writeSection(ckpt: CheckpointService, name: string, section: string, data: Buffer, flags: WriteFlags): Promise<string> {
  const attrs = creationAttributes({ retentionDuration: flags.retention ?? null, maxSections: flags.maxSections, maxSectionSize: flags.maxSectionSize });
  const handle = await ckpt.open(name, { write: true, create: flags.create === true, attrs });
  try {
    try {
      await handle.overwrite(section, data);
      return `wrote ${data.length} bytes to section ${showBytes(Buffer.from(section))} of ${name}`;
    } catch (e) {
      if (!(flags.create && e instanceof ServiceError && e.error === 'SA_AIS_ERR_NOT_EXIST')) throw e;
    }
    await handle.createSection(section, { data });
    return `created section ${showBytes(Buffer.from(section))} of ${name} with ${data.length} bytes`;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

export function registerCkpt(program: Command): void {
  const ckpt = program.command('ckpt').description('the checkpoint service: list, show, read, write and unlink checkpoints');
  const common = (c: Command): Command =>
    c
      .option('--daemon <address>', 'daemon: PORT@HOST, PORT (TCP on 127.0.0.1) or a Unix socket path', DEFAULT_DAEMON)
      .option('--timeout <ms>', 'how long to wait for each answer', numberOption('--timeout', true), 10_000)
      .option('--json', 'print JSON');
  const out = (lines: string[] | string): void => void process.stdout.write((Array.isArray(lines) ? lines.join('\n') : lines) + '\n');

  common(ckpt.command('list').description('every checkpoint with a name: sections, bytes, openers, retention')).action(async (flags: CommonFlags) => {
    const list = await withService(flags, (s) => s.list());
    out(flags.json ? toJson(list) : formatList(list));
  });

  common(ckpt.command('show <name>').description('one checkpoint: attributes, openers and sections')).action(async (name: string, flags: CommonFlags) => {
    const d = await withService(flags, (s) => s.describe(name));
    out(flags.json ? toJson(d) : formatDescription(d));
  });

  common(ckpt.command('read <name> <section>').description("print a section's data ('' is the default section)"))
    .option('--out <file>', 'write the data to a file instead')
    .action(async (name: string, section: string, flags: CommonFlags & { out?: string }) => {
      const data = await withService(flags, async (s) => {
        const h = await s.open(name, { read: true });
        try {
          return await h.readSection(section);
        } finally {
          await h.close().catch(() => undefined);
        }
      });
      if (flags.out) writeFileSync(flags.out, data);
      else if (flags.json) out(JSON.stringify({ name, section, size: data.length, data: data.toString('base64') }));
      else process.stdout.write(data);
    });

  common(ckpt.command('write <name> <section> [data]').description("replace a section's data with DATA or the contents of --file"))
    .option('--file <file>', 'the data to write')
    .option('--create', 'create the checkpoint and the section when missing')
    .option('--retention <ms>', 'with --create: keep the checkpoint this long after its last close (default: until unlinked)', numberOption('--retention', true))
    .option('--max-sections <n>', 'with --create: sections at most (default 16)', numberOption('--max-sections', true))
    .option('--max-section-size <bytes>', 'with --create: bytes per section at most (default 65536)', numberOption('--max-section-size', true))
    .action(async (name: string, section: string, text: string | undefined, flags: WriteFlags) => {
      if ((text === undefined) === (flags.file === undefined)) throw new UsageError('write takes the data to write or --file FILE (one of them)');
      const data = flags.file !== undefined ? readFileSync(flags.file) : Buffer.from(text!);
      const said = await withService(flags, (s) => writeSection(s, name, section, data, flags));
      out(flags.json ? JSON.stringify({ name, section, size: data.length }) : said);
    });

  common(ckpt.command('unlink <name>').description('remove a checkpoint (its openers keep it until they close it)')).action(async (name: string, flags: CommonFlags) => {
    await withService(flags, (s) => s.unlink(name));
    out(flags.json ? JSON.stringify({ name, unlinked: true }) : `unlinked ${name}`);
  });
}
