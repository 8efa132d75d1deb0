/**
 * `tcpserver echo --unix PATH` and the shell's `tcpserver --unix PATH`: echo through a Unix
 * domain socket under a temp dir, with socat and Python's socket.AF_UNIX as peers; the file
 * is removed at the stop; a regular file at PATH is refused and left alone.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Child, killAll, removeTempDirs, requireCommand, runCli, runPeer, spawnCli, tempDir, STATS } from './helpers.js';

const HAS_SOCAT = requireCommand('socat');

afterEach(killAll);
afterAll(removeTempDirs);

async function startUnixEcho(path: string, args: string[] = []): Promise<Child> {
  const server = spawnCli(['echo', '--unix', path, ...args]);
  await server.waitForLine(new RegExp(`^listening on ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  return server;
}

/** socat sends `text` to the socket, half-closes, and prints what came back until EOF. */
async function socatEcho(path: string, text: string): Promise<string> {
  const socat = new Child('socat', ['-t', '10', '-', `UNIX-CONNECT:${path}`]);
  socat.write(text);
  socat.endInput();
  expect(await socat.waitForExit(20_000)).toEqual({ code: 0, signal: null });
  return socat.stdout;
}

describe('tcpserver echo --unix', () => {
  it.skipIf(!HAS_SOCAT)('echoes socat and Python AF_UNIX clients, logs them as unix, removes the socket at the stop', async () => {
    const path = join(tempDir('unix'), 'echo.sock');
    const server = await startUnixEcho(path);
    const text = Array.from({ length: 2000 }, (_, i) => `line ${i} ünïcode\n`).join('');
    expect(await socatEcho(path, text)).toBe(text);
    await server.waitForLine(/^client connect:1 unix$/);
    const py = await runPeer<{ sent: number; received: number; sentSha256: string; receivedSha256: string; end: string }>(
      ['unix', path, 100_000, 5]);
    expect(py).toMatchObject({ sent: 100_000, received: 100_000, end: 'eof' });
    expect(py.receivedSha256).toBe(py.sentSha256);
    await server.waitForLine(/^client disconnect:2$/);
    server.signal('SIGTERM');
    expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
    const bytes = Buffer.byteLength(text) + 100_000;
    expect(STATS.exec(server.lines.at(-1)!)?.slice(1).map(Number)).toEqual([2, 0, 2, bytes, bytes]);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a path that is a regular file, and leaves the file alone', async () => {
    const path = join(tempDir('unix'), 'not-a-socket');
    writeFileSync(path, 'keep me\n');
    const result = await runCli(['echo', '--unix', path]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^tcpserver: cannot listen on ${path}: .+\\n$`));
    expect(readFileSync(path, 'utf8')).toBe('keep me\n');
  });

  it.skipIf(!HAS_SOCAT)('replaces a stale socket file left by a server that was killed', async () => {
    const path = join(tempDir('unix'), 'stale.sock');
    const first = await startUnixEcho(path);
    first.signal('SIGKILL');
    await first.waitForExit();
    expect(existsSync(path)).toBe(true); // nobody removed it
    const second = await startUnixEcho(path);
    expect(await socatEcho(path, 'again\n')).toBe('again\n');
    second.signal('SIGTERM');
    expect((await second.waitForExit()).code).toBe(0);
  });

  it.skipIf(!HAS_SOCAT)('the shell starts a Unix socket server next to a TCP one', async () => {
    const path = join(tempDir('unix'), 'shell.sock');
    const shell = spawnCli(['shell']);
    shell.write(`tcpserver --unix ${path}\n`);
    await shell.waitForLine(new RegExp(`^server 1 listening on ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    shell.write('tcpserver 127.0.0.1 0\n');
    await shell.waitForLine(/^server 2 listening on 127\.0\.0\.1:\d+$/);
    shell.write(`tcpserver --unix ${path}x 127.0.0.1 0\n`);
    await shell.waitForErrorLine(/^error: usage: tcpserver --unix PATH \[flags\] \(no <ip> <port> with --unix\)$/);
    expect(await socatEcho(path, 'via the shell\n')).toBe('via the shell\n');
    await shell.waitForLine(/^client connect:1\.1 unix$/);
    shell.write('tcpserver_stop 1\n');
    await shell.waitForLine(/^server 1 stopped: stats opened=1 rejected=0 closed=1 bytesIn=14 bytesOut=14$/);
    expect(existsSync(path)).toBe(false);
    shell.endInput();
    expect(await shell.waitForExit()).toEqual({ code: 0, signal: null });
  });
});
