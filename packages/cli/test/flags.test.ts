/**
 * The flags of issues 11–13 (--framing, --max-frame, --tls-*, --unix, --workers,
 * --proxy-protocol, --trusted-proxy, --metrics): what each accepts, and that every bad
 * value is one line on stderr naming the flag, exit 2.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { framingFlag, framingOption } from '../src/framing-flags.js';
import { metricsFlag } from '../src/metrics-http.js';
import { PROXY_FLAGS, proxyOptions } from '../src/proxy-flags.js';
import { killAll, removeTempDirs, runCli, spawnCli, tempDir } from './helpers.js';

afterEach(killAll);
afterAll(removeTempDirs);

describe('--framing and --max-frame', () => {
  const parse = (raw: string): unknown => framingFlag('').parse(raw, '--framing');

  it.each([
    ['raw', 'raw'],
    ['line', { type: 'line' }],
    ['length:1', { type: 'length', headerBytes: 1, endian: 'be' }],
    ['length:2', { type: 'length', headerBytes: 2, endian: 'be' }],
    ['length:4', { type: 'length', headerBytes: 4, endian: 'be' }],
    ['length:4:le', { type: 'length', headerBytes: 4, endian: 'le' }],
    ['length:2:be', { type: 'length', headerBytes: 2, endian: 'be' }],
    ['fixed:32', { type: 'fixed', size: 32 }],
    ['delimiter:;', { type: 'delimiter', delimiter: Buffer.from(';') }],
    ['delimiter:\\r\\n', { type: 'delimiter', delimiter: Buffer.from('\r\n') }],
    ['delimiter:\\x00', { type: 'delimiter', delimiter: Buffer.from([0]) }],
    ['delimiter:→', { type: 'delimiter', delimiter: Buffer.from('→') }],
  ])('--framing %s is %j', (raw, framing) => {
    expect(framingOption({ framing: parse(raw) as never })).toEqual(framing);
  });

  it('--max-frame goes into the framing as maxFrameSize', () => {
    expect(framingOption({ framing: parse('line') as never, 'max-frame': 100 })).toEqual({ type: 'line', maxFrameSize: 100 });
    expect(framingOption({ framing: parse('length:2:le') as never, 'max-frame': 9 }))
      .toEqual({ type: 'length', headerBytes: 2, endian: 'le', maxFrameSize: 9 });
  });
});

describe('--metrics and --trusted-proxy values', () => {
  it.each([
    ['127.0.0.1:9100', { host: '127.0.0.1', port: 9100 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['[::1]:9100', { host: '::1', port: 9100 }],
  ])('--metrics %s', (raw, address) => {
    expect(metricsFlag('').parse(raw, '--metrics')).toEqual(address);
  });

  it('--trusted-proxy is repeatable and keeps every value in order', () => {
    const flag = PROXY_FLAGS['trusted-proxy'];
    const list = flag.combine!(flag.combine!(undefined, flag.parse('10.0.0.0/8', '--trusted-proxy')), flag.parse('::1', '--trusted-proxy'));
    expect(proxyOptions({ 'proxy-protocol': 'v2', 'trusted-proxy': list })).toEqual({ proxyProtocol: 'v2', trustedProxies: ['10.0.0.0/8', '::1'] });
  });
});

describe('bad values of the new flags', () => {
  const dir = tempDir('flags');
  const pem = join(dir, 'empty.pem');
  writeFileSync(pem, '');
  const missing = join(dir, 'missing.pem');
  const FRAMING_RULE = 'expected raw|line|length:1|2|4[:le]|fixed:N|delimiter:TEXT';

  it.each([
    [['--framing', 'x'], `--framing: ${FRAMING_RULE}, got "x"`],
    [['--framing', 'length:3'], `--framing: ${FRAMING_RULE}, got "length:3"`],
    [['--framing', 'length:4:xe'], `--framing: ${FRAMING_RULE}, got "length:4:xe"`],
    [['--framing', 'fixed:0'], `--framing: ${FRAMING_RULE}, got "fixed:0"`],
    [['--framing', 'fixed:'], `--framing: ${FRAMING_RULE}, got "fixed:"`],
    [['--framing', 'delimiter:'], '--framing: a delimiter is 1 to 16 bytes, got "delimiter:" (0 bytes)'],
    [['--framing', 'delimiter:12345678901234567'], '--framing: a delimiter is 1 to 16 bytes, got "delimiter:12345678901234567" (17 bytes)'],
    [['--framing', 'delimiter:\\q'], '--framing: delimiter escapes are \\n \\r \\t \\\\ and \\xHH, got "delimiter:\\\\q"'],
    [['--framing', 'fixed:20000'], '--framing fixed:N must be an integer from 1 to 16384 (at most --rx-buffer) (got 20000)'],
    [['--framing', 'line', '--max-frame', '0'], '--max-frame must be an integer from 1 to 67108864 (got "0")'],
    [['--framing', 'line', '--max-frame', 'big'], '--max-frame must be an integer from 1 to 67108864 (got "big")'],
    [['--framing', 'line', '--max-frame', '20000'], '--max-frame must be an integer from 1 to 16384 (at most --rx-buffer) (got 20000)'],
    [['--max-frame', '100'], '--max-frame needs --framing line, delimiter:TEXT or length:N (a raw frame has no maximum to set)'],
    [['--framing', 'fixed:8', '--max-frame', '100'], '--max-frame needs --framing line, delimiter:TEXT or length:N (a fixed frame has no maximum to set)'],
    [['--tls-key', pem], '--tls-key needs --tls-cert FILE (and --tls-key FILE)'],
    [['--tls-cert', pem], '--tls-cert needs --tls-key FILE'],
    [['--tls-cert', missing, '--tls-key', pem], `--tls-cert must be a readable file (got ${JSON.stringify(missing)}: ENOENT)`],
    [['--tls-cert', pem, '--tls-key', dir], `--tls-key must be a readable file (got ${JSON.stringify(dir)}: EISDIR)`],
    [['--tls-cert', pem, '--tls-key', pem, '--tls-client-cert', 'required'],
      '--tls-client-cert needs --tls-ca FILE (the CA that client certificates must chain to)'],
    [['--tls-cert', pem, '--tls-key', pem, '--tls-ca', pem], '--tls-ca needs --tls-client-cert required|optional'],
    [['--tls-cert', pem, '--tls-key', pem, '--tls-ca', pem, '--tls-client-cert', 'maybe'],
      '--tls-client-cert must be one of required, optional (got "maybe")'],
    [['--tls-cert', ''], '--tls-cert must be a file path (got "")'],
    [['--unix', ''], '--unix must be a file system path (got "")'],
    [['--unix', '/tmp/a.sock', '--port', '5000'], '--unix listens on a socket file instead of a TCP address: give it without --port'],
    [['--unix', '/tmp/a.sock', '--host', '::1'], '--unix listens on a socket file instead of a TCP address: give it without --host'],
    [['--proxy-protocol', 'v3'], '--proxy-protocol must be one of v1, v2, any (got "v3")'],
    [['--trusted-proxy', '10.0.0.0/8'], '--trusted-proxy needs --proxy-protocol v1|v2|any'],
    [['--proxy-protocol', 'v1', '--trusted-proxy', '10.0.0.0/33'],
      '--trusted-proxy must be an IP address or CIDR such as 10.0.0.0/8, 127.0.0.1 or fd00::/8 (got "10.0.0.0/33")'],
    [['--proxy-protocol', 'v1', '--trusted-proxy', '127.0.0.1', '--trusted-proxy', 'proxy.local'],
      '--trusted-proxy must be an IP address or CIDR such as 10.0.0.0/8, 127.0.0.1 or fd00::/8 (got "proxy.local")'],
    [['--proxy-protocol', 'v2', '--trusted-proxy', '::1/129'],
      '--trusted-proxy must be an IP address or CIDR such as 10.0.0.0/8, 127.0.0.1 or fd00::/8 (got "::1/129")'],
    [['--metrics', '9100'], '--metrics must be IP:PORT such as 127.0.0.1:9100 or [::1]:9100 (got "9100")'],
    [['--metrics', 'localhost:9100'], '--metrics must be IP:PORT such as 127.0.0.1:9100 or [::1]:9100 (got "localhost:9100")'],
    [['--metrics', '::1:9100'], '--metrics must be IP:PORT such as 127.0.0.1:9100 or [::1]:9100 (got "::1:9100")'],
    [['--metrics', '127.0.0.1:70000'], '--metrics must be IP:PORT such as 127.0.0.1:9100 or [::1]:9100 (got "127.0.0.1:70000")'],
  ])('echo %j exits 2 naming the flag', async (args, message) => {
    expect(await runCli(['echo', ...args])).toEqual({ code: 2, signal: null, stdout: '', stderr: `tcpserver: ${message}\n` });
  });

  it('an empty certificate file is refused naming --tls-cert or --tls-key, exit 2', async () => {
    const result = await runCli(['echo', '--port', '0', '--tls-cert', pem, '--tls-key', pem]);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(/^tcpserver: .*--tls-(cert|key).*\n$/);
  });

  it('the shell names the flag too, and goes on', async () => {
    const shell = spawnCli(['shell']);
    shell.write('tcpserver 127.0.0.1 0 --framing length:8\n');
    await shell.waitForErrorLine(/^error: --framing: expected raw\|line\|length:1\|2\|4\[:le\]\|fixed:N\|delimiter:TEXT, got "length:8"$/);
    shell.write('tcpserver 127.0.0.1 0 --tls-key /nonexistent\n');
    await shell.waitForErrorLine(/^error: --tls-key needs --tls-cert FILE \(and --tls-key FILE\)$/);
    shell.write('tcpserver 127.0.0.1 0\n');
    await shell.waitForLine(/^server 1 listening on 127\.0\.0\.1:\d+$/);
    shell.endInput();
    expect(await shell.waitForExit()).toEqual({ code: 0, signal: null });
  });
});
