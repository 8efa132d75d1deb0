// TLS with the same API as plain TCP: peers we did not write (Python's ssl module, openssl
// s_client) echo 1 B … 4 MiB byte-identical over TLS 1.3 and 1.2, ALPN is chosen, mutual TLS
// accepts a good client certificate and refuses a bad one (counted, never a CONNECT), the
// certificate can be replaced without a restart, bad key material is named, and recv/send
// with timeouts, the notify callback and the cleartext byte counts work over TLS.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { join } from 'node:path';
import { connect as tlsConnect, createSecureContext, type TLSSocket } from 'node:tls';
import { makeTestCerts, type TestCerts } from '@tcpserv/test-support';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError, SendTimeoutError, TcpEvent, TcpServError, createServer, type Client, type TcpServer,
} from '../src/index.js';
import type { Arrival } from '../src/arrival.js';
import { buildSecureContext, resolveTlsOptions } from '../src/tls-options.js';
import { TlsStage } from '../src/tls-stage.js';
import { addr, randomBytes, sha256, startServer, waitFor } from './support/helpers.js';
import { cleanUp } from './support/cleanup.js';
import { echoByNotify, have, pipeThrough, pythonEcho, sayMissing, serveEchoByAccept, type PeerTls } from './support/tls-peers.js';

const made = makeTestCerts();
const certs: TestCerts | undefined = 'error' in made ? undefined : made;
if (!certs) sayMissing('openssl (test certificates)', `${'error' in made ? made.error : ''}`);
const HAVE_PYTHON = have('python3', ['-c', 'import ssl']);
if (!HAVE_PYTHON) sayMissing('python3 with ssl', 'Debian: apt-get install -y python3');
const HAVE_OPENSSL = certs !== undefined && have('openssl', ['version']);

/** 1 B … 4 MiB, including sizes around the TLS record size (16 KiB). */
const SIZES = [1, 255, 4096, 16_383, 16_385, 65_536, 1 << 20, 4 << 20];
const TOTAL = SIZES.reduce((a, b) => a + b, 0);

afterEach(cleanUp);
afterAll(() => certs?.remove());

function serverTls(c: TestCerts, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { key: c.server.key, cert: c.server.cert, ...extra };
}

