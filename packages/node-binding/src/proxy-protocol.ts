/**
 * An incremental parser of the PROXY protocol header (HAProxy's specification,
 * "The PROXY protocol, Versions 1 & 2"), versions 1 and 2. Pure: bytes in, a header, "need
 * more" or an error with a reason out — no sockets, no timers (proxy-stage.ts has those).
 *
 * Version 1 — one text line, at most 107 bytes including the CRLF:
 *
 *   PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n
 *   PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n
 *   PROXY UNKNOWN[ anything]\r\n          (the sender does not know: use the connection's own addresses)
 *
 * Version 2 — binary:
 *
 *   0        12       13       14       16
 *   ┌────────┬────────┬────────┬────────┬──────────────────────┬──────────────────┐
 *   │ sig ×12│ver|cmd │fam|prot│ len BE │ addresses (by family)│ TLVs …           │
 *   └────────┴────────┴────────┴────────┴──────────────────────┴──────────────────┘
 *   sig   = 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
 *   ver   = 2 (high nibble); cmd = 0 LOCAL (health check: no addresses), 1 PROXY
 *   fam   = 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX (high nibble); prot = 0 UNSPEC, 1 STREAM, 2 DGRAM
 *   len   = bytes after these 16: addresses (INET 12, INET6 36, UNIX 216) then TLVs
 *   TLV   = type (1) · length (2, BE) · value; SSL (0x20) = client (1) · verify (4, BE) · sub-TLVs
 */
import { SocketAddress, isIPv4, isIPv6 } from 'node:net';

/** Which header versions a parser accepts. */
export type ProxyProtocolVersion = 'v1' | 'v2' | 'any';

/** The longest v1 line, CRLF included (the specification's 107). */
export const V1_MAX_BYTES = 107;
/**
 * The longest v2 block we accept after its 16 fixed bytes (addresses and TLVs). The format
 * allows 65535; real balancers send a few hundred bytes (addresses, ALPN, authority, SSL
 * details), and a bound keeps a hostile peer from making us hold 64 KiB per connection.
 */
export const V2_MAX_LENGTH = 4096;

const V1_SIGNATURE = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_BYTES = 16;
const V2_ADDRESS_BYTES = { inet: 12, inet6: 36, unix: 216 } as const;
const UNIX_PATH_BYTES = 108;

/** v2 TLV types (the specification's PP2_TYPE_*). */
export const TLV = Object.freeze({
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  SSL_VERSION: 0x21,
  SSL_CN: 0x22,
  SSL_CIPHER: 0x23,
  SSL_SIG_ALG: 0x24,
  SSL_KEY_ALG: 0x25,
  NETNS: 0x30,
});

/** Bits of the SSL TLV's `client` byte (PP2_CLIENT_*). */
export const SSL_CLIENT = Object.freeze({ SSL: 0x01, CERT_CONN: 0x02, CERT_SESS: 0x04 });

/** One end of the proxied connection as the header states it. */
export interface ProxyEndpoint {
  /** An IP address in the form node:net reports (e.g. "::ffff:10.0.0.1", "2001:db8::1"), or a Unix path. */
  readonly address: string;
  /** 0 for a Unix path. */
  readonly port: number;
}

/** What a v2 SSL TLV says about the client's TLS connection to the balancer. */
export interface ProxySsl {
  /** The `client` bit field (SSL_CLIENT). */
  readonly client: number;
  /** The client connected over TLS (PP2_CLIENT_SSL). */
  readonly clientSsl: boolean;
  /** The client presented a certificate on this connection (PP2_CLIENT_CERT_CONN). */
  readonly certInConnection: boolean;
  /** The client presented a certificate at least once in this TLS session (PP2_CLIENT_CERT_SESS). */
  readonly certInSession: boolean;
  /** The `verify` field: 0 when the client's certificate was verified (or none was needed). */
  readonly verify: number;
  readonly verified: boolean;
  /** e.g. "TLSv1.3" (PP2_SUBTYPE_SSL_VERSION). */
  readonly version?: string;
  /** The client certificate's Common Name (PP2_SUBTYPE_SSL_CN). */
  readonly cn?: string;
  readonly cipher?: string;
  readonly sigAlg?: string;
  readonly keyAlg?: string;
}

