import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ProxyHeaderParser, ProxyProtocolError, type ProxyHeader, type ProxyParseResult, type ProxyProtocolVersion, TLV,
  V1_MAX_BYTES, V2_MAX_LENGTH, crc32c,
} from '../src/proxy-protocol.js';
import {
  inet6Addresses, inetAddresses, ipv6Bytes, port, sslValue, tlv, unixAddresses, v1, v2,
} from './proxy-header-bytes.js';

function parseAll(bytes: Buffer, accept: ProxyProtocolVersion = 'any'): { header: ProxyHeader; rest: Buffer } {
  const result = new ProxyHeaderParser(accept).push(bytes);
  if (!result.done) throw new Error('header incomplete');
  return result;
}

function refusal(bytes: Buffer, accept: ProxyProtocolVersion = 'any'): string {
  try {
    const result = new ProxyHeaderParser(accept).push(bytes);
    return result.done ? 'accepted' : 'needs more';
  } catch (error) {
    expect(error).toBeInstanceOf(ProxyProtocolError);
    return (error as ProxyProtocolError).reason;
  }
}

/** Feeds `bytes` cut at `cuts` (sorted offsets); returns the first complete result. */
function feed(bytes: Buffer, cuts: number[], accept: ProxyProtocolVersion = 'any'): { results: ProxyParseResult[] } {
  const parser = new ProxyHeaderParser(accept);
  const results: ProxyParseResult[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    const result = parser.push(bytes.subarray(from, cut));
    results.push(result);
    from = cut;
    if (result.done) break;
  }
  return { results };
}

