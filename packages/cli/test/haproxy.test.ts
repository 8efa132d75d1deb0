/**
 * `tcpserver echo --proxy-protocol v1|v2` behind a real HAProxy on loopback (Debian's
 * haproxy): clients from 127.0.0.2 and 127.0.0.3 appear with those addresses in the CLI's
 * log and in --max-clients-per-address, also with --workers 2; HAProxy's health checks
 * (v1 lines, v2 LOCAL headers) never become clients.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Child, killAll, readToEnd, removeTempDirs, requireCommand, spawnCli, tempDir, withTimeout, STATS } from './helpers.js';

const HAS_HAPROXY = requireCommand('haproxy');

afterEach(killAll);
afterAll(removeTempDirs);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Connects to HAProxy's frontend from `localAddress` (a loopback address of its own). */
function connectFrom(localAddress: string, port: number): Promise<Socket> {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port, localAddress, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  }), 10_000, `a connection from ${localAddress}`);
}

/** Sends `text` from `localAddress` through HAProxy, half-closes, and reads the echo to the end. */
async function echoFrom(localAddress: string, port: number, text: string): Promise<{ text: string; localPort: number }> {
  const socket = await connectFrom(localAddress, port);
  const localPort = socket.localPort!;
  const received = readToEnd(socket);
  socket.end(text);
  return { text: (await received).data.toString(), localPort };
}

/** Starts tcpserver nodes for v1 and v2 on 127.0.0.5, then HAProxy in front of them. */
async function startStack(extra: string[]): Promise<{ v1: Child; v2: Child; fe: { v1: number; v2: number }; haproxy: Child }> {
  const node = async (version: string): Promise<{ server: Child; port: number }> => {
    const server = spawnCli(['echo', '--host', '127.0.0.5', '--port', '0', '--proxy-protocol', version, '--trusted-proxy', '127.0.0.9', ...extra]);
    return { server, port: await server.listeningPort() };
  };
  const v1 = await node('v1');
  const v2 = await node('v2');
  const fe = { v1: await freePort(), v2: await freePort() };
  const config = readFileSync(new URL('./fixtures/haproxy.cfg', import.meta.url), 'utf8')
    .replace('@FE_V1@', String(fe.v1)).replace('@FE_V2@', String(fe.v2))
    .replace('@BE_V1@', String(v1.port)).replace('@BE_V2@', String(v2.port));
  const file = join(tempDir('haproxy'), 'haproxy.cfg');
  writeFileSync(file, config);
  const haproxy = new Child('haproxy', ['-f', file, '-db']);
  // HAProxy is ready once a client gets its echo through both frontends (bounded retries).
  for (const port of [fe.v1, fe.v2]) {
    for (let attempt = 0; ; attempt++) {
      const probe = await echoFrom('127.0.0.4', port, 'ready?\n').catch(() => ({ text: '' }));
      if (probe.text === 'ready?\n') break;
      if (attempt === 50) throw new Error(`HAProxy did not relay through ${port}: ${haproxy.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { v1: v1.server, v2: v2.server, fe, haproxy };
}

describe.skipIf(!HAS_HAPROXY)('tcpserver echo behind HAProxy', () => {
  it('v1 and v2: the log shows each client\'s own address, via HAProxy; health checks make no clients', async () => {
    const { v1, v2, fe } = await startStack([]);
    for (const [server, port] of [[v1, fe.v1], [v2, fe.v2]] as const) {
      for (const from of ['127.0.0.2', '127.0.0.3']) {
        const { text, localPort } = await echoFrom(from, port, `hello from ${from}\n`);
        expect(text).toBe(`hello from ${from}\n`);
        const escaped = from.replace(/\./g, '\\.');
        await server.waitForLine(new RegExp(`^client connect:\\d+ ${escaped}:${localPort} via 127\\.0\\.0\\.9:\\d+$`));
      }
    }
    // Let HAProxy's checks (every 100 ms) run a few times more, then count: only real clients.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const server of [v1, v2]) {
      const connects = server.lines.filter((l) => l.startsWith('client connect:'));
      expect(connects.filter((l) => / 127\.0\.0\.4:/.test(l)).length).toBeGreaterThanOrEqual(1); // the readiness probe
      expect(connects.every((l) => / 127\.0\.0\.[234]:\d+ via 127\.0\.0\.9:\d+$/.test(l))).toBe(true);
      server.signal('SIGTERM');
      expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
      const [opened] = STATS.exec(server.lines.at(-1)!)!.slice(1).map(Number);
      expect(opened).toBe(connects.length);
    }
  });

  it('--max-clients-per-address 1 limits by the real address: a second 127.0.0.2 is refused, 127.0.0.3 is served', async () => {
    const { v2, fe } = await startStack(['--max-clients-per-address', '1', '--reject-message', 'one per address']);
    const first = await connectFrom('127.0.0.2', fe.v2);
    const firstEcho = readToEnd(first);
    first.write('first\n');
    await v2.waitForLine(/^client connect:\d+ 127\.0\.0\.2:\d+ via /);
    const second = await echoFrom('127.0.0.2', fe.v2, 'second\n');
    expect(second.text).toBe('one per address\n');
    const other = await echoFrom('127.0.0.3', fe.v2, 'other\n');
    expect(other.text).toBe('other\n');
    first.end();
    expect((await firstEcho).data.toString()).toBe('first\n');
  });

  it('--workers 2 behind HAProxy v2: both workers log real addresses', async () => {
    const { v2, fe } = await startStack(['--workers', '2']);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const from = i % 2 === 0 ? '127.0.0.2' : '127.0.0.3';
      const { text, localPort } = await echoFrom(from, fe.v2, `message ${i}\n`);
      expect(text).toBe(`message ${i}\n`);
      const m = await v2.waitForLine(new RegExp(`^client connect:(\\d+)\\.\\d+ ${from.replace(/\./g, '\\.')}:${localPort} via 127\\.0\\.0\\.9:\\d+$`));
      seen.add(m[1]!);
    }
    expect(seen.size).toBe(2);
  });
});
