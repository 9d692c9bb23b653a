// The networks the IP auth method lets in (spread.conf's IpAllow): CIDRs in canonical form, as
// the configuration parser writes them, matched with Node's BlockList (IPv4 and IPv6 alike).
import { BlockList, isIP } from 'node:net';
import { RingcastError } from '../errors';

export class IpAllowList {
  private readonly list = new BlockList();

  /** @throws RingcastError SESSION_OPTIONS for an entry that is not ADDRESS/PREFIX. */
  constructor(readonly cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address = '', prefixText = ''] = cidr.split('/');
      const family = isIP(address);
      const prefix = Number(prefixText);
      if (family === 0 || !/^\d+$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) {
        throw new RingcastError('SESSION_OPTIONS', `IpAllow entry "${cidr}" is not ADDRESS/PREFIX`);
      }
      this.list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** Whether `address` (an IP literal) is in one of the networks; anything else is not. */
  allows(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}
