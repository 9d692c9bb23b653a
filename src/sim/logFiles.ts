// Reading and writing delivery logs as JSON-lines files (format: shared/design/cli.md and
// deliveryLog.ts). One file per process, `<name>.jsonl`; line N of a file is entry N−1 of its
// array, so the checker's "line" numbers are the file's line numbers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RingcastError } from '../errors';
import { isServiceName, type ServiceName } from '../core/service';
import { formatEntry, parseMessageId, type LogEntry } from './deliveryLog';

/**
 * A delivery-log file that cannot be read or has a malformed line.
 * code "LOG_FORMAT" (line > 0: that line is not a valid entry) or "LOG_IO" (line 0: the file
 * or directory could not be read or written; `cause` holds the system error).
 */
export class LogFileError extends RingcastError {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(line > 0 ? 'LOG_FORMAT' : 'LOG_IO', line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`, opts);
  }
}

export const LOG_FILE_SUFFIX = '.jsonl';

export interface ReadLogOptions {
  /**
   * Accept (and drop) an unterminated, unparsable last line — what a process killed in the
   * middle of a write leaves behind. Default false: it is a LOG_FORMAT error like any other.
   */
  tolerateTruncatedTail?: boolean;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/**
 * Validates one parsed JSON value as a log entry. Returns the entry (the same object; unknown
 * extra keys are kept, the format may grow) or a description of what is wrong.
 */
export function validateEntry(v: unknown): LogEntry | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected a JSON object';
  const o = v as Record<string, unknown>;
  switch (o.t) {
    case 'conf':
      if (o.kind !== 'regular' && o.kind !== 'transitional') return 'conf: "kind" must be "regular" or "transitional"';
      if (typeof o.ring !== 'string') return 'conf: "ring" must be a string';
      if (!isStringArray(o.members)) return 'conf: "members" must be an array of strings';
      return o as unknown as LogEntry;
    case 'sent':
    case 'msg': {
      if (typeof o.id !== 'string' || parseMessageId(o.id) === undefined) return `${o.t}: "id" must be "<sender>#<n>"`;
      if (typeof o.svc !== 'string' || !isServiceName(o.svc)) return `${o.t}: "svc" must be a service name (UNRELIABLE … SAFE)`;
      if (o.t === 'msg') {
        if (!isStringArray(o.groups)) return 'msg: "groups" must be an array of strings';
        if (typeof o.len !== 'number' || !Number.isInteger(o.len) || o.len < 0) return 'msg: "len" must be a non-negative integer';
      }
      return o as unknown as LogEntry;
    }
    default:
      return '"t" must be "conf", "sent" or "msg"';
  }
}

/**
 * Parses the text of one log file. Every line must be an entry; only a final newline is allowed
 * (no blank lines in between, so line numbers stay the file's).
 * @throws LogFileError (LOG_FORMAT) naming `file` and the line.
 */
export function parseLog(text: string, file: string, opts: ReadLogOptions = {}): LogEntry[] {
  const out: LogEntry[] = [];
  if (text.length === 0) return out;
  const lines = text.split('\n');
  const terminated = lines[lines.length - 1] === '';
  if (terminated) lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    const isTail = i === lines.length - 1 && !terminated;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      if (isTail && opts.tolerateTruncatedTail) break;
      const what = raw.trim() === '' ? 'blank line' : `not JSON (${(err as Error).message})`;
      throw new LogFileError(file, i + 1, what);
    }
    const e = validateEntry(v);
    if (typeof e === 'string') throw new LogFileError(file, i + 1, e);
    out.push(e);
  }
  return out;
}

/**
 * Reads one `.jsonl` log file.
 * @throws LogFileError: LOG_IO when the file cannot be read, LOG_FORMAT for a malformed line.
 */
export function readLogFile(file: string, opts: ReadLogOptions = {}): LogEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new LogFileError(file, 0, `cannot read: ${(err as Error).message}`, { cause: err });
  }
  return parseLog(text, file, opts);
}

/**
 * Reads every `<name>.jsonl` in `dir` (not recursive) into a map name → entries, names in
 * sorted order so that the checker's reports are deterministic. Other files are ignored.
 * @throws LogFileError: LOG_IO when the directory or a file cannot be read, LOG_FORMAT for a
 * malformed line (the error names the file and the line).
 */
export function readLogDir(dir: string, opts: ReadLogOptions = {}): Map<string, LogEntry[]> {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith(LOG_FILE_SUFFIX) && n.length > LOG_FILE_SUFFIX.length);
  } catch (err) {
    throw new LogFileError(dir, 0, `cannot read log directory: ${(err as Error).message}`, { cause: err });
  }
  names.sort();
  const logs = new Map<string, LogEntry[]>();
  for (const n of names) logs.set(n.slice(0, -LOG_FILE_SUFFIX.length), readLogFile(path.join(dir, n), opts));
  return logs;
}

/** The file text for a list of entries: one `formatEntry` line each, newline-terminated. */
export function formatLog(entries: readonly LogEntry[]): string {
  let s = '';
  for (const e of entries) s += formatEntry(e) + '\n';
  return s;
}

/**
 * Writes a whole log (replacing the file).
 * @throws LogFileError (LOG_IO).
 */
export function writeLog(file: string, entries: readonly LogEntry[]): void {
  try {
    fs.writeFileSync(file, formatLog(entries));
  } catch (err) {
    throw new LogFileError(file, 0, `cannot write: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Writes one `<name>.jsonl` per map entry into `dir` (created if missing).
 * @throws LogFileError (LOG_IO).
 */
export function writeLogDir(dir: string, logs: ReadonlyMap<string, readonly LogEntry[]>): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new LogFileError(dir, 0, `cannot create log directory: ${(err as Error).message}`, { cause: err });
  }
  for (const [name, entries] of logs) writeLog(path.join(dir, name + LOG_FILE_SUFFIX), entries);
}