describe('ProxyHeaderParser — version 1', () => {
  const cases: Array<[string, string, Partial<ProxyHeader>]> = [
    ['TCP4', 'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n',
      { family: 'IPv4', source: { address: '192.0.2.1', port: 56324 }, destination: { address: '198.51.100.7', port: 443 } }],
    ['TCP6 (compressed as node:net spells it)', 'PROXY TCP6 2001:0db8:0:0:0:0:0:1 ::1 1 65535\r\n',
      { family: 'IPv6', source: { address: '2001:db8::1', port: 1 }, destination: { address: '::1', port: 65535 } }],
    ['TCP6 IPv4-mapped', 'PROXY TCP6 ::ffff:10.0.0.1 ::ffff:10.0.0.2 0 80\r\n',
      { family: 'IPv6', source: { address: '::ffff:10.0.0.1', port: 0 }, destination: { address: '::ffff:10.0.0.2', port: 80 } }],
    ['UNKNOWN alone', 'PROXY UNKNOWN\r\n', { family: undefined }],
    ['UNKNOWN with ignored addresses', 'PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n', { family: undefined }],
  ];
  it.each(cases)('parses %s', (_name, line, expected) => {
    const { header, rest } = parseAll(Buffer.concat([v1(line), Buffer.from('payload')]));
    expect(header).toMatchObject({ version: 1, command: 'PROXY', length: line.length, ...expected });
    expect(header.tlvs.raw).toEqual([]);
    expect(rest.toString()).toBe('payload');
  });

  it(`accepts a line of exactly ${V1_MAX_BYTES} bytes and refuses one of ${V1_MAX_BYTES + 1}`, () => {
    // The specification's worst case: UNKNOWN followed by two full IPv6 addresses and ports.
    const longest = `PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`;
    expect(longest.length).toBe(V1_MAX_BYTES);
    expect(parseAll(v1(longest)).header.family).toBeUndefined();
    const tcp6 = `PROXY TCP6 ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`;
    expect(parseAll(v1(tcp6)).header.source?.address).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    expect(refusal(v1(`PROXY UNKNOWN ${'x'.repeat(V1_MAX_BYTES - 15)}\r\n`))).toBe(`v1 line longer than ${V1_MAX_BYTES} bytes`);
  });

  it(`refuses ${V1_MAX_BYTES} bytes without a line end before the rest arrives`, () => {
    const parser = new ProxyHeaderParser('v1');
    expect(parser.push(v1(`PROXY TCP4 ${'1'.repeat(V1_MAX_BYTES - 12)}`)).done).toBe(false);
    expect(() => parser.push(v1('1'))).toThrow(new ProxyProtocolError(`v1 line longer than ${V1_MAX_BYTES} bytes`));
  });

  const bad: Array<[string, string, string]> = [
    ['a bare LF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', 'v1 line does not end with CRLF'],
    ['an unknown protocol', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', 'v1 protocol "UDP4" is not TCP4, TCP6 or UNKNOWN'],
    ['a double space', 'PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n', 'v1 TCP4 line has 7 fields, not 6 (single spaces)'],
    ['a missing port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', 'v1 TCP4 line has 5 fields, not 6 (single spaces)'],
    ['an IPv6 address in TCP4', 'PROXY TCP4 ::1 5.6.7.8 1 2\r\n', 'v1 source "::1" is not an IPv4 address'],
    ['an IPv4 address in TCP6', 'PROXY TCP6 ::1 5.6.7.8 1 2\r\n', 'v1 destination "5.6.7.8" is not an IPv6 address'],
    ['a leading zero in an address', 'PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n', 'v1 source "01.2.3.4" is not an IPv4 address'],
    ['a host name', 'PROXY TCP4 localhost 5.6.7.8 1 2\r\n', 'v1 source "localhost" is not an IPv4 address'],
    ['port 65536', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', 'v1 source port "65536" is not a decimal 0…65535'],
    ['a port with a sign', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 +2\r\n', 'v1 destination port "+2" is not a decimal 0…65535'],
    ['a port with a leading zero', 'PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n', 'v1 source port "01" is not a decimal 0…65535'],
    ['a control character', 'PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n', 'v1 line has a control or non-ASCII character'],
    ['lower case', 'proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'expected a v1 or v2 header, got bytes "proxy TCP4 1.2.3"'],
    ['an HTTP request', 'GET / HTTP/1.1\r\n', 'expected a v1 or v2 header, got bytes "GET / HTTP/1.1\\r\\n"'],
  ];
  it.each(bad)('refuses %s with a reason', (_name, line, reason) => {
    expect(refusal(v1(line))).toBe(reason);
  });

  it('refuses garbage at its first byte, before a line end', () => {
    expect(refusal(Buffer.from('G'))).toBe('expected a v1 or v2 header, got bytes "G"');
    expect(refusal(Buffer.from('PROXX'))).toBe('expected a v1 or v2 header, got bytes "PROXX"');
    expect(refusal(Buffer.from('PROX'))).toBe('needs more');
  });

  it("refuses v1 when only v2 is accepted, and v2 when only v1 is", () => {
    expect(refusal(v1('PROXY UNKNOWN\r\n'), 'v2')).toBe('expected the v2 signature, got bytes "PROXY UNKNOWN\\r\\n"');
    expect(refusal(v2(), 'v1')).toMatch(/^expected a v1 header \("PROXY "\), got bytes /);
    expect(parseAll(v1('PROXY UNKNOWN\r\n'), 'v1').header.version).toBe(1);
    expect(parseAll(v2(), 'v2').header.version).toBe(2);
  });

  it('is not fed again after a header or a refusal', () => {
    const parser = new ProxyHeaderParser();
    parser.push(v1('PROXY UNKNOWN\r\n'));
    expect(() => parser.push(Buffer.from('x'))).toThrow('ProxyHeaderParser.push after the header was complete or refused');
  });
});

describe('ProxyHeaderParser — version 2', () => {
  it('parses PROXY over INET with the payload after it', () => {
    const { header, rest } = parseAll(Buffer.concat([v2(), Buffer.from('hello')]));
    expect(header).toMatchObject({
      version: 2, command: 'PROXY', family: 'IPv4', length: 28,
      source: { address: '192.0.2.1', port: 56324 }, destination: { address: '198.51.100.7', port: 443 },
    });
    expect(rest.toString()).toBe('hello');
  });

  it('parses INET6 addresses into the spelling node:net uses', () => {
    const { header } = parseAll(v2({ familyByte: 0x21, addresses: inet6Addresses('2001:db8::7', '::ffff:a01:203', 1, 2) }));
    expect(header).toMatchObject({
      family: 'IPv6', source: { address: '2001:db8::7', port: 1 }, destination: { address: '::ffff:10.1.2.3', port: 2 },
    });
  });

  it('parses UNIX addresses (paths padded with NULs)', () => {
    const { header } = parseAll(v2({ familyByte: 0x31, addresses: unixAddresses('/run/client.sock', '/run/haproxy.sock') }));
    expect(header).toMatchObject({
      family: 'unix', source: { address: '/run/client.sock', port: 0 }, destination: { address: '/run/haproxy.sock', port: 0 },
    });
  });

  it('parses LOCAL (a health check) with or without addresses, and skips them', () => {
    const bare = parseAll(v2({ command: 0, familyByte: 0x00, addresses: Buffer.alloc(0) })).header;
    expect(bare).toMatchObject({ command: 'LOCAL', family: undefined, length: 16 });
    expect(bare.source).toBeUndefined();
    const { header, rest } = parseAll(Buffer.concat([v2({ command: 0 }), Buffer.from('x')]));
    expect(header).toMatchObject({ command: 'LOCAL', family: undefined });
    expect(header.source).toBeUndefined();
    expect(rest.toString()).toBe('x');
  });

  it('parses PROXY with AF_UNSPEC as "no addresses" (use the connection\'s)', () => {
    expect(parseAll(v2({ familyByte: 0x00, addresses: Buffer.alloc(0) })).header).toMatchObject({ command: 'PROXY', family: undefined });
  });

  it('decodes ALPN, AUTHORITY, UNIQUE_ID, NETNS and SSL (client flags, verify, version, CN, cipher, algorithms)', () => {
    const ssl = sslValue(0x07, 0, [
      tlv(TLV.SSL_VERSION, 'TLSv1.3'), tlv(TLV.SSL_CN, 'client.example'), tlv(TLV.SSL_CIPHER, 'TLS_AES_128_GCM_SHA256'),
      tlv(TLV.SSL_SIG_ALG, 'RSA-SHA256'), tlv(TLV.SSL_KEY_ALG, 'RSA2048'),
    ]);
    const { header } = parseAll(v2({
      tlvs: [tlv(TLV.ALPN, 'h2'), tlv(TLV.AUTHORITY, 'example.com'), tlv(TLV.UNIQUE_ID, Buffer.from([1, 2, 3])),
        tlv(TLV.NOOP, Buffer.alloc(3)), tlv(TLV.NETNS, 'blue'), tlv(TLV.SSL, ssl), tlv(0xe0, 'custom')],
    }));
    expect(header.tlvs).toMatchObject({
      alpn: 'h2', authority: 'example.com', uniqueId: Buffer.from([1, 2, 3]), netns: 'blue',
      ssl: {
        client: 7, clientSsl: true, certInConnection: true, certInSession: true, verify: 0, verified: true,
        version: 'TLSv1.3', cn: 'client.example', cipher: 'TLS_AES_128_GCM_SHA256', sigAlg: 'RSA-SHA256', keyAlg: 'RSA2048',
      },
    });
    expect(header.tlvs.raw.map((t) => t.type)).toEqual([0x01, 0x02, 0x05, 0x04, 0x30, 0x20, 0xe0]);
    expect(header.tlvs.raw[6]!.value.toString()).toBe('custom');
  });

  it('reports an SSL client that failed verification and sent no certificate', () => {
    const { header } = parseAll(v2({ tlvs: [tlv(TLV.SSL, sslValue(0x01, 20, []))] }));
    expect(header.tlvs.ssl).toEqual({
      client: 1, clientSsl: true, certInConnection: false, certInSession: false, verify: 20, verified: false,
    });
  });

  it('checks a CRC32C TLV over the whole header', () => {
    const withCrc = (corrupt: boolean): Buffer => {
      const header = v2({ tlvs: [tlv(TLV.ALPN, 'h2'), tlv(TLV.CRC32C, Buffer.alloc(4))] });
      const at = header.length - 4;
      header.writeUInt32BE(crc32c(header), at);
      if (corrupt) header[16] ^= 1; // the first source address byte
      return header;
    };
    expect(parseAll(withCrc(false)).header.tlvs.alpn).toBe('h2');
    expect(refusal(withCrc(true))).toMatch(/^v2 CRC32C mismatch \(header says 0x[0-9a-f]+, bytes give 0x[0-9a-f]+\)$/);
    // The specification's check value for CRC-32C ("123456789" → 0xE3069283).
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it(`accepts ${V2_MAX_LENGTH} bytes after the fixed part and refuses more as soon as the length is known`, () => {
    const fill = (n: number): Array<{ type: number; value: Buffer }> => [tlv(TLV.NOOP, Buffer.alloc(n))];
    expect(parseAll(v2({ tlvs: fill(V2_MAX_LENGTH - 12 - 3) })).header.length).toBe(16 + V2_MAX_LENGTH);
    const oversized = v2({ tlvs: fill(V2_MAX_LENGTH - 12 - 2) });
    expect(refusal(oversized.subarray(0, 16))).toBe(`v2 header of ${V2_MAX_LENGTH + 1} bytes, more than the ${V2_MAX_LENGTH} accepted`);
  });

  const bad: Array<[string, Buffer, string]> = [
    ['version 1 in the binary form', v2({ version: 1 }), 'v2 version nibble is 1, not 2'],
    ['command 2', v2({ command: 2 }), 'v2 command 2 is neither LOCAL (0) nor PROXY (1)'],
    ['address family 4', v2({ familyByte: 0x41 }), 'v2 address family 4 is unknown'],
    ['transport 3', v2({ familyByte: 0x13 }), 'v2 transport 3 is unknown'],
    ['DGRAM with PROXY', v2({ familyByte: 0x12 }), 'v2 transport dgram is not STREAM (this is a TCP server)'],
    ['INET addresses cut short', v2({ addresses: Buffer.alloc(8) }), 'v2 inet addresses need 12 bytes, the header has 8'],
    ['INET6 with INET addresses', v2({ familyByte: 0x21 }), 'v2 inet6 addresses need 36 bytes, the header has 12'],
    ['a TLV cut in its head', v2({ tlvs: [], addresses: Buffer.concat([inetAddresses('1.2.3.4', '5.6.7.8', 1, 2), Buffer.from([1, 0])]) }),
      'v2 TLV truncated: 2 bytes left, a TLV needs 3'],
    ['a TLV running past the header',
      v2({ addresses: Buffer.concat([inetAddresses('1.2.3.4', '5.6.7.8', 1, 2), Buffer.from([1, 0, 9]), Buffer.from('h2')]) }),
      'v2 TLV 0x01 of 9 bytes runs past the header (2 left)'],
    ['an SSL TLV shorter than 5 bytes', v2({ tlvs: [tlv(TLV.SSL, Buffer.from([1, 0]))] }),
      'v2 SSL TLV of 2 bytes, it needs at least 5 (client, verify)'],
    ['a broken SSL sub-TLV', v2({ tlvs: [tlv(TLV.SSL, Buffer.concat([sslValue(1, 0, []), Buffer.from([0x21, 0, 5, 0x41])]))] }),
      'v2 SSL sub-TLV 0x21 of 5 bytes runs past the header (1 left)'],
    ['a CRC32C TLV of 3 bytes', v2({ tlvs: [tlv(TLV.CRC32C, Buffer.alloc(3))] }), 'v2 CRC32C of 3 bytes, not 4'],
    ['a UNIQUE_ID over 128 bytes', v2({ tlvs: [tlv(TLV.UNIQUE_ID, Buffer.alloc(129))] }), 'v2 UNIQUE_ID of 129 bytes, more than 128'],
    ['an AUTHORITY that is not UTF-8', v2({ tlvs: [tlv(TLV.AUTHORITY, Buffer.from([0xc3, 0x28]))] }), 'v2 AUTHORITY is not valid UTF-8'],
    ['a broken signature', Buffer.concat([Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0b]), Buffer.alloc(4)]),
      'expected a v1 or v2 header, got bytes "\\r\\n\\r\\n\\u0000\\r\\nQUIT\\u000b\\u0000\\u0000\\u0000\\u0000"'],
  ];
  it.each(bad)('refuses %s with a reason', (_name, bytes, reason) => {
    expect(refusal(bytes)).toBe(reason);
  });

  it('refuses a bad version or command byte before the length has arrived', () => {
    expect(refusal(v2({ version: 3 }).subarray(0, 13))).toBe('v2 version nibble is 3, not 2');
    expect(refusal(v2({ familyByte: 0x51 }).subarray(0, 14))).toBe('v2 address family 5 is unknown');
  });
});

// ── Any split of a valid header gives the same header and the same payload, exactly once ──

/** Valid headers (any version), with what they should parse to. */
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const ipv6Groups = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((n) => n.toString(16)).join(':'));
const portArb = fc.nat(65535);
const tlvArb = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => tlv(TLV.ALPN, s.replace(/[^\x20-\x7e]/g, 'a'))),
  fc.string({ maxLength: 40 }).map((s) => tlv(TLV.AUTHORITY, s)),
  fc.uint8Array({ maxLength: 128 }).map((b) => tlv(TLV.UNIQUE_ID, Buffer.from(b))),
  fc.uint8Array({ maxLength: 30 }).map((b) => tlv(TLV.NOOP, Buffer.from(b))),
  fc.tuple(fc.nat(7), fc.nat(0xffffffff)).map(([c, v]) => tlv(TLV.SSL, sslValue(c, v, [tlv(TLV.SSL_VERSION, 'TLSv1.2')]))),
);
const headerArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(ipv4, ipv4, portArb, portArb).map(([s, d, sp, dp]) => v1(`PROXY TCP4 ${s} ${d} ${sp} ${dp}\r\n`)),
  fc.tuple(ipv6Groups, ipv6Groups, portArb, portArb).map(([s, d, sp, dp]) => v1(`PROXY TCP6 ${s} ${d} ${sp} ${dp}\r\n`)),
  fc.constant(v1('PROXY UNKNOWN\r\n')),
  fc.tuple(ipv4, ipv4, portArb, portArb, fc.array(tlvArb, { maxLength: 5 }))
    .map(([s, d, sp, dp, tlvs]) => v2({ addresses: inetAddresses(s, d, sp, dp), tlvs })),
  fc.tuple(ipv6Groups, ipv6Groups, portArb, portArb, fc.array(tlvArb, { maxLength: 5 }))
    .map(([s, d, sp, dp, tlvs]) => v2({ familyByte: 0x21, addresses: Buffer.concat([ipv6Bytes(s), ipv6Bytes(d), port(sp), port(dp)]), tlvs })),
  fc.array(tlvArb, { maxLength: 3 }).map((tlvs) => v2({ command: 0, familyByte: 0, addresses: Buffer.alloc(0), tlvs })),
  fc.constant(v2({ familyByte: 0x31, addresses: unixAddresses('/tmp/a', '/tmp/b'), tlvs: [] })),
);

