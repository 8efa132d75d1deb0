import { afterEach, describe, expect, it } from 'vitest';
import {
  canListen, connect, echoThrough, killAll, payload, pythonEcho, readToEnd, sha256, spawnExample,
} from './helpers.js';

afterEach(killAll);

describe.each(['echo-callback', 'echo-async'])('%s', (name) => {
  it('echoes node:net and Python clients at once, byte for byte, each followed by FIN', async () => {
    const server = spawnExample(name);
    const port = await server.listeningPort();
    const payloads = Array.from({ length: 20 }, (_, i) => payload([0, 300, 70_000, 150_001][i % 4]! + i, 50 + i));
    const [echoed, python] = await Promise.all([
      Promise.all(payloads.map((data, i) => echoThrough(port, data, i))),
      pythonEcho('127.0.0.1', port, 4, 100_000, 5),
    ]);
    echoed.forEach(({ data, ended }, i) => {
      expect(ended).toBe(true);
      expect(sha256(data)).toBe(sha256(payloads[i]!));
    });
    for (const r of python) expect(r.receivedSha256).toBe(r.sentSha256);
    await server.waitForLine(/^client connect:1 127\.0\.0\.1:\d+$/);
    await server.waitForLine(/^client disconnect:\d+$/);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)('stops on %s with exit code 0, closing its clients and freeing the port', async (signal) => {
    const server = spawnExample(name);
    const port = await server.listeningPort();
    const closed = readToEnd(await connect(port));
    await server.waitForLine(/^client connect:1 /);
    server.signal(signal);
    expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
    await closed;
    expect(await canListen(port)).toBe(true);
  });
});

describe('host and port', () => {
  it('come from TCPSERV_HOST / TCPSERV_PORT when not given as arguments', async () => {
    const server = spawnExample('echo-callback', [], { TCPSERV_HOST: '127.0.0.1', TCPSERV_PORT: '0' });
    expect(await server.listeningPort()).toBeGreaterThan(0);
  });

  it('a bad one exits 2 with a usage line', async () => {
    const server = spawnExample('echo-async', ['localhost', 'x']);
    expect(await server.waitForExit()).toEqual({ code: 2, signal: null });
    expect(server.stderr).toMatch(/^usage: .*echo-async\.js \[ip\] \[port\] \(got localhost x\)\n$/);
  });
});