/** The v2 TLVs decoded; `raw` keeps every TLV (also unknown ones) in order. */
export interface ProxyTlvs {
  /** The ALPN protocol the client negotiated with the balancer, e.g. "h2". */
  readonly alpn?: string;
  /** The host name the client asked for (TLS SNI or similar). */
  readonly authority?: string;
  /** The balancer's opaque connection id (HAProxy's unique-id). */
  readonly uniqueId?: Buffer;
  readonly ssl?: ProxySsl;
  /** The network namespace name. */
  readonly netns?: string;
  readonly raw: ReadonlyArray<{ readonly type: number; readonly value: Buffer }>;
}

/** A complete, valid header. */
export interface ProxyHeader {
  readonly version: 1 | 2;
  /** 'LOCAL' (v2 only): the balancer speaks for itself, e.g. a health check. */
  readonly command: 'PROXY' | 'LOCAL';
  /**
   * Family of the addresses below: 'IPv4', 'IPv6', 'unix', or undefined when the header carries
   * none (v1 UNKNOWN, v2 LOCAL or AF_UNSPEC) — then the connection's own addresses apply.
   */
  readonly family: 'IPv4' | 'IPv6' | 'unix' | undefined;
  /** The real client. */
  readonly source?: ProxyEndpoint;
  /** The address the client connected to (the balancer's frontend). */
  readonly destination?: ProxyEndpoint;
  /** v2 only; v1 headers have none. */
  readonly tlvs: ProxyTlvs;
  /** Bytes the header took on the wire. */
  readonly length: number;
}

/** Why bytes are not a valid PROXY header; `reason` is for logs. */
export class ProxyProtocolError extends Error {
  readonly reason: string;

  constructor(reason: string) {
    super(`invalid PROXY protocol header: ${reason}`);
    this.name = 'ProxyProtocolError';
    this.reason = reason;
  }
}

/** What `ProxyHeaderParser.push` found. */
export type ProxyParseResult =
  | { readonly done: false }
  | { readonly done: true; readonly header: ProxyHeader; readonly rest: Buffer };

const NEED_MORE: ProxyParseResult = Object.freeze({ done: false });
const NO_TLVS: ProxyTlvs = Object.freeze({ raw: Object.freeze([]) });

/**
 * Feed it the connection's first bytes in chunks of any size; it answers "need more", the
 * header plus the bytes after it (the client's own stream), or throws ProxyProtocolError as
 * soon as the bytes cannot be a valid header (so garbage is refused at its first byte, and an
 * oversized header before it is all in memory). Holds at most one header's bytes.
 */
export class ProxyHeaderParser {
  readonly #accept: ProxyProtocolVersion;
  #buffered: Buffer = Buffer.alloc(0);
  #finished = false;

  constructor(accept: ProxyProtocolVersion = 'any') {
    this.#accept = accept;
  }

