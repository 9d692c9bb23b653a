// Parsed tree → SpreadConfig: resolves names to addresses, fills in defaults, and checks what
// only the whole file can tell (uniqueness, address families, multipath shape, windows).

import { ConfigError } from '../errors';
import { anyAddress, familyOf, isLoopback, isMulticast, isUnspecified, loopbackAddress, parseIp } from './addresses';
import { configHash, daemonVid } from './hash';
import type { Position } from './lexer';
import { applyOption, FIXED_DEFAULTS, LOOPBACK_PAYLOAD_BUDGET, resolveTimeouts, type OptionSettings } from './options';
import type { ConfigAst, DaemonAst, SegmentAst } from './parser';
import type { ConfigOptions, HostEntry, IpFamily, Segment, SpreadConfig } from './types';

/** Spread's limits (spread_params.h). */
export const MAX_SEGMENTS = 20;
export const MAX_DAEMONS = 128;
/** MAX_PROC_NAME is 20 including the NUL. */
export const MAX_NAME_BYTES = 19;

/**
 * Builds the resolved configuration from a parsed file.
 * @throws ConfigError naming the line:column of the offending entry.
 */
export function resolveConfig(ast: ConfigAst): SpreadConfig {
  return new Resolver(ast).resolve();
}

class Resolver {
  private readonly optionPos = new Map<string, Position>();
  private readonly settings: OptionSettings = { values: {}, timeouts: {} };

  constructor(private readonly ast: ConfigAst) {}

  resolve(): SpreadConfig {
    for (const option of this.ast.options) {
      applyOption(this.settings, option.spec, option.value);
      this.optionPos.set(option.spec.name, option.pos);
    }
    const { segments: segmentAsts } = this.ast;
    if (segmentAsts.length === 0) {
      this.fail(this.ast.end, 'no Spread_Segment in the file', 'e.g. Spread_Segment 127.0.0.1:4803 { rc1 127.0.0.1 }');
    }
    if (segmentAsts.length > MAX_SEGMENTS) this.fail(segmentAsts[MAX_SEGMENTS]!.pos, 'too many segments', `at most ${MAX_SEGMENTS}`);

    const family = this.activeFamily();
    const unicastOption = this.settings.values.unicastSegment ?? FIXED_DEFAULTS.unicastSegment;
    const segments: Segment[] = [];
    const hosts: HostEntry[] = [];
    const hostPos: Position[] = [];
    for (const segmentAst of segmentAsts) {
      const segment = this.resolveSegment(segmentAst, segments.length, family, unicastOption);
      for (const daemonAst of segmentAst.daemons) {
        if (hosts.length === MAX_DAEMONS) this.fail(daemonAst.pos, 'too many daemons', `at most ${MAX_DAEMONS}`);
        segment.hosts.push(hosts.length);
        hosts.push(this.resolveDaemon(daemonAst, segment, family));
        hostPos.push(daemonAst.pos);
      }
      segments.push(segment);
    }
    this.checkUnique(hosts, hostPos);
    const links = this.checkLinks(hosts, hostPos);
    const options = this.resolveOptions(family, segments.length);
    // The payload budget's default fits the path MTU: Ethernet's 1500 bytes, or loopback's 64 KiB
    // when every daemon is on this machine.
    if (this.settings.values.payloadBudget === undefined && hosts.every((h) => h.daemonAddrs.every(isLoopback))) {
      options.payloadBudget = LOOPBACK_PAYLOAD_BUDGET;
    }
    return {
      file: this.ast.file,
      segments,
      hosts,
      options,
      multipath: links > 1 ? options.multipath : 'none',
      configHash: configHash(segments, hosts, options.excludeSegAddrsFromHash),
    };
  }

  /** ActiveIPVersion if set, else the family of the first daemon's address (Spread). When
   *  that daemon is just `localhost`, the first segment address decides, else IPv4. */
  private activeFamily(): IpFamily {
    const explicit = this.settings.values.activeIpVersion;
    if (explicit) return explicit;
    const first = this.ast.segments.flatMap((segment) => segment.daemons)[0];
    const literal = first?.address?.value ?? (first?.name && parseIp(first.name.value));
    if (literal) return literal.family;
    return this.ast.segments.flatMap((segment) => segment.addresses)[0]?.value.family ?? 'IPv4';
  }

