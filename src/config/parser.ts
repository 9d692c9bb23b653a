// spread.conf syntax → a tree that still knows where everything was written, so the
// resolver (resolve.ts) can point at the offending line:column too.
//
// Grammar, as Spread 5.0.1's config_parse.y, with ringcast's additions marked (+):
//   file      := (segment | option)*
//   segment   := 'Spread_Segment' segaddr ADDR{0,4} '{' (daemon | ';')* '}'
//   segaddr   := ADDR | ADDR:PORT | 'unicast' | 'unicast:'PORT          (+ unicast)
//   daemon    := (NAME ADDR | NAME | ADDR) ['VirtualID' '=' NUMBER] ['{' iface+ '}'] [';']
//   iface     := ('D' | 'C' | 'M')* ADDR
//   option    := NAME '=' value | 'EventTimeStamp' ['=' value] | 'EventPreciseTimeStamp'
//              | 'IpAllow' '=' '{' (ADDR | ADDR/PREFIX)* '}'                      (+)
// `NAME ADDR` on separate lines still reads as one daemon, as in Spread; `;` separates.

import { ConfigError } from '../errors';
import { looksLikeAddress, parseCidr, parseIpWithPort, type IpLiteral } from './addresses';
import { describeToken, tokenize, type Position, type Token } from './lexer';
import { DEBUG_FLAG_WORDS, OPTION_NAMES, OPTION_SPECS, type OptionSpec, type OptionValue } from './options';
import { nearest } from './suggest';
import { DEBUG_FLAGS, type DebugFlag } from './types';

export const DEFAULT_PORT = 4803;
/** Spread allows one segment address plus four more. */
export const MAX_SEGMENT_ADDRESSES = 5;
/** Spread's MAX_INTERFACES_PROC. */
export const MAX_INTERFACES = 10;
const SEGMENT_KEYWORD = 'Spread_Segment';
const UNICAST = /^unicast(?::(\d*))?$/i;

export interface Located<T> {
  value: T;
  pos: Position;
}

export type InterfaceType = 'D' | 'C' | 'M';

export interface InterfaceAst {
  /** Empty = all three, as Spread. */
  types: InterfaceType[];
  address: IpLiteral;
  pos: Position;
}

export interface DaemonAst {
  pos: Position;
  name?: Located<string>;
  address?: Located<IpLiteral>;
  /** As written, for the default name of an address-only daemon. */
  addressText?: string;
  virtualId?: Located<number>;
  /** Undefined without an interface block. */
  interfaces?: InterfaceAst[];
  interfaceBlockPos?: Position;
}

export interface SegmentAst {
  pos: Position;
  /** Written as `unicast[:PORT]`. */
  unicastKeyword: boolean;
  addresses: Located<IpLiteral>[];
  port: number;
  daemons: DaemonAst[];
}

export interface OptionAst {
  spec: OptionSpec;
  value: OptionValue;
  pos: Position;
}

export interface ConfigAst {
  file: string;
  segments: SegmentAst[];
  /** In file order; later ones win. */
  options: OptionAst[];
  end: Position;
}

const BOOLEANS: Readonly<Record<string, boolean>> = {
  true: true, yes: true, on: true, false: false, no: false, off: false,
};

function parseBoolean(text: string): boolean | undefined {
  return BOOLEANS[text.toLowerCase()];
}

const pos = (token: Token): Position => ({ line: token.line, column: token.column });

/**
 * Parses spread.conf text into a positioned tree; no defaults, no cross-checks.
 * @throws ConfigError for any syntax error, naming file:line:column and what was expected.
 */
export function parseSyntax(text: string, file: string): ConfigAst {
  return new Parser(tokenize(text, file), file).parseFile();
}

class Parser {
  private index = 0;

  constructor(private readonly tokens: Token[], private readonly file: string) {}