export interface LogWriterOptions {
  /** Append to an existing file instead of truncating it. Default false. */
  append?: boolean;
  /** Buffered characters that trigger a write to the file. Default 64 KiB. */
  flushAt?: number;
  /** Also keep the entries in memory (`entries`), e.g. to check them without re-reading. */
  keep?: boolean;
}

/**
 * Appends entries to a log file with buffering; synchronous, so it is deterministic and safe to
 * use from the simulator's event loop and from a process that exits right after `close()`.
 * Entries are on disk after `flush()` or `close()` (and whenever the buffer passes `flushAt`).
 * Methods throw LogFileError (LOG_IO) when the file cannot be opened or written, and
 * RingcastError (LOG_CLOSED) when used after close().
 */
export class LogWriter {
  private fd: number;
  private buf: string[] = [];
  private bufChars = 0;
  private readonly flushAt: number;
  private closed = false;
  /** Number of entries written (or buffered) so far. */
  count = 0;
  /** The entries, when constructed with `keep: true`. */
  readonly entries: LogEntry[] | undefined;

  constructor(
    readonly file: string,
    opts: LogWriterOptions = {},
  ) {
    this.flushAt = opts.flushAt ?? 64 * 1024;
    this.entries = opts.keep ? [] : undefined;
    try {
      this.fd = fs.openSync(file, opts.append ? 'a' : 'w');
    } catch (err) {
      throw new LogFileError(file, 0, `cannot open for writing: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Adds one entry. */
  write(e: LogEntry): void {
    if (this.closed) throw new RingcastError('LOG_CLOSED', `${this.file}: log writer is closed`);
    const line = formatEntry(e) + '\n';
    this.buf.push(line);
    this.bufChars += line.length;
    this.count++;
    this.entries?.push(e);
    if (this.bufChars >= this.flushAt) this.flush();
  }

  conf(kind: 'regular' | 'transitional', ring: string, members: string[]): void {
    this.write({ t: 'conf', kind, ring, members });
  }
  sent(id: string, svc: ServiceName): void {
    this.write({ t: 'sent', id, svc });
  }
  msg(id: string, svc: ServiceName, groups: string[], len: number): void {
    this.write({ t: 'msg', id, svc, groups, len });
  }

  /** Writes buffered entries to the file. */
  flush(): void {
    if (this.closed || this.buf.length === 0) return;
    const data = this.buf.join('');
    this.buf = [];
    this.bufChars = 0;
    try {
      fs.writeSync(this.fd, data);
    } catch (err) {
      throw new LogFileError(this.file, 0, `cannot write: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Flushes and closes the file; further writes throw. Closing twice is harmless. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch (err) {
      throw new LogFileError(this.file, 0, `cannot close: ${(err as Error).message}`, { cause: err });
    }
  }
}
