/**
 * Builds PROXY protocol headers byte by byte from the specification, independently of the
 * parser, for the parser's and the stage's tests.
 */

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export interface V2Spec {
  /** 0 LOCAL, 1 PROXY (other values to test refusals). */
  command?: number;
  /** Byte 13 as a whole: family << 4 | transport. Default INET/STREAM (0x11). */
  familyByte?: number;
  /** Address block (already encoded); default from src/dst/ports for INET. */
  addresses?: Buffer;
  tlvs?: Array<{ type: number; value: Buffer }>;
  /** Byte 12's version nibble. Default 2. */
  version?: number;
  /** Overrides the length field. */
  length?: number;
}

export function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** Eight groups of an uncompressed IPv6 address ("2001:db8:0:0:0:0:0:1" or with "::"). */
export function ipv6Bytes(text: string): Buffer {
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

export function port(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function inetAddresses(src: string, dst: string, sport: number, dport: number): Buffer {
  return Buffer.concat([ipv4Bytes(src), ipv4Bytes(dst), port(sport), port(dport)]);
}

export function inet6Addresses(src: string, dst: string, sport: number, dport: number): Buffer {
  return Buffer.concat([ipv6Bytes(src), ipv6Bytes(dst), port(sport), port(dport)]);
}

export function unixAddresses(src: string, dst: string): Buffer {
  const out = Buffer.alloc(216);
  out.write(src, 0, 'utf8');
  out.write(dst, 108, 'utf8');
  return out;
}

export function tlv(type: number, value: Buffer | string): { type: number; value: Buffer } {
  return { type, value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value };
}

export function encodeTlvs(tlvs: Array<{ type: number; value: Buffer }>): Buffer {
  return Buffer.concat(tlvs.map(({ type, value }) => Buffer.concat([Buffer.from([type]), port(value.length), value])));
}

/** An SSL TLV value: client byte, verify (BE u32), sub-TLVs. */
export function sslValue(client: number, verify: number, sub: Array<{ type: number; value: Buffer }>): Buffer {
  const head = Buffer.alloc(5);
  head[0] = client;
  head.writeUInt32BE(verify, 1);
  return Buffer.concat([head, encodeTlvs(sub)]);
}

export function v2(spec: V2Spec = {}): Buffer {
  const addresses = spec.addresses ?? inetAddresses('192.0.2.1', '198.51.100.7', 56324, 443);
  const body = Buffer.concat([addresses, encodeTlvs(spec.tlvs ?? [])]);
  const head = Buffer.alloc(4);
  head[0] = ((spec.version ?? 2) << 4) | (spec.command ?? 1);
  head[1] = spec.familyByte ?? 0x11;
  head.writeUInt16BE(spec.length ?? body.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, body]);
}

export function v1(line: string): Buffer {
  return Buffer.from(line, 'latin1');
}