  parseFile(): ConfigAst {
    const segments: SegmentAst[] = [];
    const options: OptionAst[] = [];
    for (let token = this.peek(); token.kind !== 'eof'; token = this.peek()) {
      if (token.kind === 'word' && token.text === SEGMENT_KEYWORD) {
        segments.push(this.parseSegment());
      } else if (token.kind === 'word' && OPTION_SPECS.has(token.text)) {
        options.push(this.parseOption());
      } else if (token.kind === ';') {
        this.next(); // `Window = 160;` is a harmless habit
      } else {
        this.failTopLevel(token);
      }
    }
    return { file: this.file, segments, options, end: pos(this.peek()) };
  }

  // ---- segments and daemons

  private parseSegment(): SegmentAst {
    const keyword = this.next();
    const addressToken = this.next();
    const example = 'e.g. Spread_Segment 225.0.1.1:4803 { ... } or Spread_Segment unicast:4803 { ... }';
    if (addressToken.kind !== 'word') {
      this.fail(addressToken, `expected a segment address after ${SEGMENT_KEYWORD}, found ${describeToken(addressToken)}`, example);
    }
    const segment: SegmentAst = { pos: pos(keyword), unicastKeyword: false, addresses: [], port: DEFAULT_PORT, daemons: [] };
    const unicast = UNICAST.exec(addressToken.text);
    if (unicast) {
      segment.unicastKeyword = true;
      if (unicast[1] !== undefined) segment.port = this.checkPort(addressToken, unicast[1]);
    } else {
      const literal = parseIpWithPort(addressToken.text);
      if (!literal) this.fail(addressToken, `'${addressToken.text}' is not a segment address`, example);
      if (literal.portText !== undefined) segment.port = this.checkPort(addressToken, literal.portText);
      segment.addresses.push({ value: literal, pos: pos(addressToken) });
    }

    // More segment addresses (no port: they share the first one's), then the daemon list.
    for (let token = this.peek(); token.kind === 'word'; token = this.peek()) {
      const literal = parseIpWithPort(token.text);
      if (!literal) {
        this.fail(token, `expected '{' to open the segment's daemon list, found ${describeToken(token)}`,
          `write ${SEGMENT_KEYWORD} ADDRESS[:PORT] { daemons }`);
      }
      if (segment.unicastKeyword) this.fail(token, 'a unicast segment takes no segment addresses', 'write just unicast[:PORT]');
      if (literal.port !== undefined) {
        this.fail(token, 'only the first segment address may carry a port', 'all segment addresses share that port');
      }
      if (segment.addresses.length === MAX_SEGMENT_ADDRESSES) {
        this.fail(token, 'too many segment addresses', `at most ${MAX_SEGMENT_ADDRESSES}`);
      }
      segment.addresses.push({ value: literal, pos: pos(token) });
      this.next();
    }
    const open = this.next();
    if (open.kind !== '{') {
      this.fail(open, `expected '{' to open the segment's daemon list, found ${describeToken(open)}`,
        `write ${SEGMENT_KEYWORD} ADDRESS[:PORT] { daemons }`);
    }

    for (;;) {
      const token = this.peek();
      if (token.kind === '}') {
        this.next();
        return segment;
      }
      if (token.kind === ';') {
        this.next(); // a stray separator is harmless
      } else if (token.kind === 'word' || token.kind === 'string') {
        segment.daemons.push(this.parseDaemon(open));
      } else if (token.kind === 'eof') {
        this.fail(token, `missing '}' to close the segment opened at line ${open.line}:${open.column}`);
      } else {
        this.fail(token, `unexpected ${describeToken(token)} in a segment`, 'expected a daemon: NAME ADDRESS, NAME or ADDRESS');
      }
    }
  }

  private checkPort(token: Token, text: string): number {
    const port = /^\d+$/.test(text) ? Number(text) : NaN;
    // Spread also uses port+1 (token traffic), so the highest usable port is 65534.
    if (!(port >= 1 && port <= 65534)) this.fail(token, `port '${text}' is out of range`, 'expected 1..65534; the daemon also uses port+1');
    return port;
  }

