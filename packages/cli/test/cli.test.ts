import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CLI_BIN, CLI_VERSION, killAll, runCli, spawnNode } from './helpers.js';

afterEach(killAll);

describe('tcpserver --version and --help', () => {
  it('prints the package version', async () => {
    expect(await runCli(['--version'])).toEqual({ code: 0, signal: null, stdout: `${CLI_VERSION}\n`, stderr: '' });
  });

  it.each([
    [['--help'], /^Usage: tcpserver <command>/],
    [['-h'], /^Usage: tcpserver <command>/],
    [['echo', '--help'], /^Usage: tcpserver echo \[flags\][\s\S]*--max-clients N[\s\S]*--log-format FORMAT/],
    [['shell', '--help'], /^Usage: tcpserver shell \[flags\][\s\S]*tcpserver_stop \[server\]/],
  ])('%j prints usage and exits 0', async (args, usage) => {
    const result = await runCli(args);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(usage);
  });
});

describe('bad usage', () => {
  it.each([
    [['echo', '--port', 'abc'], 'tcpserver: --port must be an integer from 0 to 65535 (got "abc")'],
    [['echo', '--port=70000'], 'tcpserver: --port must be an integer from 0 to 65535 (got "70000")'],
    [['echo', '--port'], 'tcpserver: --port needs a value (--port PORT)'],
    [['echo', '--port', '--host', '::1'], 'tcpserver: --port needs a value (--port PORT)'],
    [['echo', '--host', 'localhost'],
      'tcpserver: --host must be an IPv4 or IPv6 address such as 127.0.0.1, ::1, 0.0.0.0 or :: (got "localhost")'],
    [['echo', '--max-clients', '0'], 'tcpserver: --max-clients must be an integer from 1 to 65536 (got "0")'],
    [['echo', '--max-clients', '8', '--max-sockets', '4'], 'tcpserver: --max-clients must be at most --max-sockets (4) (got "8")'],
    [['echo', '--rx-buffer', '1000'],
      'tcpserver: --rx-buffer must be a power of two from 64 to 67108864 bytes (a k or m suffix is allowed, e.g. 16k) (got "1000")'],
    [['echo', '--rx-buffer', '64m', '--max-sockets', '65536'],
      'tcpserver: --max-sockets × --rx-buffer must be small enough that the core\'s memory stays within 2147418112 bytes (got "65536 × 67108864")'],
    [['echo', '--idle-timeout', '-5'], 'tcpserver: --idle-timeout must be an integer from 0 to 2147483647 (got "-5")'],
    [['echo', '--log-level', 'loud'], 'tcpserver: --log-level must be one of debug, info, warn, error (got "loud")'],
    [['echo', '--log-format', 'xml'], 'tcpserver: --log-format must be one of text, json (got "xml")'],
    [['echo', '--frobnicate'], 'tcpserver: unknown flag --frobnicate for "tcpserver echo" (see tcpserver echo --help)'],
    [['echo', '-x'], 'tcpserver: unknown flag -x for "tcpserver echo" (see tcpserver echo --help)'],
    [['echo', '--help=yes'], 'tcpserver: --help takes no value (got "yes")'],
    [['echo', 'extra'], 'tcpserver: echo takes no arguments (got "extra"); see tcpserver echo --help'],
    [['shell', '--log-level', 'x'], 'tcpserver: --log-level must be one of debug, info, warn, error (got "x")'],
    [['serve'], 'tcpserver: unknown command "serve": expected echo or shell (see tcpserver --help)'],
    [['--verbose'], 'tcpserver: unknown flag --verbose (see tcpserver --help)'],
    [[], 'tcpserver: missing command: echo or shell (see tcpserver --help)'],
  ])('%j exits 2 with one line naming the problem', async (args, message) => {
    expect(await runCli(args)).toEqual({ code: 2, signal: null, stdout: '', stderr: `${message}\n` });
  });
});

describe('runtime failures', () => {
  let blocker: Server | undefined;
  afterAll(() => blocker?.close());

  it('exits 1 with a clear message when the address is in use', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    expect(await runCli(['echo', '--port', String(port)])).toEqual({
      code: 1, signal: null, stdout: '',
      stderr: `tcpserver: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`,
    });
  });

  it('the launcher says how to build when dist/ is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcpserver-nodist-'));
    try {
      mkdirSync(join(dir, 'bin'));
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
      copyFileSync(CLI_BIN, join(dir, 'bin', 'tcpserver.js'));
      const child = spawnNode([join(dir, 'bin', 'tcpserver.js'), '--version']);
      expect(await child.waitForExit()).toEqual({ code: 1, signal: null });
      expect(child.stderr).toMatch(/^tcpserver: .*dist[/\\]main\.js is missing: run npx nx run cli:build first\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