  private resolveSegment(ast: SegmentAst, index: number, family: IpFamily, unicastOption: boolean): Segment {
    if (ast.daemons.length === 0) this.fail(ast.pos, 'segment has no daemons', 'list at least one: NAME ADDRESS');
    for (const address of ast.addresses) {
      this.checkFamily(address.value.address, address.pos, family, 'segment address');
      if (isUnspecified(address.value.address)) this.fail(address.pos, 'a segment address cannot be the unspecified address');
    }
    const addresses = ast.addresses.map((address) => address.value.address);
    return {
      index,
      port: ast.port,
      addresses,
      unicast: unicastOption || ast.unicastKeyword || addresses.some(isLoopback),
      hosts: [],
    };
  }

  private resolveDaemon(ast: DaemonAst, segment: Segment, family: IpFamily): HostEntry {
    const { address, addressPos } = this.daemonAddress(ast, family);
    this.checkFamily(address, addressPos, family, 'daemon address');
    if (isUnspecified(address)) this.fail(addressPos, "a daemon's address cannot be the unspecified address", 'use 0.0.0.0 only inside an interface block');
    if (isMulticast(address)) this.fail(addressPos, "a daemon's address cannot be a multicast address", 'put the multicast address on the Spread_Segment line');

    // Spread names an address-only daemon after the address as written, minus any %zone.
    const name = ast.name?.value ?? ast.addressText!.replace(/%.*$/, '');
    const namePos = ast.name?.pos ?? addressPos;
    if (name === '') this.fail(namePos, 'empty daemon name');
    if (/[\s#]/.test(name)) this.fail(namePos, `daemon name '${name}' contains whitespace or '#'`, 'it becomes part of private group names');
    if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
      this.fail(namePos, `daemon name '${name}' is longer than ${MAX_NAME_BYTES} bytes`, "Spread's limit (MAX_PROC_NAME)");
    }

    const host: HostEntry = {
      name,
      segment: segment.index,
      port: segment.port,
      address,
      daemonAddrs: [address],
      clientAddrs: [],
      monitorAddrs: [],
      id: ast.virtualId?.value ?? daemonVid(name),
    };
    if (ast.virtualId) host.virtualId = ast.virtualId.value;

    // Clients: only where the file says (C entries), else loopback — Spread takes any address,
    // which exposes every session to the network by default. A loopback daemon keeps its own
    // address, so several can share one machine and port.
    const clientDefault = isLoopback(address) ? address : loopbackAddress(family);
    if (!ast.interfaces) {
      // Spread listens for monitors on any address by default.
      host.clientAddrs = [clientDefault];
      host.monitorAddrs = [isLoopback(address) ? address : anyAddress(family)];
      return host;
    }

    host.daemonAddrs = [];
    let ownAddressListed = false;
    for (const entry of ast.interfaces) {
      const ifAddress = entry.address.address;
      this.checkFamily(ifAddress, entry.pos, family, 'interface address');
      const types = entry.types.length > 0 ? entry.types : ['D', 'C', 'M'];
      if (types.includes('D')) {
        // D 0.0.0.0 = receive daemon traffic on any address; peers still send to the own address.
        const linkAddress = isUnspecified(ifAddress) ? address : ifAddress;
        if (isMulticast(linkAddress)) this.fail(entry.pos, 'a D address cannot be a multicast address');
        if (host.daemonAddrs.includes(linkAddress)) {
          this.fail(entry.pos, `duplicate D address ${linkAddress} for daemon '${name}'`, 'each D line is one network link; 0.0.0.0 stands for the daemon address');
        }
        if (linkAddress === address) ownAddressListed = true;
        host.daemonAddrs.push(linkAddress);
      }
      if (types.includes('C')) host.clientAddrs.push(ifAddress);
      if (types.includes('M')) host.monitorAddrs.push(ifAddress);
    }
    if (host.clientAddrs.length === 0) host.clientAddrs = [clientDefault];
    if (!ownAddressListed) {
      this.fail(ast.interfaceBlockPos!, `the interface block of '${name}' has no D entry for its address ${address}`,
        `add 'D ${address}'; an entry without a letter counts as D, C and M`);
    }
    return host;
  }

  /** The daemon's address: given, or resolved from its name without DNS. */
  private daemonAddress(ast: DaemonAst, family: IpFamily): { address: string; addressPos: Position } {
    if (ast.address) return { address: ast.address.value.address, addressPos: ast.address.pos };
    const name = ast.name!;
    const literal = parseIp(name.value);
    if (literal) return { address: literal.address, addressPos: name.pos };
    if (name.value === 'localhost') return { address: family === 'IPv6' ? '::1' : '127.0.0.1', addressPos: name.pos };
    return this.fail(name.pos, `cannot resolve daemon name '${name.value}' to an address`,
      `ringcast does no DNS lookups; write '${name.value} ADDRESS', e.g. '${name.value} 192.168.1.10'`);
  }

  private checkFamily(address: string, at: Position, family: IpFamily, what: string): void {
    const actual = familyOf(address);
    if (actual !== family) {
      const reason = this.settings.values.activeIpVersion ? 'ActiveIPVersion' : "the first daemon's address";
      this.fail(at, `${what} ${address} is ${actual}, but ${reason} makes this an ${family} configuration`);
    }
  }

  /** Names, ids and daemon endpoints (address, port and port+1) must be unique. */
  private checkUnique(hosts: HostEntry[], hostPos: Position[]): void {
    const byName = new Map<string, HostEntry>();
    const byId = new Map<number, HostEntry>();
    const byEndpoint = new Map<string, { host: HostEntry; port: number }>();
    hosts.forEach((host, i) => {
      const at = hostPos[i]!;
      const sameName = byName.get(host.name);
      if (sameName) this.fail(at, `duplicate daemon name '${host.name}'`);
      byName.set(host.name, host);

      const sameId = byId.get(host.id);
      if (sameId) {
        this.fail(at, `daemon '${host.name}' has the same id ${host.id} as '${sameId.name}'`, 'give one of them a different VirtualID');
      }
      byId.set(host.id, host);

      for (const address of host.daemonAddrs) {
        for (const port of [host.port, host.port + 1]) {
          const other = byEndpoint.get(`${address} ${port}`);
          if (other?.port === host.port && port === host.port) {
            this.fail(at, `duplicate daemon address ${address}:${port}`, `daemon '${other.host.name}' has it too`);
          }
          if (other) {
            this.fail(at, `daemon '${host.name}' on ${address} needs ports ${host.port} and ${host.port + 1}, which overlap ` +
              `'${other.host.name}' on ports ${other.port} and ${other.port + 1}`, 'a daemon uses its segment port and the next one');
          }
        }
        for (const port of [host.port, host.port + 1]) byEndpoint.set(`${address} ${port}`, { host, port: host.port });
      }
    });
  }

  /** Multipath: every host needs the same number of D addresses (one per link). */
  private checkLinks(hosts: HostEntry[], hostPos: Position[]): number {
    const links = hosts[0]!.daemonAddrs.length;
    hosts.forEach((host, i) => {
      if (host.daemonAddrs.length !== links) {
        this.fail(hostPos[i]!, `daemon '${host.name}' has ${host.daemonAddrs.length} D address(es) but '${hosts[0]!.name}' has ${links}`,
          'with several networks every daemon needs one D address per network, in the same order');
      }
    });
    return links;
  }

  private resolveOptions(family: IpFamily, segmentCount: number): ConfigOptions {
    const set = this.settings.values;
    const wideAreaNetwork = set.wideAreaNetwork ?? segmentCount > 1;
    // Spread: configuring either auth list disables the default NULL method unless listed.
    const authConfigured = set.allowedAuthMethods !== undefined || set.requiredAuthMethods !== undefined;
    const options: ConfigOptions = {
      ...FIXED_DEFAULTS,
      debugFlags: [...FIXED_DEFAULTS.debugFlags],
      ...set,
      allowedAuthMethods: set.allowedAuthMethods ?? (authConfigured ? [] : [...FIXED_DEFAULTS.allowedAuthMethods]),
      requiredAuthMethods: set.requiredAuthMethods ?? [],
      activeIpVersion: family,
      wideAreaNetwork,
      timeouts: resolveTimeouts(this.settings.timeouts, wideAreaNetwork),
    };
    if (options.personalWindow > options.window) {
      const at = this.optionPos.get('PersonalWindow') ?? this.optionPos.get('Window')!;
      this.fail(at, `PersonalWindow (${options.personalWindow}) is larger than Window (${options.window})`);
    }
    if (set.acceleratedRing === true && options.acceleratedWindow > options.personalWindow) {
      const at = this.optionPos.get('AcceleratedWindow') ?? this.optionPos.get('PersonalWindow') ?? this.optionPos.get('AcceleratedRing')!;
      this.fail(at, `AcceleratedWindow (${options.acceleratedWindow}) is larger than PersonalWindow (${options.personalWindow})`);
    }
    if (options.encryption && options.authKeyFile === null) {
      this.fail(this.optionPos.get('Encryption')!, 'Encryption = on needs a key: AuthKeyFile is not set', 'e.g. AuthKeyFile = "/etc/ringcast/authkey"; ringcast keygen makes one');
    }
    return options;
  }

  private fail(at: Position, message: string, hint?: string): never {
    throw new ConfigError(message, this.ast.file, at.line, at.column, hint);
  }
}
