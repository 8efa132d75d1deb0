import { readFileSync } from 'node:fs';
import { UsageError, choiceFlag, fileFlag, type FlagValues } from './flags.js';

export const TLS_FLAGS = {
  'tls-cert': fileFlag('FILE', 'serve TLS with this certificate chain (PEM); needs --tls-key'),
  'tls-key': fileFlag('FILE', 'private key of --tls-cert (PEM, unencrypted)'),
  'tls-ca': fileFlag('FILE', 'CA certificates (PEM) that client certificates must chain to; needs --tls-client-cert'),
  'tls-client-cert': choiceFlag('MODE', 'ask clients for a certificate: required (refuse clients without a valid one) '
    + 'or optional (accept them, unauthorized); needs --tls-ca', ['required', 'optional'] as const),
} as const;

/** Reads a PEM file named by `flag`; an unreadable file is bad usage that names the flag. */
function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`${flag} must be a readable file (got ${JSON.stringify(path)}: ${code})`);
  }
}

/**
 * The `tls` option of createServer from the --tls-* flags, or undefined without --tls-cert.
 * The files are read here; whether they hold a usable key and certificate the library says.
 */
export function tlsOption(flags: FlagValues<typeof TLS_FLAGS>): Record<string, unknown> | undefined {
  const cert = flags['tls-cert'];
  const key = flags['tls-key'];
  const ca = flags['tls-ca'];
  const clientCert = flags['tls-client-cert'];
  if (cert === undefined) {
    const stray = key !== undefined ? '--tls-key' : ca !== undefined ? '--tls-ca' : clientCert !== undefined ? '--tls-client-cert' : undefined;
    if (stray) throw new UsageError(`${stray} needs --tls-cert FILE (and --tls-key FILE)`);
    return undefined;
  }
  if (key === undefined) throw new UsageError('--tls-cert needs --tls-key FILE');
  if ((ca === undefined) !== (clientCert === undefined)) {
    throw new UsageError(ca === undefined
      ? '--tls-client-cert needs --tls-ca FILE (the CA that client certificates must chain to)'
      : '--tls-ca needs --tls-client-cert required|optional');
  }
  const tls: Record<string, unknown> = { cert: readPem('--tls-cert', cert), key: readPem('--tls-key', key) };
  if (ca !== undefined) {
    tls.ca = readPem('--tls-ca', ca);
    tls.requestCert = true;
    tls.rejectUnauthorized = clientCert === 'required';
  }
  return tls;
}