  private parseDaemon(segmentOpen: Token): DaemonAst {
    this.rejectKeywordAsName(this.peek(), segmentOpen);
    const first = this.next();
    const daemon: DaemonAst = { pos: pos(first) };
    const firstAddress = first.kind === 'word' ? this.daemonAddress(first) : undefined;
    if (firstAddress) {
      daemon.address = { value: firstAddress, pos: pos(first) };
      daemon.addressText = first.text;
    } else {
      daemon.name = { value: first.text, pos: pos(first) };
      const next = this.peek();
      const address = next.kind === 'word' ? this.daemonAddress(next) : undefined;
      if (address) {
        this.next();
        daemon.address = { value: address, pos: pos(next) };
        daemon.addressText = next.text;
      }
    }

    if (this.peek().kind === 'word' && this.peek().text === 'VirtualID') {
      this.next();
      this.expectEquals('VirtualID', 'VirtualID = 7');
      const token = this.next();
      const id = token.kind === 'word' && /^\d+$/.test(token.text) ? Number(token.text) : NaN;
      // 0 and 0xFFFFFFFF are reserved daemon ids in Spread.
      if (!(id >= 1 && id <= 0xfffffffe)) {
        this.fail(token, `expected a VirtualID between 1 and ${0xfffffffe}, found ${describeToken(token)}`);
      }
      daemon.virtualId = { value: id, pos: pos(token) };
    }

    if (this.peek().kind === '{') this.parseInterfaces(daemon);
    if (this.peek().kind === ';') this.next();
    return daemon;
  }

  /** A daemon's own address: an IP literal without a port. Returns undefined for a name. */
  private daemonAddress(token: Token): IpLiteral | undefined {
    const literal = parseIpWithPort(token.text);
    if (literal?.port !== undefined) {
      this.fail(token, 'a daemon address takes no port', "the port is the segment's: Spread_Segment ADDRESS:PORT");
    }
    if (!literal && looksLikeAddress(token.text)) this.fail(token, `'${token.text}' is not a valid IP address`);
    return literal;
  }

  /** Checks the token about to start a daemon entry: words Spread reserves cannot be daemon
   *  names, and seeing an option there usually means a missing '}'. */
  private rejectKeywordAsName(token: Token, segmentOpen: Token): void {
    const where = `line ${segmentOpen.line}:${segmentOpen.column}`;
    if (token.kind === 'word' && (token.text === SEGMENT_KEYWORD || OPTION_SPECS.has(token.text))) {
      this.fail(token, `missing '}' to close the segment opened at ${where}`, `found ${describeToken(token)} where a daemon was expected`);
    }
    if (token.kind === 'word' && token.text === 'VirtualID') {
      this.fail(token, 'VirtualID must follow a daemon name or address', 'write NAME ADDRESS VirtualID = N');
    }
    if (this.peekAt(1).kind === '=') {
      const keyword = nearest(token.text, ['VirtualID']);
      this.fail(this.peekAt(1), `unexpected '=' after ${describeToken(token)} in a segment`,
        keyword ? `did you mean ${keyword}? Names are case-sensitive` : `options go outside segments; is a '}' missing for the segment opened at ${where}?`);
    }
  }

  private parseInterfaces(daemon: DaemonAst): void {
    const open = this.next();
    daemon.interfaceBlockPos = pos(open);
    const interfaces: InterfaceAst[] = [];
    for (;;) {
      const start = this.peek();
      if (start.kind === '}') break;
      const types: InterfaceType[] = [];
      let token = this.next();
      while (token.kind === 'word' && /^[DCM]$/i.test(token.text)) {
        types.push(token.text.toUpperCase() as InterfaceType);
        token = this.next();
      }
      if (token.kind === 'eof') this.fail(token, `missing '}' to close the interface block opened at line ${open.line}:${open.column}`);
      const literal = token.kind === 'word' ? parseIpWithPort(token.text) : undefined;
      if (!literal) {
        const expected = types.length > 0 ? `an address after '${types[types.length - 1]}'` : "D, C, M or an address in the interface block";
        this.fail(token, `expected ${expected}, found ${describeToken(token)}`, 'e.g. { D 10.0.0.1 C 0.0.0.0 }');
      }
      if (literal.port !== undefined) this.fail(token, 'an interface address takes no port');
      if (interfaces.length === MAX_INTERFACES) this.fail(start, 'too many interfaces', `at most ${MAX_INTERFACES}`);
      interfaces.push({ types, address: literal, pos: pos(start) });
    }
    const close = this.next();
    if (interfaces.length === 0) {
      this.fail(close, 'empty interface block', "list at least 'D ADDRESS', or leave the braces out");
    }
    daemon.interfaces = interfaces;
  }

