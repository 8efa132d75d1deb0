import { isIP } from 'node:net';
import { UsageError, choiceFlag, repeatableFlag, type Flag, type FlagValues } from './flags.js';

/** `10.0.0.0/8`, `127.0.0.1`, `fd00::/8`: an address literal with an optional prefix length. */
function cidrFlag(value: string, description: string): Flag<string> {
  return {
    value, description,
    parse(raw, flag) {
      const slash = raw.indexOf('/');
      const address = slash < 0 ? raw : raw.slice(0, slash);
      const family = isIP(address);
      const bits = family === 4 ? 32 : 128;
      const prefix = slash < 0 ? String(bits) : raw.slice(slash + 1);
      if (family === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) {
        throw new UsageError(`${flag} must be an IP address or CIDR such as 10.0.0.0/8, 127.0.0.1 or fd00::/8 (got ${JSON.stringify(raw)})`);
      }
      return raw;
    },
  };
}

export const PROXY_FLAGS = {
  'proxy-protocol': choiceFlag('VERSION', 'expect a PROXY protocol header (HAProxy v1, v2 or either) first on every '
    + 'connection; clients are logged and limited by the address in it', ['v1', 'v2', 'any'] as const, 'off'),
  'trusted-proxy': repeatableFlag(cidrFlag('CIDR', 'accept PROXY headers only from these addresses; others are refused '
    + '(default: from any address)')),
} as const;

/** createServer's proxyProtocol / trustedProxies from the flags (nothing without --proxy-protocol). */
export function proxyOptions(flags: FlagValues<typeof PROXY_FLAGS>): { proxyProtocol?: 'v1' | 'v2' | 'any'; trustedProxies?: string[] } {
  const version = flags['proxy-protocol'];
  const trusted = flags['trusted-proxy'];
  if (version === undefined) {
    if (trusted !== undefined) throw new UsageError('--trusted-proxy needs --proxy-protocol v1|v2|any');
    return {};
  }
  return { proxyProtocol: version, ...(trusted ? { trustedProxies: [...trusted] } : {}) };
}
