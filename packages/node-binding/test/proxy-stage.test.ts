/**
 * The PROXY stage over real loopback sockets: a test peer plays the load balancer and writes the
 * header itself (test/haproxy.test.ts does the same with a real HAProxy).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, TcpEvent, createServer, type Client, type ServerOptions, type TcpServer } from '../src/index.js';
import { TLV } from '../src/proxy-protocol.js';
import { addr, destroyAll, ipv6Available, randomBytes, readAll, sha256, startServer, waitFor } from './support/helpers.js';
import { inetAddresses, sslValue, tlv, unixAddresses, v1, v2 } from './proxy-header-bytes.js';

const peers = new Set<Socket>();

afterEach(async () => {
  for (const peer of peers) peer.destroy();
  peers.clear();
  delete process.env.TCPSERV_READ_PATH;
  await destroyAll();
});

/** A peer connected from `localAddress` (127.0.0.x) that plays the balancer. */
function balancer(server: TcpServer, localAddress = '127.0.0.1'): Promise<Socket> {
  const { address, port } = addr(server);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, localAddress });
    peers.add(socket);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A server with a PROXY stage that records every event it dispatches. */
async function proxyServer(options: Partial<ServerOptions> = {}): Promise<{ server: TcpServer; events: string[] }> {
  const events: string[] = [];
  const server = await startServer({
    proxyProtocol: 'any',
    notify: (client, event) => {
      events.push(`${TcpEvent[event]}:${client.id}`);
    },
    ...options,
  });
  return { server, events };
}

/** Resolves once the server closed the peer (end or close seen). */
function closedByServer(socket: Socket): Promise<void> {
  return readAll(socket, 10_000).then(() => undefined);
}

async function recvExactly(client: Client, length: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  let have = 0;
  while (have < length) {
    const n = await client.recv(out.subarray(have), 5000);
    if (n === null || n === 0) throw new Error(`got ${have} of ${length} bytes (${n === null ? 'end of stream' : 'timeout'})`);
    have += n;
  }
  return out;
}

