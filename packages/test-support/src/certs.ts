// Throw-away TLS material for tests, made at test time with the openssl command into a
// temporary directory: a test CA, a server certificate it signed (CN/SAN localhost and
// 127.0.0.1), a second server certificate (for certificate rotation), a client certificate
// it signed (the good one), and a client certificate signed by an unrelated CA (the bad one).
// EC P-256 keys, valid 2 days: nothing secret is kept in the repository.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A key and the certificate that goes with it: file paths and their PEM text. */
export interface KeyPair {
  readonly keyFile: string;
  readonly certFile: string;
  readonly key: string;
  readonly cert: string;
}

export interface TestCerts {
  /** The temporary directory holding every file; `remove()` deletes it. */
  readonly dir: string;
  /** The test CA that signed `server`, `rotated` and `client`. */
  readonly ca: KeyPair;
  /** The server's certificate: CN localhost, SAN DNS:localhost, IP:127.0.0.1. */
  readonly server: KeyPair;
  /** Another server certificate from the same CA (CN rotated.localhost, same SANs). */
  readonly rotated: KeyPair;
  /** A client certificate signed by `ca` (CN good-client). */
  readonly client: KeyPair;
  /** A client certificate signed by an unrelated CA (CN bad-client): must be refused. */
  readonly badClient: KeyPair;
  remove(): void;
}

/** The material, or why it could not be made (openssl missing or failing). */
export function makeTestCerts(): TestCerts | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tcpserv-certs-'));
  try {
    const ca = selfSigned(dir, 'ca', '/CN=tcpserv test CA');
    const rogue = selfSigned(dir, 'rogue-ca', '/CN=unrelated test CA');
    const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
    const clientExt = 'extendedKeyUsage=clientAuth\n';
    return {
      dir,
      ca,
      server: signed(dir, 'server', '/CN=localhost', ca, serverExt),
      rotated: signed(dir, 'rotated', '/CN=rotated.localhost', ca, serverExt),
      client: signed(dir, 'client', '/CN=good-client', ca, clientExt),
      badClient: signed(dir, 'bad-client', '/CN=bad-client', rogue, clientExt),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return { error: (error as Error).message };
  }
}

function selfSigned(dir: string, name: string, subject: string): KeyPair {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', subject,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return pair(keyFile, certFile);
}

function signed(dir: string, name: string, subject: string, issuer: KeyPair, extensions: string): KeyPair {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  const csrFile = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, extensions);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', csrFile, '-subj', subject]);
  openssl(['x509', '-req', '-in', csrFile, '-CA', issuer.certFile, '-CAkey', issuer.keyFile, '-CAcreateserial',
    '-out', certFile, '-days', '2', '-extfile', extFile]);
  return pair(keyFile, certFile);
}

function pair(keyFile: string, certFile: string): KeyPair {
  return { keyFile, certFile, key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`openssl is not installed (${r.error.message}); Debian: apt-get install -y openssl`);
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${`${r.stderr}`.trim().split('\n').pop()}`);
}
