// A throw-away TLS certificate for the TLS case, made at run time with the openssl
// command into a temporary directory (self-signed, RSA 2048, CN/SAN localhost and
// 127.0.0.1, valid 2 days): nothing secret is kept in the repository.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Paths of the certificate and key, or why they could not be made. */
export type Certs = { cert: string; key: string } | { error: string };

export function makeCerts(dir: string): Certs {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { error: `openssl is not installed (${r.error.message}); Debian: apt-get install -y openssl` };
  if (r.status !== 0 || !existsSync(cert) || !existsSync(key)) return { error: `openssl req failed: ${`${r.stderr}`.trim().split('\n').pop()}` };
  return { cert, key };
}