  push(chunk: Uint8Array): ProxyParseResult {
    if (this.#finished) throw new Error('ProxyHeaderParser.push after the header was complete or refused');
    const bytes = this.#buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffered, chunk]);
    try {
      const result = parse(bytes, this.#accept);
      if (result.done) this.#finished = true;
      else this.#buffered = bytes;
      return result;
    } catch (error) {
      this.#finished = true;
      throw error;
    }
  }
}

/** Parses `bytes` (the connection's first bytes, all of them so far). */
function parse(bytes: Buffer, accept: ProxyProtocolVersion): ProxyParseResult {
  if (bytes.length === 0) return NEED_MORE;
  if (accept !== 'v2' && startsLike(bytes, V1_SIGNATURE)) return parseV1(bytes);
  if (accept !== 'v1' && startsLike(bytes, V2_SIGNATURE)) return parseV2(bytes);
  const expected = accept === 'v1' ? 'a v1 header ("PROXY ")' : accept === 'v2' ? 'the v2 signature' : 'a v1 or v2 header';
  throw new ProxyProtocolError(`expected ${expected}, got bytes ${JSON.stringify(bytes.subarray(0, 16).toString('latin1'))}`);
}

/** `bytes` is `signature` or a beginning of it, or begins with it. */
function startsLike(bytes: Buffer, signature: Buffer): boolean {
  const n = Math.min(bytes.length, signature.length);
  return bytes.compare(signature, 0, n, 0, n) === 0;
}

// ── Version 1 ───────────────────────────────────────────────────────────────────

function parseV1(bytes: Buffer): ProxyParseResult {
  const lf = bytes.indexOf(0x0a);
  const end = lf < 0 ? -1 : lf + 1;
  if (end < 0 || end > V1_MAX_BYTES) {
    if (bytes.length >= V1_MAX_BYTES || end > V1_MAX_BYTES) {
      throw new ProxyProtocolError(`v1 line longer than ${V1_MAX_BYTES} bytes`);
    }
    return NEED_MORE;
  }
  if (bytes[end - 2] !== 0x0d) throw new ProxyProtocolError('v1 line does not end with CRLF');
  const line = bytes.toString('latin1', 0, end - 2);
  if (!/^[\x20-\x7e]*$/.test(line)) throw new ProxyProtocolError('v1 line has a control or non-ASCII character');
  const fields = line.split(' ');
  const protocol = fields[1];
  const rest = bytes.subarray(end);
  if (protocol === 'UNKNOWN') {
    // The specification: the receiver must ignore anything after UNKNOWN and use the real
    // connection's addresses.
    return done({ version: 1, command: 'PROXY', family: undefined, tlvs: NO_TLVS, length: end }, rest);
  }
  if (protocol !== 'TCP4' && protocol !== 'TCP6') {
    throw new ProxyProtocolError(`v1 protocol ${JSON.stringify(protocol ?? '')} is not TCP4, TCP6 or UNKNOWN`);
  }
  if (fields.length !== 6) throw new ProxyProtocolError(`v1 ${protocol} line has ${fields.length} fields, not 6 (single spaces)`);
  const [, , src = '', dst = '', sport = '', dport = ''] = fields;
  const family = protocol === 'TCP4' ? 'IPv4' : 'IPv6';
  const ok = protocol === 'TCP4' ? isIPv4 : isIPv6;
  if (!ok(src)) throw new ProxyProtocolError(`v1 source ${JSON.stringify(src)} is not an ${family} address`);
  if (!ok(dst)) throw new ProxyProtocolError(`v1 destination ${JSON.stringify(dst)} is not an ${family} address`);
  return done({
    version: 1,
    command: 'PROXY',
    family,
    source: { address: family === 'IPv6' ? canonicalIPv6(src) : src, port: v1Port('source', sport) },
    destination: { address: family === 'IPv6' ? canonicalIPv6(dst) : dst, port: v1Port('destination', dport) },
    tlvs: NO_TLVS,
    length: end,
  }, rest);
}

function v1Port(which: string, text: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65535) {
    throw new ProxyProtocolError(`v1 ${which} port ${JSON.stringify(text)} is not a decimal 0…65535`);
  }
  return Number(text);
}

// ── Version 2 ───────────────────────────────────────────────────────────────────

function parseV2(bytes: Buffer): ProxyParseResult {
  if (bytes.length < V2_FIXED_BYTES) {
    // Refuse a bad version/command or family byte as soon as it is here.
    if (bytes.length > 12) checkVersionCommand(bytes[12]!);
    if (bytes.length > 13) checkFamily(bytes[13]!);
    return NEED_MORE;
  }
  const command = checkVersionCommand(bytes[12]!);
  const { family, transport } = checkFamily(bytes[13]!);
  const length = bytes.readUInt16BE(14);
  if (length > V2_MAX_LENGTH) throw new ProxyProtocolError(`v2 header of ${length} bytes, more than the ${V2_MAX_LENGTH} accepted`);
  const total = V2_FIXED_BYTES + length;
  if (bytes.length < total) return NEED_MORE;
  const block = bytes.subarray(V2_FIXED_BYTES, total);
  const rest = bytes.subarray(total);

  let addressBytes = 0;
  if (family !== 'unspec') {
    addressBytes = V2_ADDRESS_BYTES[family];
    if (block.length < addressBytes) {
      throw new ProxyProtocolError(`v2 ${family} addresses need ${addressBytes} bytes, the header has ${block.length}`);
    }
  }
  const tlvs = parseTlvs(block.subarray(addressBytes), 'TLV');
  if (tlvs.crc32c !== undefined) checkCrc32c(bytes.subarray(0, total), tlvs.crc32c.offset + V2_FIXED_BYTES + addressBytes);
  const base = { version: 2 as const, tlvs: tlvs.decoded, length: total };
  // LOCAL: the balancer's own connection (health checks); the addresses, if any, are to be
  // ignored. AF_UNSPEC with PROXY: the sender does not know them — use the connection's.
  if (command === 'LOCAL' || family === 'unspec') return done({ ...base, command, family: undefined }, rest);
  if (transport !== 'stream') throw new ProxyProtocolError(`v2 transport ${transport} is not STREAM (this is a TCP server)`);
  if (family === 'unix') {
    return done({
      ...base, command, family: 'unix',
      source: { address: unixPath(block.subarray(0, UNIX_PATH_BYTES)), port: 0 },
      destination: { address: unixPath(block.subarray(UNIX_PATH_BYTES, 2 * UNIX_PATH_BYTES)), port: 0 },
    }, rest);
  }
  const ipBytes = family === 'inet' ? 4 : 16;
  const format = family === 'inet' ? formatIPv4 : formatIPv6;
  return done({
    ...base, command, family: family === 'inet' ? 'IPv4' : 'IPv6',
    source: { address: format(block.subarray(0, ipBytes)), port: block.readUInt16BE(2 * ipBytes) },
    destination: { address: format(block.subarray(ipBytes, 2 * ipBytes)), port: block.readUInt16BE(2 * ipBytes + 2) },
  }, rest);
}

function checkVersionCommand(byte: number): 'LOCAL' | 'PROXY' {
  if (byte >> 4 !== 2) throw new ProxyProtocolError(`v2 version nibble is ${byte >> 4}, not 2`);
  const command = byte & 0x0f;
  if (command === 0) return 'LOCAL';
  if (command === 1) return 'PROXY';
  throw new ProxyProtocolError(`v2 command ${command} is neither LOCAL (0) nor PROXY (1)`);
}

function checkFamily(byte: number): { family: 'unspec' | 'inet' | 'inet6' | 'unix'; transport: 'unspec' | 'stream' | 'dgram' } {
  const families = ['unspec', 'inet', 'inet6', 'unix'] as const;
  const transports = ['unspec', 'stream', 'dgram'] as const;
  const family = families[byte >> 4];
  const transport = transports[byte & 0x0f];
  if (family === undefined) throw new ProxyProtocolError(`v2 address family ${byte >> 4} is unknown`);
  if (transport === undefined) throw new ProxyProtocolError(`v2 transport ${byte & 0x0f} is unknown`);
  return { family, transport };
}

interface ParsedTlvs {
  decoded: ProxyTlvs;
  /** Where the CRC32C TLV's value starts within the TLV area, and the value. */
  crc32c?: { offset: number; value: number };
}

/** Parses a TLV list that must fill `area` exactly (the header's, or an SSL TLV's sub-TLVs). */
function parseTlvs(area: Buffer, what: string): ParsedTlvs {
  const raw: Array<{ type: number; value: Buffer }> = [];
  const out: { alpn?: string; authority?: string; uniqueId?: Buffer; ssl?: ProxySsl; netns?: string } = {};
  let crc32c: ParsedTlvs['crc32c'];
  let at = 0;
  while (at < area.length) {
    if (area.length - at < 3) throw new ProxyProtocolError(`v2 ${what} truncated: ${area.length - at} bytes left, a TLV needs 3`);
    const type = area[at]!;
    const length = area.readUInt16BE(at + 1);
    const start = at + 3;
    if (start + length > area.length) {
      throw new ProxyProtocolError(`v2 ${what} 0x${hex(type)} of ${length} bytes runs past the header (${area.length - start} left)`);
    }
    const value = Buffer.from(area.subarray(start, start + length));
    raw.push(Object.freeze({ type, value }));
    switch (type) {
      case TLV.ALPN: out.alpn = value.toString('latin1'); break;
      case TLV.AUTHORITY: out.authority = utf8(value, 'AUTHORITY'); break;
      case TLV.UNIQUE_ID:
        if (length > 128) throw new ProxyProtocolError(`v2 UNIQUE_ID of ${length} bytes, more than 128`);
        out.uniqueId = value;
        break;
      case TLV.NETNS: out.netns = value.toString('latin1'); break;
      case TLV.SSL: out.ssl = parseSsl(value); break;
      case TLV.CRC32C:
        if (length !== 4) throw new ProxyProtocolError(`v2 CRC32C of ${length} bytes, not 4`);
        crc32c = { offset: start, value: value.readUInt32BE(0) };
        break;
      default: break; // NOOP and types we do not decode stay in `raw`
    }
    at = start + length;
  }
  return { decoded: Object.freeze({ ...out, raw: Object.freeze(raw) }), crc32c };
}

function parseSsl(value: Buffer): ProxySsl {
  if (value.length < 5) throw new ProxyProtocolError(`v2 SSL TLV of ${value.length} bytes, it needs at least 5 (client, verify)`);
  const client = value[0]!;
  const verify = value.readUInt32BE(1);
  const sub = parseTlvs(value.subarray(5), 'SSL sub-TLV').decoded.raw;
  const text = (type: number): string | undefined => {
    const found = sub.find((t) => t.type === type);
    return found === undefined ? undefined : utf8(found.value, `SSL sub-TLV 0x${hex(type)}`);
  };
  const ssl: ProxySsl = {
    client,
    clientSsl: (client & SSL_CLIENT.SSL) !== 0,
    certInConnection: (client & SSL_CLIENT.CERT_CONN) !== 0,
    certInSession: (client & SSL_CLIENT.CERT_SESS) !== 0,
    verify,
    verified: verify === 0,
  };
  const version = text(TLV.SSL_VERSION);
  const cn = text(TLV.SSL_CN);
  const cipher = text(TLV.SSL_CIPHER);
  const sigAlg = text(TLV.SSL_SIG_ALG);
  const keyAlg = text(TLV.SSL_KEY_ALG);
  return Object.freeze({
    ...ssl,
    ...(version === undefined ? {} : { version }),
    ...(cn === undefined ? {} : { cn }),
    ...(cipher === undefined ? {} : { cipher }),
    ...(sigAlg === undefined ? {} : { sigAlg }),
    ...(keyAlg === undefined ? {} : { keyAlg }),
  });
}

/** The specification: the checksum covers the whole header with the CRC32C value taken as zero. */
function checkCrc32c(header: Buffer, valueOffset: number): void {
  const expected = header.readUInt32BE(valueOffset);
  const copy = Buffer.from(header);
  copy.writeUInt32BE(0, valueOffset);
  const actual = crc32c(copy);
  if (actual !== expected) throw new ProxyProtocolError(`v2 CRC32C mismatch (header says 0x${expected.toString(16)}, bytes give 0x${actual.toString(16)})`);
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as the v2 CRC32C TLV uses. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (crc >>> 8) ^ CRC32C_TABLE[(crc ^ byte) & 0xff]!;
  return (crc ^ 0xffffffff) >>> 0;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

// ── Small helpers ───────────────────────────────────────────────────────────────

function done(header: ProxyHeader, rest: Buffer): ProxyParseResult {
  return { done: true, header: Object.freeze(header), rest: Buffer.from(rest) };
}

function formatIPv4(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** As node:net reports IPv6 peers (libuv's inet_ntop: "::1", "::ffff:10.0.0.1"), so limits key on one spelling. */
function formatIPv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return canonicalIPv6(groups.join(':'));
}

function canonicalIPv6(text: string): string {
  return new SocketAddress({ address: text, family: 'ipv6' }).address;
}

/** A v2 Unix address: a path padded with NULs to 108 bytes. */
function unixPath(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

function utf8(value: Buffer, what: string): string {
  const text = value.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(value)) throw new ProxyProtocolError(`v2 ${what} is not valid UTF-8`);
  return text;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
