import { BlockList, isIP } from 'node:net';
import { InvalidArgumentError } from './errors.js';

/**
 * Turns `options.trustedProxies` (addresses and CIDRs, IPv4 and IPv6) into a net.BlockList
 * whose `check(address)` says whether a peer may send a PROXY header. IPv4 rules also match
 * IPv4-mapped IPv6 peers ("::ffff:10.0.0.1", as a dual-stack listener reports them): BlockList
 * does that itself.
 */
export function trustedProxyList(entries: readonly string[], argument = 'options.trustedProxies'): BlockList {
  const list = new BlockList();
  entries.forEach((entry, i) => {
    const name = `${argument}[${i}]`;
    const slash = entry.indexOf('/');
    const address = slash < 0 ? entry : entry.slice(0, slash);
    const version = isIP(address);
    if (version === 0) {
      throw new InvalidArgumentError(name, 'an IPv4 or IPv6 address or CIDR such as "10.0.0.0/8" or "fd00::/8" (no host names)', entry);
    }
    const family = version === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      list.addAddress(address, family);
      return;
    }
    const bits = entry.slice(slash + 1);
    const max = version === 4 ? 32 : 128;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(bits) || Number(bits) > max) {
      throw new InvalidArgumentError(name, `a CIDR whose prefix length is 0…${max} (e.g. "${address}/${version === 4 ? 24 : 64}")`, entry);
    }
    list.addSubnet(address, Number(bits), family);
  });
  return list;
}

/** Whether `address` (as node:net reports a peer) is in `list`. */
export function isTrusted(list: BlockList, address: string): boolean {
  const version = isIP(address);
  return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
}