  // ---- options

  private parseOption(): OptionAst {
    const nameToken = this.next();
    const spec = OPTION_SPECS.get(nameToken.text)!;
    const at = pos(nameToken);
    if (spec.kind === 'flag' && this.peek().kind !== '=') return { spec, value: true, pos: at };
    this.expectEquals(spec.name, spec.example);
    return { spec, value: this.parseValue(spec), pos: at };
  }

  private parseValue(spec: OptionSpec): OptionValue {
    if (spec.kind === 'debugFlags') return this.parseDebugFlags(spec);
    if (spec.kind === 'cidrList') return this.parseCidrList(spec);
    const token = this.next();
    const text = token.kind === 'word' || token.kind === 'string' ? token.text : undefined;
    const bad = (expected: string): never =>
      this.fail(token, `expected ${expected} for ${spec.name}, found ${describeToken(token)}`, `e.g. ${spec.example}`);
    // A keyword here means the value was left out, not that it is the value.
    const isKeyword = token.kind === 'word' && (OPTION_SPECS.has(token.text) || token.text === SEGMENT_KEYWORD);
    if (text === undefined || isKeyword) return bad('a value');

    switch (spec.kind) {
      case 'number':
      case 'timeout': {
        if (token.kind !== 'word' || !/^\d+$/.test(text)) return bad('a whole number');
        const value = Number(text);
        if (value < spec.min! || value > spec.max!) {
          this.fail(token, `${spec.name} must be between ${spec.min} and ${spec.max}, found ${text}`, `e.g. ${spec.example}`);
        }
        return value;
      }
      case 'bool': {
        const value = parseBoolean(text);
        return value ?? bad('true or false (or yes/no, on/off)');
      }
      case 'flag': {
        const value = token.kind === 'word' ? parseBoolean(text) : undefined;
        if (value !== undefined) return value;
        return spec.name === 'EventTimeStamp' ? text : bad('true or false');
      }
      case 'portReuse': {
        const lower = text.toLowerCase();
        if (lower === 'auto') return 'auto';
        const value = parseBoolean(lower);
        return value === undefined ? bad('ON, OFF or AUTO') : value ? 'on' : 'off';
      }
      case 'string':
        if (text === '') return bad('a non-empty string');
        return text;
      case 'choice': {
        const lower = text.toLowerCase();
        const value = spec.choices!.find((choice) => choice.toLowerCase() === lower) ?? spec.aliases?.[lower];
        return value ?? bad(`one of ${spec.choices!.join(', ')}`);
      }
      case 'authList': {
        const methods = text.split(/\s+/).filter((method) => method !== '');
        return methods.length > 0 ? methods : bad('a list of authentication methods');
      }
      case 'listenAddress': {
        // An IP literal with its port, or a port alone; never a host name (no DNS in a config).
        const portOnly = /^\d+$/.test(text);
        const literal = portOnly ? undefined : parseIpWithPort(text);
        if (!portOnly && literal?.portText === undefined) return bad('ADDRESS:PORT or a port');
        const portText = portOnly ? text : literal!.portText!;
        if (Number(portText) > 65535) this.fail(token, `${spec.name} port must be between 0 and 65535, found ${portText}`, `e.g. ${spec.example}`);
        return literal ? { address: literal.address, port: Number(portText) } : { port: Number(portText) };
      }
      case 'mode': {
        // Permission bits only: setuid/setgid/sticky mean nothing on a socket.
        if (token.kind !== 'word' || !/^0?[0-7]{3}$/.test(text)) return bad('octal permission bits such as 0660');
        return parseInt(text, 8);
      }
    }
    return bad('a value');
  }

