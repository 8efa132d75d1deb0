// Unix domain sockets with the same API as TCP: Python (socket.AF_UNIX) and socat echo
// byte-exact, a stale socket file is replaced only when nothing answers on it, a regular file
// is refused and left untouched, two servers run on two paths, the file goes with destroy()
// and shutdown(), and TLS works over a Unix socket too.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCerts, type TestCerts } from '@tcpserv/test-support';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ListenError, TcpEvent, createServer, type Client, type TcpServer } from '../src/index.js';
import { randomBytes, sha256, startServer, waitFor } from './support/helpers.js';
import { cleanUp } from './support/cleanup.js';
import { echoByNotify, have, pipeThrough, pythonEcho, sayMissing, serveEchoByAccept } from './support/tls-peers.js';

const HAVE_PYTHON = have('python3', ['-c', 'import socket; socket.AF_UNIX']);
if (!HAVE_PYTHON) sayMissing('python3', 'Debian: apt-get install -y python3');
const HAVE_SOCAT = have('socat', ['-V']);
if (!HAVE_SOCAT) sayMissing('socat', 'Debian: apt-get install -y socat');
const made = makeTestCerts();
const certs: TestCerts | undefined = 'error' in made ? undefined : made;
if (!certs) sayMissing('openssl (test certificates)', `${'error' in made ? made.error : ''}`);

const SIZES = [1, 255, 4096, 65_536, 1 << 20, 4 << 20];
const TOTAL = SIZES.reduce((a, b) => a + b, 0);
const dir = mkdtempSync(join(tmpdir(), 'tcpserv-unix-'));
let serial = 0;
/** A fresh socket path in the test's temporary directory. */
const socketPath = (): string => join(dir, `s${++serial}.sock`);

afterEach(cleanUp);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  certs?.remove();
});

function unixServer(path: string, options: Record<string, unknown> = {}): Promise<TcpServer> {
  // startServer adds host/port; a Unix server must not have them, so strip them again.
  return startServer({ path, ...options, host: undefined, port: undefined });
}

/** A file left behind as a crashed server leaves it: a socket bound, never listened on or unlinked. */
function staleSocketFile(path: string): void {
  const r = spawnSync('python3', ['-c', `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(path)})`]);
  expect(r.status).toBe(0);
  expect(lstatSync(path).isSocket()).toBe(true);
}

