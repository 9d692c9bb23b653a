// Test daemons for the client: a FakeDaemon (net.Server on 127.0.0.1 or a Unix socket) whose
// connections the test drives byte by byte — replaying golden server bytes and checking the
// client's — and a one-daemon echo server that answers joins and delivers multicasts to the
// group's members, enough to run `flood` and the status query end to end.
import * as net from 'node:net';
import {
  ChunkQueue,
  FrameReader,
  HEADER_SIZE,
  MAX_GROUP_NAME,
  MessageType,
  decodeAuthChoice,
  decodeConnect,
  encodeAccept,
  encodeAuthList,
  encodeMessage,
  readHeader,
  regularMembershipMessage,
  selfLeaveMessage,
  type DecodedMessage,
} from '../../src/wire/client';

export class FakeConnection {
  private chunks: Buffer[] = [];
  private length = 0;
  private consumed = 0;
  private waiters: Array<() => void> = [];
  /** Resolves when the client's side has closed. */
  readonly ended: Promise<void>;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.length += chunk.length;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
    this.ended = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
  }

  /** Every byte the client has sent so far. */
  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Bytes received and not yet taken. */
  get available(): number {
    return this.length - this.consumed;
  }

  /** The next `n` bytes from the client, waiting for them (fails after timeoutMs). */
  async take(n: number, timeoutMs = 2000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.available < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake daemon: waited for ${n} bytes, have ${this.available}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const out = this.received().subarray(this.consumed, this.consumed + n);
    this.consumed += n;
    return out;
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends `bytes` cut into pieces of 1..maxPiece bytes, one write each. */
  sendInPieces(bytes: Buffer, random: () => number, maxPiece = 64): void {
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + Math.floor(random() * maxPiece);
      this.socket.write(bytes.subarray(at, at + n));
      at += n;
    }
  }

  end(): void {
    this.socket.end();
  }
}

export class FakeDaemon {
  private queue: FakeConnection[] = [];
  private waiting: Array<(c: FakeConnection) => void> = [];
  readonly connections: FakeConnection[] = [];

  private constructor(
    private readonly server: net.Server,
    readonly address: string,
  ) {
    server.on('connection', (socket) => {
      const conn = new FakeConnection(socket);
      this.connections.push(conn);
      const w = this.waiting.shift();
      if (w) w(conn);
      else this.queue.push(conn);
    });
  }

  /** Listens on an ephemeral port of 127.0.0.1, or on a Unix socket at `path`. */
  static listen(path?: string): Promise<FakeDaemon> {
    const server = net.createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const ready = () => {
        const a = server.address();
        const address = typeof a === 'string' ? a : `${a!.port}@127.0.0.1`;
        resolve(new FakeDaemon(server, address));
      };
      if (path) server.listen(path, ready);
      else server.listen(0, '127.0.0.1', ready);
    });
  }

  /** The next connection a client opens. */
  accepted(): Promise<FakeConnection> {
    const c = this.queue.shift();
    if (c) return Promise.resolve(c);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Zeroes the bytes after each name's NUL in the sender and group fields of whole client frames (Spread's library leaves stack garbage there). */
export function maskNamePadding(frames: Buffer): Buffer {
  const out = Buffer.from(frames);
  let at = 0;
  while (at + HEADER_SIZE <= out.length) {
    const h = readHeader(out, at);
    const zeroAfterNul = (from: number) => {
      const field = out.subarray(from, from + MAX_GROUP_NAME);
      const nul = field.indexOf(0);
      if (nul >= 0) field.fill(0, nul);
    };
    zeroAfterNul(at + 4);
    for (let g = 0; g < h.numGroups; g++) zeroAfterNul(at + HEADER_SIZE + g * MAX_GROUP_NAME);
    at += HEADER_SIZE + h.numGroups * MAX_GROUP_NAME + h.dataLen;
  }
  return out;
}

/** A small deterministic RNG (mulberry32) for chunking. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface EchoSession {
  socket: net.Socket;
  privateGroup: string;
  membership: boolean;
}

export interface EchoOptions {
  daemonName?: string;
  /** Answer a data message to this group with `reply(message)` sent back to its sender. */
  replyTo?: { group: string; reply: (m: DecodedMessage) => Buffer | undefined };
}

/**
 * A one-daemon stand-in: accepts sessions (NULL auth), keeps group membership, sends
 * JOIN/LEAVE/DISCONNECT memberships, and delivers every data message once to each session in
 * any of its groups (sender included unless SELF_DISCARD). Order is arrival order.
 */