  /** `{ ALL !EXIT … }`: starts empty, names add, `!NAME` removes; NONE adds nothing (Spread). */
  private parseDebugFlags(spec: OptionSpec): DebugFlag[] {
    const open = this.next();
    if (open.kind !== '{') this.fail(open, `expected '{' after DebugFlags =, found ${describeToken(open)}`, `e.g. ${spec.example}`);
    const enabled = new Set<DebugFlag>();
    for (;;) {
      let token = this.next();
      if (token.kind === '}') break;
      const negate = token.kind === '!';
      if (negate) token = this.next();
      if (token.kind === 'eof') this.fail(token, `missing '}' to close the DebugFlags list opened at line ${open.line}:${open.column}`);
      const word = token.kind === 'word' ? token.text.toUpperCase() : undefined;
      if (word === undefined || !DEBUG_FLAG_WORDS.includes(word)) {
        const guess = token.kind === 'word' ? nearest(token.text, DEBUG_FLAG_WORDS) : undefined;
        this.fail(token, `unknown debug flag ${describeToken(token)}`,
          guess ? `did you mean ${guess}?` : `expected one of ${DEBUG_FLAG_WORDS.join(' ')}`);
      }
      const flags: readonly DebugFlag[] = word === 'ALL' ? DEBUG_FLAGS : word === 'NONE' ? [] : [word as DebugFlag];
      for (const flag of flags) {
        if (negate) enabled.delete(flag);
        else enabled.add(flag);
      }
    }
    return DEBUG_FLAGS.filter((flag) => enabled.has(flag));
  }

  /** `{ CIDR … }`: networks (or single addresses) in canonical form; `{ }` = none. */
  private parseCidrList(spec: OptionSpec): string[] {
    const open = this.next();
    if (open.kind !== '{') this.fail(open, `expected '{' after ${spec.name} =, found ${describeToken(open)}`, `e.g. ${spec.example}`);
    const cidrs: string[] = [];
    for (let token = this.next(); token.kind !== '}'; token = this.next()) {
      if (token.kind === 'eof') this.fail(token, `missing '}' to close the ${spec.name} list opened at line ${open.line}:${open.column}`);
      const cidr = token.kind === 'word' ? parseCidr(token.text) : undefined;
      if (cidr === undefined) this.fail(token, `expected an address or ADDRESS/PREFIX in ${spec.name}, found ${describeToken(token)}`, `e.g. ${spec.example}`);
      if (!cidrs.includes(cidr)) cidrs.push(cidr);
    }
    return cidrs;
  }

  // ---- helpers

  private expectEquals(name: string, example: string): void {
    const token = this.next();
    if (token.kind !== '=') this.fail(token, `expected '=' after ${name}, found ${describeToken(token)}`, `e.g. ${example}`);
  }

  private failTopLevel(token: Token): never {
    const expected = `expected ${SEGMENT_KEYWORD} or an option such as 'Window = 160'`;
    if (token.kind === 'word' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(token.text)) {
      const guess = nearest(token.text, [SEGMENT_KEYWORD, ...OPTION_NAMES]);
      const caseOnly = guess !== undefined && guess.toLowerCase() === token.text.toLowerCase();
      this.fail(token, `unknown option '${token.text}'`,
        guess ? `did you mean ${guess}?${caseOnly ? ' Names are case-sensitive, as in Spread' : ''}` : expected);
    }
    this.fail(token, `unexpected ${describeToken(token)}`, expected);
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private peekAt(offset: number): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.tokens[this.index]!;
    if (token.kind !== 'eof') this.index++;
    return token;
  }

  private fail(token: Token | Position, message: string, hint?: string): never {
    throw new ConfigError(message, this.file, token.line, token.column, hint);
  }
}