describe('Unix domain sockets', () => {
  it.skipIf(!HAVE_PYTHON)('echoes 1 B … 4 MiB byte-exact to Python AF_UNIX (accept + recv/send); address() is the path, peers are unix', async () => {
    const path = socketPath();
    const seen: Client[] = [];
    const server = await unixServer(path);
    serveEchoByAccept(server, seen);
    expect(server.address()).toBe(path);
    const { results } = await pythonEcho({ unix: path }, SIZES);
    for (const r of results) {
      expect(r.length, `${r.size} B`).toBe(r.size);
      expect(r.received, `${r.size} B`).toBe(r.sent);
    }
    await waitFor(() => server.stats().closed === 1, 'the Python client to disconnect');
    expect(server.stats()).toMatchObject({ bytesIn: TOTAL, bytesOut: TOTAL });
    expect(seen[0]!.remoteAddress).toBe('');
    expect(seen[0]!.remoteFamily).toBe('unix');
    expect(seen[0]!.remotePort).toBe(0);
    expect(seen[0]!.tls).toBeUndefined();
  });

  it.skipIf(!HAVE_SOCAT)('echoes byte-exact to socat (notify callback), half-close included', async () => {
    const path = socketPath();
    const events: Array<[number, TcpEvent]> = [];
    const server = await unixServer(path, { notify: echoByNotify(events) });
    for (const [i, size] of [1, 70_000, 1 << 20].entries()) {
      const data = randomBytes(size, 40 + i);
      const out = await pipeThrough('socat', ['-t', '10', '-', `UNIX-CONNECT:${path}`], data, Infinity);
      expect(out.code, out.stderr).toBe(0); // socat exits on its own: our FIN came after the echo
      expect(out.stdout.length).toBe(size);
      expect(sha256(out.stdout)).toBe(sha256(data));
    }
    await waitFor(() => server.stats().closed === 3, 'the socat clients to disconnect');
    expect(events.filter(([, e]) => e === TcpEvent.CONNECT)).toHaveLength(3);
  });

  it.skipIf(!HAVE_PYTHON)('replaces a stale socket file that nothing answers on', async () => {
    const path = socketPath();
    staleSocketFile(path);
    const server = await unixServer(path);
    serveEchoByAccept(server);
    const { results } = await pythonEcho({ unix: path }, [1000]);
    expect(results[0]!.received).toBe(results[0]!.sent);
  });

  it.skipIf(!HAVE_PYTHON)('refuses a path a live server answers on (EADDRINUSE) and leaves that server alone', async () => {
    const path = socketPath();
    const first = await unixServer(path);
    serveEchoByAccept(first);
    const error = await createServer({ path }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ListenError);
    expect((error as ListenError).code).toBe('EADDRINUSE');
    expect((error as ListenError).message).toBe(`cannot listen on ${path}: another server answers on this socket (a connection was accepted); it was left untouched`);
    const { results } = await pythonEcho({ unix: path }, [5000]);
    expect(results[0]!.received).toBe(results[0]!.sent);
  });

  it('refuses a regular file or a directory at the path and never deletes it', async () => {
    const file = socketPath();
    writeFileSync(file, 'precious data');
    const folder = socketPath();
    mkdirSync(folder);
    for (const path of [file, folder]) {
      const error = await createServer({ path }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ListenError);
      expect((error as ListenError).code).toBe('EEXIST');
      expect((error as ListenError).message).toBe(`cannot listen on ${path}: the path exists and is not a socket; it was left untouched`);
    }
    expect(readFileSync(file, 'utf8')).toBe('precious data');
    expect(lstatSync(folder).isDirectory()).toBe(true);
  });

  it.skipIf(!HAVE_PYTHON)('runs two servers on two paths with independent clients', async () => {
    const paths = [socketPath(), socketPath()];
    const servers = await Promise.all(paths.map((path) => unixServer(path)));
    for (const server of servers) serveEchoByAccept(server);
    const echoes = await Promise.all(paths.map((path, i) => pythonEcho({ unix: path }, [10_000 * (i + 1)], undefined, 90 + i)));
    for (const { results } of echoes) expect(results[0]!.received).toBe(results[0]!.sent);
    await waitFor(() => servers.every((s) => s.stats().closed === 1), 'one client per server');
    expect(servers.map((s) => s.stats().bytesIn)).toEqual([10_000, 20_000]);
    await servers[0]!.destroy();
    expect(existsSync(paths[0]!)).toBe(false);
    expect(existsSync(paths[1]!)).toBe(true);
    const { results } = await pythonEcho({ unix: paths[1]! }, [123]);
    expect(results[0]!.received).toBe(results[0]!.sent);
  });

  it('removes the socket file on destroy() and on shutdown()', async () => {
    for (const stop of ['destroy', 'shutdown'] as const) {
      const path = socketPath();
      const server = await unixServer(path);
      expect(lstatSync(path).isSocket()).toBe(true);
      await server[stop]();
      expect(existsSync(path), stop).toBe(false);
    }
  });

  it('does not apply maxClientsPerAddress to Unix peers (they have no address)', async () => {
    const path = socketPath();
    const server = await unixServer(path, { maxClientsPerAddress: 1 });
    const sockets = await Promise.all([1, 2, 3].map(() => new Promise<ReturnType<typeof connect>>((resolve) => {
      const s = connect({ path }, () => resolve(s));
    })));
    await waitFor(() => server.stats().live === 3, 'three Unix clients admitted');
    expect(server.stats().rejected).toBe(0);
    for (const s of sockets) s.destroy();
  });

  it('wants exactly one of path and host/port', () => {
    expect(() => createServer({ path: socketPath(), port: 0 })).toThrow(InvalidArgumentError);
    expect(() => createServer({ path: socketPath(), host: '127.0.0.1' })).toThrow(/^options\.path must be given without options\.host and options\.port/);
    expect(() => createServer({} as never)).toThrow(/^options\.port must be an integer .*or give options\.path/);
  });

  describe.skipIf(!certs)('TLS over a Unix socket', () => {
    it.skipIf(!HAVE_PYTHON)('echoes byte-exact to Python ssl over AF_UNIX and to openssl s_client -unix', async () => {
      const c = certs!;
      const path = socketPath();
      const seen: Client[] = [];
      const server = await unixServer(path, { tls: { key: c.server.key, cert: c.server.cert } });
      serveEchoByAccept(server, seen);
      const { info, results } = await pythonEcho({ unix: path }, [1, 100_000, 1 << 20], { ca: c.ca.certFile, version: '1.3' });
      expect(info.version).toBe('TLSv1.3');
      for (const r of results) expect(r.received).toBe(r.sent);
      const data = randomBytes(300_000, 77);
      const out = await pipeThrough('openssl', ['s_client', '-unix', path, '-CAfile', c.ca.certFile, '-verify_return_error',
        '-servername', 'localhost', '-quiet', '-nocommands', '-tls1_2'], data, data.length);
      expect(sha256(out.stdout)).toBe(sha256(data));
      await waitFor(() => server.stats().closed === 2, 'both TLS clients to disconnect');
      const total = 1 + 100_000 + (1 << 20) + data.length;
      expect(server.stats()).toMatchObject({ bytesIn: total, bytesOut: total, tlsErrors: 0 });
      expect(seen.map((client) => [client.remoteFamily, client.remoteAddress, client.tls?.protocol]))
        .toEqual([['unix', '', 'TLSv1.3'], ['unix', '', 'TLSv1.2']]);
    });
  });
});