export function serveEcho(daemon: FakeDaemon, options: EchoOptions = {}): { stop: () => void } {
  const daemonName = options.daemonName ?? 'echo';
  const groups = new Map<string, EchoSession[]>();
  let counter = 0;
  let stopped = false;

  const announce = (group: string, cause: number, changed: string) => {
    const members = groups.get(group) ?? [];
    counter++;
    const frame = encodeMessage(
      regularMembershipMessage({
        group,
        cause: cause as never,
        members: members.map((m) => m.privateGroup),
        groupId: { daemonId: 7, time: 1000, index: counter },
        vsSets: [[changed]],
        localVsSetIndex: 0,
      }),
    );
    for (const m of members) if (m.membership) m.socket.write(frame);
  };

  const onSession = async (conn: FakeConnection) => {
    const queue = new ChunkQueue();
    const socket = conn.socket;
    const first = await conn.take(2);
    queue.push(first);
    // Read the connect message: version, flags, length, name.
    const rest = await conn.take(3);
    queue.push(rest);
    const nameLength = rest[2]!;
    queue.push(await conn.take(nameLength));
    const request = decodeConnect(queue.take(queue.length));
    if (request.status !== 'ok') throw new Error('echo daemon: bad connect');
    socket.write(encodeAuthList(['NULL']));
    const choice = decodeAuthChoice(await conn.take(90));
    if (choice.status !== 'ok') throw new Error('echo daemon: bad auth choice');
    const name = request.value.name || `r${conn.socket.remotePort ?? 0}`.slice(0, 9);
    const session: EchoSession = { socket, privateGroup: `#${name}#${daemonName}`, membership: request.value.membership };
    socket.write(encodeAccept(session.privateGroup, { includePatch: true }));
    const reader = new FrameReader({ direction: 'toDaemon', privateGroup: session.privateGroup });
    const leaveAll = (cause: number) => {
      for (const [group, members] of groups) {
        const i = members.indexOf(session);
        if (i >= 0) {
          members.splice(i, 1);
          announce(group, cause, session.privateGroup);
        }
      }
    };
    let left = false;
    const disconnect = () => {
      if (left) return;
      left = true;
      leaveAll(MessageType.CAUSED_BY_DISCONNECT);
    };
    socket.on('close', disconnect);
    const handle = (chunk: Buffer) => {
      if (stopped) return;
      reader.push(chunk);
      for (;;) {
        const r = reader.next();
        if (r.status === 'incomplete') return;
        if (r.status === 'error') {
          socket.destroy();
          return;
        }
        const m = r.value;
        if (m.type & MessageType.JOIN_MESS) {
          const members = groups.get(m.groups[0]!) ?? [];
          groups.set(m.groups[0]!, members);
          if (!members.includes(session)) {
            members.push(session);
            announce(m.groups[0]!, MessageType.CAUSED_BY_JOIN, session.privateGroup);
          }
        } else if (m.type & MessageType.LEAVE_MESS) {
          const members = groups.get(m.groups[0]!) ?? [];
          const i = members.indexOf(session);
          if (i >= 0) {
            members.splice(i, 1);
            if (session.membership) socket.write(encodeMessage(selfLeaveMessage(m.groups[0]!)));
            announce(m.groups[0]!, MessageType.CAUSED_BY_LEAVE, session.privateGroup);
          }
        } else if (m.type & MessageType.KILL_MESS) {
          disconnect();
          socket.end();
          return;
        } else {
          if (options.replyTo && m.groups.includes(options.replyTo.group)) {
            const reply = options.replyTo.reply(m);
            if (reply) socket.write(reply);
            continue;
          }
          const targets = new Set<EchoSession>();
          for (const g of m.groups) for (const s of groups.get(g) ?? []) targets.add(s);
          if (m.type & MessageType.SELF_DISCARD) targets.delete(session);
          const frame = encodeMessage({ type: m.type & ~MessageType.SELF_DISCARD, sender: m.sender, groups: m.groups, hint: m.hint, data: m.data });
          for (const t of targets) t.socket.write(frame);
        }
      }
    };
    const leftover = conn.received().subarray(conn.received().length - conn.available);
    void conn.take(conn.available);
    socket.on('data', handle);
    if (leftover.length > 0) handle(Buffer.from(leftover));
  };

  const loop = async () => {
    while (!stopped) {
      const conn = await daemon.accepted();
      if (stopped) return;
      onSession(conn).catch(() => conn.socket.destroy());
    }
  };
  void loop();
  return {
    stop: () => {
      stopped = true;
    },
  };
}