/** A node:tls client for the checks that need one (certificate seen, renegotiation, a paused reader). */
function tlsDial(server: TcpServer, c: TestCerts, extra: Record<string, unknown> = {}): Promise<TLSSocket> {
  const { port } = addr(server);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: c.ca.cert, servername: 'localhost', ...extra }, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe.skipIf(!certs)('TLS', () => {
  const c = certs!;

  it.skipIf(!HAVE_PYTHON)('echoes 1 B … 4 MiB byte-identical to Python ssl over TLS 1.3 and 1.2 (accept + recv/send), with ALPN chosen', async () => {
    const seen: Client[] = [];
    const server = await startServer({ tls: serverTls(c, { ALPNProtocols: ['tcpserv/1', 'h2'] }) });
    serveEchoByAccept(server, seen);
    const { port } = addr(server);
    for (const version of ['1.3', '1.2'] as const) {
      const tls: PeerTls = { ca: c.ca.certFile, version, alpn: ['other/9', 'tcpserv/1'] };
      const { info, results } = await pythonEcho({ tcp: ['127.0.0.1', port] }, SIZES, tls);
      expect(info.version).toBe(`TLSv${version}`);
      expect(info.alpn).toBe('tcpserv/1');
      expect(results.map((r) => r.size)).toEqual(SIZES);
      for (const r of results) {
        expect(r.length, `${r.size} B over TLS ${version}`).toBe(r.size);
        expect(r.received, `${r.size} B over TLS ${version}`).toBe(r.sent);
      }
    }
    await waitFor(() => server.stats().closed === 2, 'both Python clients to disconnect');
    const stats = server.stats();
    // Cleartext payload bytes only: the handshake and record overhead are not counted.
    expect(stats.bytesIn).toBe(2 * TOTAL);
    expect(stats.bytesOut).toBe(2 * TOTAL);
    expect(stats.tlsErrors).toBe(0);
    expect(seen.map((client) => client.tls?.protocol)).toEqual(['TLSv1.3', 'TLSv1.2']);
    expect(seen.map((client) => client.tls?.alpnProtocol)).toEqual(['tcpserv/1', 'tcpserv/1']);
    expect(seen[0]!.tls?.servername).toBe('localhost');
    expect(seen[0]!.tls?.peerCertificate).toBeUndefined();
    expect(seen[0]!.stats.bytesIn).toBe(TOTAL);
  });

  it.skipIf(!HAVE_OPENSSL)('echoes 1 B … 4 MiB byte-identical to openssl s_client over TLS 1.3 and 1.2 (notify callback)', async () => {
    const events: Array<[number, TcpEvent]> = [];
    const server = await startServer({ tls: serverTls(c, { ALPNProtocols: ['tcpserv/1'] }), notify: echoByNotify(events) });
    const { port } = addr(server);
    let runs = 0;
    for (const version of ['-tls1_3', '-tls1_2']) {
      for (const [i, size] of SIZES.entries()) {
        const data = randomBytes(size, 1000 + i);
        const out = await pipeThrough('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', c.ca.certFile,
          '-verify_return_error', '-servername', 'localhost', '-alpn', 'tcpserv/1', '-quiet', '-nocommands', version], data, size);
        runs++;
        expect(out.stdout.length, `${size} B with s_client ${version}: ${out.stderr}`).toBe(size);
        expect(sha256(out.stdout), `${size} B with s_client ${version}`).toBe(sha256(data));
      }
    }
    await waitFor(() => server.stats().closed === runs, 'every s_client to disconnect');
    expect(server.stats().bytesIn).toBe(2 * TOTAL);
    expect(server.stats().bytesOut).toBe(2 * TOTAL);
    expect(server.stats().tlsErrors).toBe(0);
    // Each client: CONNECT first, DISCONNECT last, once each.
    for (let id = 1; id <= runs; id++) {
      const mine = events.filter(([client]) => client === id).map(([, event]) => event);
      expect(mine[0], `client ${id}`).toBe(TcpEvent.CONNECT);
      expect(mine.at(-1), `client ${id}`).toBe(TcpEvent.DISCONNECT);
      expect(mine.filter((e) => e !== TcpEvent.RECV)).toEqual([TcpEvent.CONNECT, TcpEvent.DISCONNECT]);
    }
  });

  describe('mutual TLS (requestCert, rejectUnauthorized)', () => {
    it.skipIf(!HAVE_PYTHON)('accepts a client certificate signed by ca and shows it in client.tls', async () => {
      const seen: Client[] = [];
      const server = await startServer({ tls: serverTls(c, { ca: c.ca.cert, requestCert: true }) });
      serveEchoByAccept(server, seen);
      const tls: PeerTls = { ca: c.ca.certFile, cert: c.client.certFile, key: c.client.keyFile };
      const { results } = await pythonEcho({ tcp: ['127.0.0.1', addr(server).port] }, [1, 70_000], tls);
      for (const r of results) expect(r.received).toBe(r.sent);
      expect(seen).toHaveLength(1);
      const info = seen[0]!.tls!;
      expect(info.authorized).toBe(true);
      expect(info.authorizationError).toBeNull();
      const x509 = new X509Certificate(c.client.cert);
      expect(info.peerCertificate).toEqual({
        subject: 'CN=good-client', issuer: 'CN=tcpserv test CA', fingerprint256: x509.fingerprint256, validTo: x509.validTo,
      });
      expect(info.cipher).toMatch(/^TLS_/);
      expect(server.stats().tlsErrors).toBe(0);
    });

    it.skipIf(!HAVE_PYTHON || !HAVE_OPENSSL)('refuses a certificate from another CA and a missing one: counted, no CONNECT, nothing echoed', async () => {
      const events: Array<[number, TcpEvent]> = [];
      const server = await startServer({ tls: serverTls(c, { ca: c.ca.cert, requestCert: true }), notify: echoByNotify(events) });
      const target = { tcp: ['127.0.0.1', addr(server).port] as [string, number] };
      await expect(pythonEcho(target, [100], { ca: c.ca.certFile, cert: c.badClient.certFile, key: c.badClient.keyFile }))
        .rejects.toThrow(/closed|reset|EOF|alert|certificate/i);
      await waitFor(() => server.stats().tlsErrors === 1, 'the bad certificate to be counted');
      await expect(pythonEcho(target, [100], { ca: c.ca.certFile })).rejects.toThrow(/closed|reset|EOF|alert|certificate/i);
      await waitFor(() => server.stats().tlsErrors === 2, 'the missing certificate to be counted');
      const data = randomBytes(1000, 5);
      const out = await pipeThrough('openssl', ['s_client', '-connect', `127.0.0.1:${addr(server).port}`, '-CAfile', c.ca.certFile,
        '-cert', c.badClient.certFile, '-key', c.badClient.keyFile, '-quiet', '-nocommands'], data, 1000, 10_000);
      expect(out.stdout.length).toBe(0);
      await waitFor(() => server.stats().tlsErrors === 3, 's_client with the bad certificate to be counted');
      expect(events).toEqual([]);
      expect(await server.accept(0)).toBeNull();
      expect(server.stats()).toMatchObject({ opened: 0, live: 0, bytesIn: 0, usedSlots: 0 });
    });

    it('with rejectUnauthorized false lets the bad certificate in and says why it is not authorized', async () => {
      const seen: Client[] = [];
      const server = await startServer({ tls: serverTls(c, { ca: c.ca.cert, requestCert: true, rejectUnauthorized: false }) });
      serveEchoByAccept(server, seen);
      const socket = await tlsDial(server, c, { cert: c.badClient.cert, key: c.badClient.key });
      socket.write('ping');
      const echoed = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
      expect(echoed.toString()).toBe('ping');
      socket.destroy();
      expect(seen[0]!.tls?.authorized).toBe(false);
      expect(seen[0]!.tls?.authorizationError).toMatch(/^[A-Z_]+$/);
      expect(seen[0]!.tls?.peerCertificate?.subject).toBe('CN=bad-client');
    });
  });

  it('replaces the certificate with setSecureContext for new connections; connections already up keep working', async () => {
    const server = await startServer({ tls: serverTls(c) });
    serveEchoByAccept(server);
    const before = await tlsDial(server, c);
    expect(before.getPeerCertificate().subject.CN).toBe('localhost');
    server.setSecureContext({ key: c.rotated.key, cert: c.rotated.cert });
    const after = await tlsDial(server, c);
    expect(after.getPeerCertificate().subject.CN).toBe('rotated.localhost');
    for (const socket of [before, after]) {
      socket.write('still here');
      const echoed = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
      expect(echoed.toString()).toBe('still here');
      socket.destroy();
    }
    // Bad material is refused by name and changes nothing.
    expect(() => server.setSecureContext({ key: 'not a key', cert: c.rotated.cert })).toThrow(InvalidArgumentError);
    expect(() => server.setSecureContext({ key: 'not a key', cert: c.rotated.cert })).toThrow(/^tlsOptions\.key must be/);
    expect(() => server.setSecureContext({ key: c.rotated.key, cert: c.rotated.cert, requestCert: true } as never))
      .toThrow(/^tlsOptions\.requestCert must be one of the known TLS options/);
    const third = await tlsDial(server, c);
    expect(third.getPeerCertificate().subject.CN).toBe('rotated.localhost');
    third.destroy();
    const plain = await startServer({});
    expect(() => plain.setSecureContext({ key: c.server.key, cert: c.server.cert })).toThrow(/options\.tls/);
  });

  it('frames lines, pauses a full ring and resumes it, and closes an idle client over TLS as over TCP', async () => {
    const server = await startServer({ tls: serverTls(c), framing: 'line', rxBufferSize: 1024, idleTimeout: 300 });
    const socket = await tlsDial(server, c);
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
    const sent = `${lines.join('\n')}\n`;
    socket.write(sent);
    const client = (await server.accept(5000))!;
    // Nobody reads yet: the 1 KiB ring fills and the TLS socket is paused (backpressure).
    await waitFor(() => server.stats().paused === 1, 'the client to be paused with a full ring');
    const echoed: string[] = [];
    const back = new Promise<void>((resolve) => {
      let text = '';
      socket.setEncoding('utf8').on('data', (t: string) => {
        text += t;
        if (text.length >= sent.length) {
          echoed.push(...text.split('\n').slice(0, -1));
          resolve();
        }
      });
    });
    for (let i = 0; i < lines.length; i++) {
      const frame = await client.recvFrame(5000);
      expect(frame?.toString(), `frame ${i}`).toBe(lines[i]);
      await client.sendFrame(frame!, 5000);
    }
    await back;
    expect(echoed).toEqual(lines);
    expect(client.stats.bytesIn).toBe(Buffer.byteLength(sent));
    // Then silence: the idle limit closes it.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await closed;
    await waitFor(() => client.disconnected, 'the idle client to disconnect');
    expect(client.closeReason).toBe('idle');
  });

  it('reads a PROXY header before the handshake (proxyProtocol + tls), also when the ClientHello shares its segment', async () => {
    const seen: Client[] = [];
    const server = await startServer({ tls: serverTls(c), proxyProtocol: 'v1' });
    serveEchoByAccept(server, seen);
    const header = Buffer.from('PROXY TCP4 192.0.2.7 198.51.100.1 40001 443\r\n');
    for (const together of [false, true]) {
      const raw = await new Promise<Socket>((resolve) => {
        const s = netConnect({ host: '127.0.0.1', port: addr(server).port }, () => resolve(s));
        s.on('error', () => {});
      });
      let transport: Duplex = raw;
      if (together) {
        // A stream that puts the header in front of the ClientHello: one write, one segment.
        let first = true;
        transport = new Duplex({
          write(chunk: Buffer, _encoding, callback) {
            raw.write(first ? Buffer.concat([header, chunk]) : chunk, callback);
            first = false;
          },
          read() {},
          final(callback) {
            raw.end(callback);
          },
        });
        raw.on('data', (d: Buffer) => transport.push(d));
        raw.on('end', () => transport.push(null));
      } else {
        raw.write(header);
      }
      const socket = await new Promise<TLSSocket>((resolve, reject) => {
        const t = tlsConnect({ socket: transport as Socket, ca: c.ca.cert, servername: 'localhost' }, () => resolve(t));
        t.once('error', reject);
      });
      const data = randomBytes(50_000, together ? 2 : 1);
      socket.write(data);
      const back: Buffer[] = [];
      let have = 0;
      await new Promise<void>((resolve) => socket.on('data', (d: Buffer) => {
        back.push(d);
        have += d.length;
        if (have >= data.length) resolve();
      }));
      expect(sha256(Buffer.concat(back))).toBe(sha256(data));
      socket.destroy();
      raw.destroy();
    }
    expect(seen.map((client) => [client.remoteAddress, client.remotePort, client.tls?.protocol]))
      .toEqual([['192.0.2.7', 40001, 'TLSv1.3'], ['192.0.2.7', 40001, 'TLSv1.3']]);
    expect(server.stats()).toMatchObject({ tlsErrors: 0, proxyErrors: 0 });
  });

  it('refuses a connection past maxClients at TCP accept, before any handshake, and sends no rejectMessage over TLS', async () => {
    const server = await startServer({ tls: serverTls(c), maxClients: 1, rejectMessage: 'server full\n' });
    serveEchoByAccept(server);
    const first = await tlsDial(server, c);
    first.write('x');
    await new Promise((resolve) => first.once('data', resolve));
    const raw = netConnect({ host: '127.0.0.1', port: addr(server).port });
    raw.on('error', () => {});
    const received: Buffer[] = [];
    raw.on('data', (d: Buffer) => received.push(d));
    raw.on('connect', () => raw.write('not even a ClientHello'));
    await new Promise((resolve) => raw.once('close', resolve));
    expect(Buffer.concat(received).toString()).toBe(''); // neither a TLS record nor the plain-text message
    expect(server.stats()).toMatchObject({ rejected: 1, tlsErrors: 0, live: 1 });
    first.destroy();
  });

  it('picks the secure context by the requested name with SNICallback', async () => {
    const rotated = createSecureContext({ key: c.rotated.key, cert: c.rotated.cert });
    const names: string[] = [];
    const seen: Client[] = [];
    const server = await startServer({
      tls: serverTls(c, {
        SNICallback: (name: string, callback: (e: Error | null, ctx?: unknown) => void) => {
          names.push(name);
          callback(null, name === 'rotated.localhost' ? rotated : undefined);
        },
      }),
    });
    serveEchoByAccept(server, seen);
    const plain = await tlsDial(server, c);
    expect(plain.getPeerCertificate().subject.CN).toBe('localhost');
    const other = await tlsDial(server, c, { servername: 'rotated.localhost', checkServerIdentity: () => undefined });
    expect(other.getPeerCertificate().subject.CN).toBe('rotated.localhost');
    for (const socket of [plain, other]) {
      socket.write('x');
      await new Promise((resolve) => socket.once('data', resolve)); // the server's side of the handshake is done too
      socket.destroy();
    }
    expect(names).toEqual(['localhost', 'rotated.localhost']);
    expect(seen.map((client) => client.tls?.servername)).toEqual(['localhost', 'rotated.localhost']);
  });

  it.skipIf(!HAVE_PYTHON)('refuses a TLS 1.2 client when minVersion is TLSv1.3 (counted) and serves a TLS 1.3 one', async () => {
    const server = await startServer({ tls: serverTls(c, { minVersion: 'TLSv1.3' }) });
    serveEchoByAccept(server);
    const target = { tcp: ['127.0.0.1', addr(server).port] as [string, number] };
    await expect(pythonEcho(target, [10], { ca: c.ca.certFile, version: '1.2' })).rejects.toThrow(/version|alert|protocol/i);
    await waitFor(() => server.stats().tlsErrors === 1, 'the TLS 1.2 client to be counted');
    const { info, results } = await pythonEcho(target, [10], { ca: c.ca.certFile });
    expect(info.version).toBe('TLSv1.3');
    expect(results[0]!.received).toBe(results[0]!.sent);
    expect(server.stats().opened).toBe(1);
  });

  it('serves a PKCS#12 bundle (pfx with passphrase)', async () => {
    const pfxFile = join(c.dir, 'server.p12');
    const r = spawnSync('openssl', ['pkcs12', '-export', '-inkey', c.server.keyFile, '-in', c.server.certFile,
      '-out', pfxFile, '-passout', 'pass:bundle']);
    expect(r.status, String(r.stderr)).toBe(0);
    const { readFileSync } = await import('node:fs');
    const pfx = readFileSync(pfxFile);
    const server = await startServer({ tls: { pfx, passphrase: 'bundle' } });
    serveEchoByAccept(server);
    const socket = await tlsDial(server, c);
    expect(socket.getPeerCertificate().subject.CN).toBe('localhost');
    socket.destroy();
    const error = await createServer({ host: '127.0.0.1', port: 0, tls: { pfx, passphrase: 'wrong' } }).then(() => undefined, (e: unknown) => e);
    expect((error as Error).message).toMatch(/^options\.tls\.pfx must be a PKCS#12 bundle that OpenSSL can read/);
  });

  it('recv and send time out over TLS as over TCP (recv → 0, send → SendTimeoutError with bytesSent)', async () => {
    const server = await startServer({ tls: serverTls(c), maxSendQueue: 64 << 20 });
    const socket = await tlsDial(server, c);
    const client = (await server.accept(5000))!;
    expect(client.tls?.protocol).toBe('TLSv1.3');
    expect([client.localAddress, client.localPort, client.remoteAddress, client.remotePort, client.remoteFamily])
      .toEqual(['127.0.0.1', addr(server).port, '127.0.0.1', socket.localPort, 'IPv4']);
    const buf = Buffer.alloc(100);
    expect(await client.recv(buf, 50)).toBe(0);
    socket.write('abc');
    expect(await client.recv(buf, 5000)).toBe(3);
    expect(buf.subarray(0, 3).toString()).toBe('abc');
    expect(await client.send('hello', 1000)).toBe(5);
    const hello = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
    expect(hello.toString()).toBe('hello');
    socket.pause(); // the peer stops reading: a large send cannot finish
    const big = Buffer.alloc(32 << 20, 7);
    const error = await client.send(big, 300).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SendTimeoutError);
    expect((error as SendTimeoutError).bytesSent).toBeLessThan(big.length);
    expect(client.stats.bytesOut).toBe(5 + (error as SendTimeoutError).bytesSent);
    expect(client.stats.bytesIn).toBe(3);
    socket.destroy();
  });

  it('hands the handshake the bytes a stage before it read ahead (a PROXY stage reading past its header)', async () => {
    const options = resolveTlsOptions('tls', serverTls(c));
    const stage = new TlsStage(options, buildSecureContext('tls', options.context));
    const abort = new AbortController();
    const handed = new Promise<Arrival>((resolve, reject) => {
      const net = createNetServer((raw: Socket) => {
        // Like a PROXY stage: read the first chunk (the whole ClientHello here), keep it as `initial`.
        raw.once('data', (chunk: Buffer) => {
          raw.pause();
          stage.stage({ socket: raw, remote: { address: '127.0.0.1', port: 0, family: 'IPv4' }, initial: chunk }, abort.signal)
            .then(resolve, reject)
            .finally(() => net.close());
        });
      });
      net.listen(0, '127.0.0.1', () => {
        const { port } = net.address() as { port: number };
        const client = tlsConnect({ host: '127.0.0.1', port, ca: c.ca.cert, servername: 'localhost' }, () => client.write('after hello'));
        client.on('data', (d: Buffer) => {
          expect(d.toString()).toBe('after hello');
          client.destroy();
        });
        client.on('error', () => {});
      });
    });
    const arrival = await handed;
    expect(arrival.initial).toBeUndefined(); // the TLS stream's bytes are not cleartext for the client
    expect((arrival.tls as { protocol: string }).protocol).toBe('TLSv1.3');
    const first = await new Promise<Buffer>((resolve) => arrival.socket.once('data', resolve));
    arrival.socket.write(first);
    await new Promise((resolve) => arrival.socket.once('close', resolve));
    expect(first.toString()).toBe('after hello');
  });

  describe('bad key material', () => {
    it('rejects createServer with an InvalidArgumentError naming the field, never the key, nothing on stderr', async () => {
      const writes: string[] = [];
      const original = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        writes.push(String(chunk));
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof process.stderr.write;
      try {
        const cases: Array<[Record<string, unknown>, RegExp]> = [
          [{ key: 'garbage', cert: c.server.cert }, /^options\.tls\.key must be a PEM private key .*OpenSSL: .*file name/],
          [{ key: c.server.key, cert: c.server.cert.replace(/[A-Za-z]/, '!') }, /^options\.tls\.cert must be a certificate chain/],
          [{ key: c.server.key, cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }, /^options\.tls\.cert must be/],
          [{ key: c.server.key, cert: c.server.cert, ca: 'not a ca' }, /^options\.tls\.ca must be CA certificates/],
          [{ key: c.rotated.key, cert: c.server.cert }, /^options\.tls\.key must be the private key of options\.tls\.cert/],
          [{ key: c.server.key, cert: c.server.cert, ciphers: 'NO-SUCH-CIPHER' }, /^options\.tls\.ciphers must be an OpenSSL cipher list/],
        ];
        for (const [tls, message] of cases) {
          const error = await createServer({ host: '127.0.0.1', port: 0, tls }).then(() => undefined, (e: unknown) => e);
          expect(error, String(message)).toBeInstanceOf(InvalidArgumentError);
          expect(error).toBeInstanceOf(TcpServError);
          expect((error as Error).message).toMatch(message);
          expect((error as Error).message).not.toMatch(/PRIVATE KEY/);
          expect((error as Error).message).not.toContain(c.server.key.split('\n')[1]!.slice(0, 20));
          expect((error as Error).message).not.toContain(c.server.cert.split('\n')[1]!.slice(0, 20));
        }
      } finally {
        process.stderr.write = original;
      }
      expect(writes.join('')).toBe('');
    });

    it('throws at once for a wrongly typed or missing field', () => {
      const bad: Array<[unknown, RegExp]> = [
        [{ cert: c.server.cert }, /^options\.tls\.key must be given \(a server needs key and cert, or pfx\)/],
        [{ key: c.server.key }, /^options\.tls\.cert must be given/],
        [{ key: 42, cert: c.server.cert }, /^options\.tls\.key must be PEM text or a Buffer/],
        [{ key: c.server.key, cert: c.server.cert, handshakeTimeout: 0 }, /^options\.tls\.handshakeTimeout must be an integer from 1/],
        [{ key: c.server.key, cert: c.server.cert, minVersion: 'SSLv3' }, /^options\.tls\.minVersion must be one of 'TLSv1.3'/],
        [{ key: c.server.key, cert: c.server.cert, ALPNProtocols: 'h2' }, /^options\.tls\.ALPNProtocols must be a non-empty array/],
        [{ key: c.server.key, cert: c.server.cert, requestCert: 'yes' }, /^options\.tls\.requestCert must be/],
        [{ key: c.server.key, cert: c.server.cert, SNICallback: {} }, /^options\.tls\.SNICallback must be/],
        [{ key: c.server.key, cert: c.server.cert, passphrase: 1 }, /^options\.tls\.passphrase must be a string/],
        [{ key: c.server.key, cert: c.server.cert, sessionTimeout: 5 }, /^options\.tls\.sessionTimeout must be one of the known TLS options/],
        ['yes', /^options\.tls must be an object of TLS options/],
      ];
      for (const [tls, message] of bad) {
        expect(() => createServer({ host: '127.0.0.1', port: 0, tls } as never), String(message)).toThrow(message);
      }
    });

    it('reads an encrypted key with its passphrase and names the passphrase when it is wrong', async () => {
      const encrypted = join(c.dir, 'server-encrypted.key');
      const r = spawnSync('openssl', ['pkey', '-in', c.server.keyFile, '-aes256', '-passout', 'pass:s3cret', '-out', encrypted]);
      expect(r.status).toBe(0);
      const { readFileSync } = await import('node:fs');
      const key = readFileSync(encrypted, 'utf8');
      const server = await startServer({ tls: { key, cert: c.server.cert, passphrase: 's3cret' } });
      const socket = await tlsDial(server, c);
      socket.destroy();
      for (const passphrase of ['wrong', undefined]) {
        const error = await createServer({ host: '127.0.0.1', port: 0, tls: { key, cert: c.server.cert, ...(passphrase ? { passphrase } : {}) } })
          .then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as Error).message).toMatch(/^options\.tls\.key must be a PEM private key that OpenSSL can read .*passphrase/);
      }
    });
  });
});