describe('proxyProtocol: the real client behind the header', () => {
  it('v1: remoteAddress/remotePort/remoteFamily are the client\'s, client.proxy the balancer\'s', async () => {
    const { server, events } = await proxyServer({ proxyProtocol: 'v1' });
    const peer = await balancer(server, '127.0.0.2');
    peer.write(v1(`PROXY TCP4 203.0.113.7 198.51.100.1 40001 ${addr(server).port}\r\nhello`));
    const client = (await server.accept(5000))!;
    expect(client).not.toBeNull();
    expect([client.remoteAddress, client.remotePort, client.remoteFamily]).toEqual(['203.0.113.7', 40001, 'IPv4']);
    expect(client.proxy).toEqual({
      address: '127.0.0.2', port: peer.localPort, family: 'IPv4', version: 1, relayed: true,
      destination: { address: '198.51.100.1', port: addr(server).port }, tlvs: { raw: [] },
    });
    expect(client.toString()).toBe(`client 1 (203.0.113.7:40001)`);
    expect((await recvExactly(client, 5)).toString()).toBe('hello');
    expect(events).toEqual(['CONNECT:1', 'RECV:1']);
  });

  it('v2: IPv6 client, ALPN, authority and SSL flags in client.proxy.tlvs', async () => {
    const { server } = await proxyServer({ proxyProtocol: 'v2' });
    const peer = await balancer(server);
    const addresses = Buffer.concat([
      Buffer.from('20010db8000000000000000000000042', 'hex'), Buffer.from('20010db8000000000000000000000001', 'hex'),
      Buffer.from([0x9c, 0x41, 0x01, 0xbb]),
    ]);
    peer.write(v2({
      familyByte: 0x21, addresses,
      tlvs: [tlv(TLV.ALPN, 'h2'), tlv(TLV.AUTHORITY, 'chat.example'), tlv(TLV.SSL, sslValue(0x03, 0, [tlv(TLV.SSL_VERSION, 'TLSv1.3'), tlv(TLV.SSL_CN, 'alice')]))],
    }));
    const client = (await server.accept(5000))!;
    expect([client.remoteAddress, client.remotePort, client.remoteFamily]).toEqual(['2001:db8::42', 0x9c41, 'IPv6']);
    expect(client.proxy).toMatchObject({
      address: '127.0.0.1', family: 'IPv4', version: 2, relayed: true, destination: { address: '2001:db8::1', port: 443 },
      tlvs: {
        alpn: 'h2', authority: 'chat.example',
        ssl: { clientSsl: true, certInConnection: true, certInSession: false, verified: true, version: 'TLSv1.3', cn: 'alice' },
      },
    });
  });

  it("'any' takes v1 and v2 on the same port; UNKNOWN and AF_UNSPEC keep the balancer's address", async () => {
    const { server } = await proxyServer({ proxyProtocol: 'any' });
    const a = await balancer(server);
    a.write(v1('PROXY TCP4 10.0.0.1 10.0.0.2 1000 2000\r\n'));
    const first = (await server.accept(5000))!;
    const b = await balancer(server);
    b.write(v2({ addresses: inetAddresses('10.0.0.3', '10.0.0.2', 1001, 2000) }));
    const second = (await server.accept(5000))!;
    const c = await balancer(server, '127.0.0.3');
    c.write(v1('PROXY UNKNOWN\r\n'));
    const third = (await server.accept(5000))!;
    const d = await balancer(server, '127.0.0.4');
    d.write(v2({ familyByte: 0x00, addresses: Buffer.alloc(0) }));
    const fourth = (await server.accept(5000))!;
    expect([first.remoteAddress, first.proxy?.version]).toEqual(['10.0.0.1', 1]);
    expect([second.remoteAddress, second.proxy?.version]).toEqual(['10.0.0.3', 2]);
    expect([third.remoteAddress, third.remotePort, third.proxy?.relayed]).toEqual(['127.0.0.3', c.localPort, false]);
    expect([fourth.remoteAddress, fourth.proxy?.relayed, fourth.proxy?.version]).toEqual(['127.0.0.4', false, 2]);
  });

  it('v2 UNIX family: remoteFamily unix, the client\'s path in client.proxy.sourcePath', async () => {
    const { server } = await proxyServer({ proxyProtocol: 'v2', maxClientsPerAddress: 1 });
    for (let i = 0; i < 2; i++) {
      const peer = await balancer(server);
      peer.write(v2({ familyByte: 0x31, addresses: unixAddresses(`/run/c${i}.sock`, '/run/lb.sock') }));
    }
    const clients = [(await server.accept(5000))!, (await server.accept(5000))!];
    for (const client of clients) {
      expect([client.remoteAddress, client.remotePort, client.remoteFamily]).toEqual(['', 0, 'unix']);
      expect(client.proxy?.destination).toEqual({ address: '/run/lb.sock', port: 0 });
    }
    expect(clients.map((c) => c.proxy?.sourcePath).sort()).toEqual(['/run/c0.sock', '/run/c1.sock']);
    expect(server.stats().rejected).toBe(0); // per-address limits do not apply to Unix peers
  });

  it('a server without proxyProtocol hands a header through as data and sets no client.proxy', async () => {
    const server = await startServer();
    const peer = await balancer(server);
    peer.write('PROXY UNKNOWN\r\n');
    const client = (await server.accept(5000))!;
    expect(client.proxy).toBeUndefined();
    expect((await recvExactly(client, 15)).toString()).toBe('PROXY UNKNOWN\r\n');
  });
});