describe('ProxyHeaderParser — splits', () => {
  it('parses every valid header the same way whatever the split, and hands on the payload exactly once', () => {
    fc.assert(fc.property(headerArb, fc.uint8Array({ maxLength: 64 }), (header, payloadBytes) => {
      const payload = Buffer.from(payloadBytes);
      const wire = Buffer.concat([header, payload]);
      const whole = parseAll(wire);
      expect(whole.header.length).toBe(header.length);
      expect(whole.rest.equals(payload)).toBe(true);
      // Cut once at every byte offset …
      for (let cut = 0; cut <= wire.length; cut++) {
        const { results } = feed(wire, [cut]);
        const last = results.at(-1)!;
        expect(last.done).toBe(true);
        if (!last.done) return;
        expect(last.header).toEqual(whole.header);
        // The payload is what came after the header in the chunk that completed it, then the
        // chunks never fed to the parser (the stage hands those on as they are).
        const fed = results.length === 1 ? cut : wire.length;
        expect(Buffer.concat([last.rest, wire.subarray(fed)]).equals(payload)).toBe(true);
      }
      // … and one byte at a time: nothing before the header's last byte completes it.
      const { results } = feed(wire, Array.from({ length: wire.length }, (_, i) => i + 1));
      expect(results.length).toBe(header.length);
      expect(results.slice(0, -1).every((r) => !r.done)).toBe(true);
    }), { numRuns: 200 });
  });

  it('parses the same header when it arrives in random chunks', () => {
    fc.assert(fc.property(headerArb, fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(300), { maxLength: 8 }), (header, payloadBytes, rawCuts) => {
      const wire = Buffer.concat([header, Buffer.from(payloadBytes)]);
      const cuts = [...new Set(rawCuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
      const { results } = feed(wire, cuts);
      const last = results.at(-1)!;
      expect(last.done).toBe(true);
      if (!last.done) return;
      expect(last.header).toEqual(parseAll(wire).header);
      const fed = [...cuts, wire.length][results.length - 1]!;
      expect(Buffer.concat([last.rest, wire.subarray(fed)]).equals(Buffer.from(payloadBytes))).toBe(true);
    }), { numRuns: 300 });
  });

  it('refuses a corrupted v2 length or TLV area the same way whatever the split', () => {
    fc.assert(fc.property(headerArb.filter((h) => h[0] === 0x0d), fc.nat(), (header, n) => {
      const broken = Buffer.from(header);
      broken.writeUInt16BE(V2_MAX_LENGTH + 1 + (n % 1000), 14);
      const reason = refusal(broken);
      for (let cut = 16; cut <= broken.length; cut++) {
        expect(() => feed(broken, [cut])).toThrow(new ProxyProtocolError(reason));
      }
    }), { numRuns: 50 });
  });

});
