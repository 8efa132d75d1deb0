/**
 * `tcpserver echo --tls-cert/--tls-key [--tls-ca --tls-client-cert]` with `openssl s_client`
 * as the peer: echo over TLS 1.2 and 1.3, and mutual TLS (required: a client without a
 * certificate or with one from another CA never becomes a client; optional: it does).
 * Keys and certificates are made at test time with the openssl command (EC P-256, 2 days).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Child, killAll, removeTempDirs, requireCommand, runCli, spawnCli, tempDir, withTimeout, startEcho, stopEcho } from './helpers.js';

const HAS_OPENSSL = requireCommand('openssl');

afterEach(killAll);
afterAll(removeTempDirs);

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

interface Pki {
  dir: string;
  serverCert: string;
  serverKey: string;
  ca: string;
  clientCert: string;
  clientKey: string;
  rogueCert: string;
  rogueKey: string;
}

/** A CA; a server certificate (localhost, 127.0.0.1) and a client certificate it signed; a self-signed "rogue" client. */
function makePki(): Pki {
  const dir = tempDir('tls');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=tcpserv test CA'], dir);
  for (const [name, subject] of [['server', '/CN=localhost'], ['client', '/CN=good client']] as const) {
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2'], dir);
  }
  openssl(['req', '-x509', ...ec, '-keyout', 'rogue.key', '-out', 'rogue.pem', '-days', '2', '-subj', '/CN=rogue client'], dir);
  const at = (file: string): string => join(dir, file);
  return {
    dir, serverCert: at('server.pem'), serverKey: at('server.key'), ca: at('ca.pem'),
    clientCert: at('client.pem'), clientKey: at('client.key'), rogueCert: at('rogue.pem'), rogueKey: at('rogue.key'),
  };
}

/**
 * openssl s_client sends `text`, and resolves with what came back once all of it did (then
 * it is stopped: -quiet ignores the end of its input), or once it exits (a refused handshake).
 */
async function sClient(port: number, text: string, extra: string[] = []): Promise<{ echoed: string; info: string; exited: boolean }> {
  const client = new Child('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-brief', ...extra]);
  client.write(text);
  let exited = false;
  const done = new Promise<void>((resolve) => {
    const check = (): void => {
      if (client.stdout.length >= text.length) resolve();
    };
    client.process.stdout!.on('data', check);
    void client.exited.then(() => {
      exited = true;
      resolve();
    });
  });
  await withTimeout(done, 15_000, () => `s_client to echo ${text.length} bytes (got ${client.stdout.length}; stderr: ${client.stderr})`);
  const echoed = client.stdout;
  client.process.kill('SIGTERM');
  await client.waitForExit();
  return { echoed, info: client.stderr, exited };
}

describe.skipIf(!HAS_OPENSSL)('tcpserver echo --tls-*', () => {
  let pki: Pki;
  beforeAll(() => {
    pki = makePki();
  });

  it.each(['-tls1_2', '-tls1_3'])('echoes an openssl s_client %s byte for byte; bytes counted are cleartext', async (version) => {
    const { server, port } = await startEcho(['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey]);
    const text = Array.from({ length: 300 }, (_, i) => `tls line ${i} ✓\n`).join('');
    const result = await sClient(port, text, [version]);
    expect(result.echoed).toBe(text);
    expect(result.info).toMatch(new RegExp(`Protocol version: ${version === '-tls1_2' ? 'TLSv1\\.2' : 'TLSv1\\.3'}`));
    await server.waitForLine(/^client disconnect:1$/);
    const bytes = Buffer.byteLength(text);
    expect(await stopEcho(server)).toEqual([1, 0, 1, bytes, bytes]);
  });

  it('--tls-client-cert required: a client certificate from the CA is served; none, or one from elsewhere, never becomes a client', async () => {
    const { server, port } = await startEcho(['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey,
      '--tls-ca', pki.ca, '--tls-client-cert', 'required']);
    const good = await sClient(port, 'with a good certificate\n', ['-cert', pki.clientCert, '-key', pki.clientKey]);
    expect(good.echoed).toBe('with a good certificate\n');
    await server.waitForLine(/^client disconnect:1$/);

    const none = await sClient(port, 'without a certificate\n');
    expect(none.echoed).toBe('');
    expect(none.exited).toBe(true);
    const rogue = await sClient(port, 'with a rogue certificate\n', ['-cert', pki.rogueCert, '-key', pki.rogueKey]);
    expect(rogue.echoed).toBe('');
    expect(rogue.exited).toBe(true);

    const [opened, , closed, bytesIn] = await stopEcho(server);
    expect([opened, closed, bytesIn]).toEqual([1, 1, 24]);
    expect(server.lines.filter((l) => l.startsWith('client connect:'))).toHaveLength(1);
    expect(server.stderr).toBe(''); // refused handshakes are not errors of the service
  });

  it('--tls-client-cert optional: a client without a certificate is served too', async () => {
    const { server, port } = await startEcho(['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey,
      '--tls-ca', pki.ca, '--tls-client-cert', 'optional']);
    expect((await sClient(port, 'anonymous\n')).echoed).toBe('anonymous\n');
    expect((await sClient(port, 'known\n', ['-cert', pki.clientCert, '-key', pki.clientKey])).echoed).toBe('known\n');
    const [opened] = await stopEcho(server);
    expect(opened).toBe(2);
  });

  it('a key and certificate that do not go together, or a file that is not PEM, are refused naming the flag (exit 2)', async () => {
    const mismatched = await runCli(['echo', '--port', '0', '--tls-cert', pki.serverCert, '--tls-key', pki.clientKey]);
    expect(mismatched).toMatchObject({ code: 2, stdout: '' });
    expect(mismatched.stderr).toMatch(/^tcpserver: .*--tls-(cert|key)\b.*\n$/);
    const notPem = await runCli(['echo', '--port', '0', '--tls-cert', join(pki.dir, 'server.csr'), '--tls-key', pki.serverKey]);
    expect(notPem).toMatchObject({ code: 2, stdout: '' });
    expect(notPem.stderr).toMatch(/^tcpserver: .*--tls-cert\b.*\n$/);
  });

  it('the shell starts a TLS echo server', async () => {
    const shell = spawnCli(['shell']);
    shell.write(`tcpserver 127.0.0.1 0 --tls-cert ${pki.serverCert} --tls-key ${pki.serverKey}\n`);
    const port = Number((await shell.waitForLine(/^server 1 listening on 127\.0\.0\.1:(\d+)$/))[1]);
    expect((await sClient(port, 'shell over tls\n')).echoed).toBe('shell over tls\n');
    await shell.waitForLine(/^client connect:1\.1 127\.0\.0\.1:\d+$/);
    shell.endInput();
    expect(await shell.waitForExit()).toEqual({ code: 0, signal: null });
  });
});