describe('proxyProtocol: bytes after the header', () => {
  for (const path of ['onread', 'stream'] as const) {
    it(`reach the client exactly once, in order, on the ${path} read path (same chunk past the ring, later chunks, 1 MiB)`, async () => {
      if (path === 'stream') process.env.TCPSERV_READ_PATH = 'stream';
      const { server } = await proxyServer({ rxBufferSize: 4096 });
      const payload = randomBytes(1 << 20, 13);
      const peer = await balancer(server);
      // The header and the first 20000 payload bytes (five times the ring) in one write, the rest after.
      peer.write(Buffer.concat([v2({ addresses: inetAddresses('192.0.2.9', '192.0.2.1', 5, 6) }), payload.subarray(0, 20000)]));
      const client = (await server.accept(5000))!;
      expect(client.readPath).toBe(path);
      peer.end(payload.subarray(20000));
      const got = await recvExactly(client, payload.length);
      expect(sha256(got)).toBe(sha256(payload));
      expect(await client.recv(Buffer.alloc(16), 5000)).toBeNull();
      expect(server.stats().bytesIn).toBe(payload.length);
    });
  }

  it('reach the client exactly once when the header comes one byte at a time', async () => {
    const { server } = await proxyServer();
    const peer = await balancer(server);
    const wire = Buffer.concat([v1('PROXY TCP4 192.0.2.44 192.0.2.1 7 8\r\n'), Buffer.from('first')]);
    for (let i = 0; i < wire.length; i++) {
      peer.write(wire.subarray(i, i + 1));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const client = (await server.accept(5000))!;
    expect(client.remoteAddress).toBe('192.0.2.44');
    peer.write('second');
    expect((await recvExactly(client, 11)).toString()).toBe('firstsecond');
    expect(client.stats.bytesIn).toBe(11);
  });
});

describe('proxyProtocol: refusals are closed, counted and never a CONNECT', () => {
  const cases: Array<[string, ServerOptions['proxyProtocol'], Buffer]> = [
    ['missing (the client\'s own bytes)', 'any', Buffer.from('hello server\r\n')],
    ['malformed v1', 'v1', v1('PROXY TCP4 1.2.3.4 nope 1 2\r\n')],
    ['malformed v2', 'v2', v2({ command: 7 })],
    ['oversized v1', 'v1', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(200)}`)],
    ['oversized v2', 'v2', v2({ length: 60000 }).subarray(0, 16)],
    ['v1 on a v2-only server', 'v2', v1('PROXY UNKNOWN\r\n')],
    ['v2 on a v1-only server', 'v1', v2()],
  ];
  it.each(cases)('%s', async (_name, proxyProtocol, bytes) => {
    const { server, events } = await proxyServer({ proxyProtocol });
    const peer = await balancer(server);
    const closed = closedByServer(peer);
    peer.write(bytes);
    await closed;
    await waitFor(() => server.stats().proxyErrors === 1, 'proxyErrors 1');
    expect(server.stats()).toMatchObject({ opened: 0, live: 0, proxyErrors: 1, rejected: 0 });
    expect(events).toEqual([]);
    expect(await server.accept(0)).toBeNull();
  });

  it('closes a connection whose header is too slow (proxyProtocolTimeout)', async () => {
    const { server, events } = await proxyServer({ proxyProtocolTimeout: 100 });
    const silent = await balancer(server);
    const partial = await balancer(server);
    partial.write('PROXY TCP4 ');
    await Promise.all([closedByServer(silent), closedByServer(partial)]);
    await waitFor(() => server.stats().proxyErrors === 2, 'proxyErrors 2');
    expect(server.stats()).toMatchObject({ opened: 0, live: 0 });
    expect(events).toEqual([]);
  });

  it('counts a peer that closes before its header is complete', async () => {
    const { server, events } = await proxyServer();
    const peer = await balancer(server);
    peer.end('PROXY TCP4 1.2.3.4');
    await waitFor(() => server.stats().proxyErrors === 1, 'proxyErrors 1');
    expect(events).toEqual([]);
  });

  it('refuses a header from a peer not in trustedProxies and takes one from a peer in it', async () => {
    const { server, events } = await proxyServer({ trustedProxies: ['127.0.0.2', '10.0.0.0/8', '::1/128'] });
    const untrusted = await balancer(server, '127.0.0.1');
    const closed = closedByServer(untrusted);
    untrusted.write(v1('PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n'));
    await closed;
    await waitFor(() => server.stats().proxyErrors === 1, 'proxyErrors 1');
    expect(events).toEqual([]);
    const trusted = await balancer(server, '127.0.0.2');
    trusted.write(v1('PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n'));
    const client = (await server.accept(5000))!;
    expect(client.remoteAddress).toBe('192.0.2.1');
    expect(server.stats().proxyErrors).toBe(1);
  });

  it('closes a v2 LOCAL connection (a health check) without a client and without counting an error', async () => {
    const { server, events } = await proxyServer();
    const peer = await balancer(server);
    const closed = closedByServer(peer);
    peer.write(v2({ command: 0, familyByte: 0, addresses: Buffer.alloc(0) }));
    await closed;
    expect(server.stats()).toMatchObject({ opened: 0, proxyErrors: 0, rejected: 0 });
    expect(events).toEqual([]);
  });

  it('closes a v1 header that names its own connection (HAProxy\'s v1 health check) without a client', async () => {
    const { server, events } = await proxyServer();
    const peer = await balancer(server, '127.0.0.2');
    const closed = closedByServer(peer);
    peer.write(v1(`PROXY TCP4 127.0.0.2 127.0.0.1 ${peer.localPort} ${addr(server).port}\r\n`));
    await closed;
    expect(server.stats()).toMatchObject({ opened: 0, proxyErrors: 0 });
    expect(events).toEqual([]);
    // The same line with another source port is a relayed client.
    const other = await balancer(server, '127.0.0.2');
    const otherPort = other.localPort === 65535 ? 1 : (other.localPort ?? 0) + 1;
    other.write(v1(`PROXY TCP4 127.0.0.2 127.0.0.1 ${otherPort} ${addr(server).port}\r\n`));
    expect((await server.accept(5000))?.remoteAddress).toBe('127.0.0.2');
  });

  it('destroy during a pending header closes it without counting an error', async () => {
    const { server } = await proxyServer();
    const peer = await balancer(server);
    const closed = closedByServer(peer);
    peer.write('PROXY ');
    await waitFor(() => server.stats().usedSlots === 0 && peer.bytesWritten === 6, 'bytes written');
    await server.destroy();
    await closed;
    expect(server.stats().proxyErrors).toBe(0);
  });
});

describe('proxyProtocol on other listeners', () => {
  it('a Unix socket listener takes the header and the real client\'s address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpserv-proxy-'));
    try {
      const server = await startServer({ host: undefined, port: undefined, path: join(dir, 's.sock'), proxyProtocol: 'v1', maxClientsPerAddress: 1 });
      const open = (): Promise<Socket> => new Promise((resolve, reject) => {
        const socket = connect(join(dir, 's.sock'));
        peers.add(socket);
        socket.once('connect', () => resolve(socket));
        socket.once('error', reject);
      });
      const a = await open();
      a.write(v1('PROXY TCP6 2001:db8::5 2001:db8::1 4000 7000\r\nhi'));
      const client = (await server.accept(5000))!;
      expect([client.remoteAddress, client.remotePort, client.remoteFamily]).toEqual(['2001:db8::5', 4000, 'IPv6']);
      expect(client.proxy).toMatchObject({ address: '', family: 'unix', version: 1 });
      expect((await recvExactly(client, 2)).toString()).toBe('hi');
      // The per-address limit applies to the real address even though the peers are Unix sockets.
      const b = await open();
      const closed = closedByServer(b);
      b.write(v1('PROXY TCP6 2001:db8::5 2001:db8::1 4001 7000\r\n'));
      await closed;
      expect(server.stats()).toMatchObject({ live: 1, rejected: 1 });
    } finally {
      await destroyAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a dual-stack listener ("::") matches IPv4 trustedProxies against IPv4-mapped peers', async () => {
    if (!(await ipv6Available())) {
      process.stderr.write('*** no IPv6 loopback here: dual-stack trustedProxies test SKIPPED ***\n');
      return;
    }
    const server = await startServer({ host: '::', proxyProtocol: 'v1', trustedProxies: ['127.0.0.2/32'] });
    const { port } = addr(server);
    const from = (localAddress: string): Promise<Socket> => new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress });
      peers.add(socket);
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
    const refused = await from('127.0.0.3');
    const closed = closedByServer(refused);
    refused.write(v1('PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n'));
    await closed;
    const trusted = await from('127.0.0.2');
    trusted.write(v1('PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n'));
    const client = (await server.accept(5000))!;
    expect(client.proxy?.address).toBe('::ffff:127.0.0.2');
    expect(client.remoteAddress).toBe('192.0.2.1');
    expect(server.stats().proxyErrors).toBe(1);
  });
});

describe('proxyProtocol: per-address limits use the real address', () => {
  it('counts clients by the address in the header, not the balancer\'s', async () => {
    const { server } = await proxyServer({ maxClientsPerAddress: 1 });
    const header = (ip: string, sport: number): Buffer => v1(`PROXY TCP4 ${ip} 192.0.2.1 ${sport} 80\r\n`);
    const a = await balancer(server);
    a.write(header('198.51.100.1', 1));
    const b = await balancer(server);
    b.write(header('198.51.100.2', 2));
    const first = (await server.accept(5000))!;
    const second = (await server.accept(5000))!;
    expect([first.remoteAddress, second.remoteAddress].sort()).toEqual(['198.51.100.1', '198.51.100.2']);
    // The same real address again, through the same balancer: refused.
    const c = await balancer(server);
    const closed = closedByServer(c);
    c.write(header('198.51.100.1', 3));
    await closed;
    await waitFor(() => server.stats().rejected === 1, 'one refusal');
    expect(server.stats()).toMatchObject({ live: 2, opened: 2, proxyErrors: 0 });
    // Once the first one leaves, its address has room again.
    await first.close();
    await waitFor(() => server.stats().live === 1, 'first gone');
    const d = await balancer(server);
    d.write(header('198.51.100.1', 4));
    expect((await server.accept(5000))?.remotePort).toBe(4);
  });
});

describe('proxyProtocol: the balancer\'s own address', () => {
  it('clients counted under the balancer\'s address (UNKNOWN) never block other clients it relays', async () => {
    const { server } = await proxyServer({ maxClientsPerAddress: 1 });
    const unknown = await balancer(server);
    unknown.write(v1('PROXY UNKNOWN\r\n'));
    expect((await server.accept(5000))?.remoteAddress).toBe('127.0.0.1');
    const relayed = await balancer(server);
    relayed.write(v1('PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n'));
    expect((await server.accept(5000))?.remoteAddress).toBe('192.0.2.1');
    // A second UNKNOWN one is over the limit for 127.0.0.1 — after its header, not before.
    const again = await balancer(server);
    const closed = closedByServer(again);
    again.write(v1('PROXY UNKNOWN\r\n'));
    await closed;
    expect(server.stats()).toMatchObject({ live: 2, rejected: 1, proxyErrors: 0 });
  });
});

describe('proxyProtocol options', () => {
  it('an empty trustedProxies is harmless without proxyProtocol and trusts nobody with it', async () => {
    const plain = await startServer({ trustedProxies: [] });
    expect(plain.stats().proxyErrors).toBe(0);
    const { server, events } = await proxyServer({ trustedProxies: [] });
    const peer = await balancer(server);
    const closed = closedByServer(peer);
    peer.write(v1('PROXY UNKNOWN\r\n'));
    await closed;
    await waitFor(() => server.stats().proxyErrors === 1, 'refused');
    expect(events).toEqual([]);
  });

  it('throws naming the bad trustedProxies entry and the rule', () => {
    const attempt = (trustedProxies: unknown): unknown => {
      try {
        void createServer({ port: 0, proxyProtocol: 'v2', trustedProxies } as ServerOptions);
        return undefined;
      } catch (error) {
        return error;
      }
    };
    const bad = attempt(['10.0.0.0/8', 'localhost']);
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect((bad as Error).message).toBe(
      'options.trustedProxies[1] must be an IPv4 or IPv6 address or CIDR such as "10.0.0.0/8" or "fd00::/8" (no host names) (got "localhost")');
    const prefix = attempt(['10.0.0.0/33']);
    expect((prefix as Error).message).toBe(
      'options.trustedProxies[0] must be a CIDR whose prefix length is 0…32 (e.g. "10.0.0.0/24") (got "10.0.0.0/33")');
    expect((attempt(['fd00::/129']) as Error).message).toMatch(/^options\.trustedProxies\[0\] must be a CIDR whose prefix length is 0…128/);
    expect((attempt('10.0.0.0/8') as InvalidArgumentError).argument).toBe('options.trustedProxies');
    expect(() => createServer({ port: 0, trustedProxies: ['10.0.0.1'] })).toThrow(
      'options.trustedProxies must be given together with options.proxyProtocol (it lists who may send a PROXY header)');
    expect(() => createServer({ port: 0, proxyProtocol: 'v3' as 'v2' })).toThrow("options.proxyProtocol must be 'v1', 'v2', 'any' or false");
    expect(() => createServer({ port: 0, proxyProtocol: 'v1', proxyProtocolTimeout: 0 })).toThrow('options.proxyProtocolTimeout must be an integer from 1');
  });
});
