/**
 * The `tls` option: checked field by field, then turned into one node:tls SecureContext.
 * Key and certificate material is tried one field at a time, so a bad field is named in the
 * error (OpenSSL's own message says only "no start line" or "bad decrypt", and never which
 * option it was reading). Nothing here ever prints: OpenSSL's error becomes part of an
 * InvalidArgumentError message, and the material itself is never echoed back.
 */
import { type SecureContext, type SecureContextOptions, createSecureContext } from 'node:tls';
import { X509Certificate, constants as cryptoConstants } from 'node:crypto';
import { DEFAULTS, MAX_TIMEOUT } from './defaults.js';
import { InvalidArgumentError } from './errors.js';
import { checkBoolean, checkFunction, checkInteger } from './validate.js';

/** PEM text or DER/PEM bytes, or several of them. */
export type TlsMaterial = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

/** What node:tls's SNICallback gets: call `callback(null, secureContext)` (or `callback(null)` for the default). */
export type SniCallback = (servername: string, callback: (error: Error | null, context?: SecureContext) => void) => void;

/** Options of `createServer({ tls })` (see node:tls for the meaning of each). */
export interface TlsOptions {
  /** Private key(s) in PEM. Required unless `pfx`. */
  key?: TlsMaterial;
  /** Certificate chain(s) in PEM. Required unless `pfx`. */
  cert?: TlsMaterial;
  /** CA certificates that client certificates are checked against (for `requestCert`). Default: Mozilla's CAs, as node:tls. */
  ca?: TlsMaterial;
  /** Passphrase of an encrypted `key` or of `pfx`. */
  passphrase?: string;
  /** A PKCS#12 bundle (key and certificates) instead of `key`/`cert`. */
  pfx?: TlsMaterial;
  /** Ask clients for a certificate. Default false. */
  requestCert?: boolean;
  /** With `requestCert`: refuse a client whose certificate is missing or not signed by `ca`. Default true. */
  rejectUnauthorized?: boolean;
  /** Application protocols the server accepts, in order of preference, e.g. ['h2', 'http/1.1']. Default: no ALPN. */
  ALPNProtocols?: readonly string[];
  /** Picks a secure context by the name the client asked for (SNI). Default: one context for every name. */
  SNICallback?: SniCallback;
  /** Lowest TLS version accepted: 'TLSv1.3', 'TLSv1.2', 'TLSv1.1' or 'TLSv1'. Default 'TLSv1.2' (node:tls). */
  minVersion?: 'TLSv1.3' | 'TLSv1.2' | 'TLSv1.1' | 'TLSv1';
  /** OpenSSL cipher list (TLS 1.2 and below). Default: node:tls's. */
  ciphers?: string;
  /** A connection that has not finished its handshake this many ms after TCP accept is closed. Default 10000. */
  handshakeTimeout?: number;
}

/** The fields that make up the secure context (what `server.setSecureContext` replaces). */
export type SecureContextFields = Pick<TlsOptions, 'key' | 'cert' | 'ca' | 'passphrase' | 'pfx' | 'minVersion' | 'ciphers'>;

/** Material as node:tls takes it (Buffers, mutable arrays). */
type Material = string | Buffer | Array<string | Buffer>;

/** The secure context's fields, checked. */
export interface ResolvedContextFields {
  readonly key: Material | undefined;
  readonly cert: Material | undefined;
  readonly ca: Material | undefined;
  readonly passphrase: string | undefined;
  readonly pfx: Material | undefined;
  readonly minVersion: TlsOptions['minVersion'];
  readonly ciphers: string | undefined;
}

export interface ResolvedTlsOptions {
  readonly context: ResolvedContextFields;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
  readonly ALPNProtocols: readonly string[] | undefined;
  readonly SNICallback: SniCallback | undefined;
  readonly handshakeTimeout: number;
}

const CONTEXT_FIELDS = ['key', 'cert', 'ca', 'passphrase', 'pfx', 'minVersion', 'ciphers'] as const;
const CONNECTION_FIELDS = ['requestCert', 'rejectUnauthorized', 'ALPNProtocols', 'SNICallback', 'handshakeTimeout'] as const;
const VERSIONS = ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1'] as const;
/** An ALPN protocol name is 1…255 bytes on the wire. */
const ALPN_MAX_BYTES = 255;

/** Validates `createServer`'s `tls` object (types and combinations; the material is read by buildSecureContext). */
export function resolveTlsOptions(argument: string, value: unknown): ResolvedTlsOptions {
  const o = checkObject(argument, value, [...CONTEXT_FIELDS, ...CONNECTION_FIELDS]);
  const context = checkContextFields(argument, o);
  const given = (key: string): boolean => o[key] !== undefined;
  const requestCert = given('requestCert') ? checkBoolean(`${argument}.requestCert`, o.requestCert) : false;
  const rejectUnauthorized = given('rejectUnauthorized') ? checkBoolean(`${argument}.rejectUnauthorized`, o.rejectUnauthorized) : true;
  let ALPNProtocols: readonly string[] | undefined;
  if (given('ALPNProtocols')) {
    const list = o.ALPNProtocols;
    if (!Array.isArray(list) || list.length === 0
      || list.some((p) => typeof p !== 'string' || p.length === 0 || Buffer.byteLength(p) > ALPN_MAX_BYTES)) {
      throw new InvalidArgumentError(`${argument}.ALPNProtocols`,
        `a non-empty array of protocol names (strings of 1…${ALPN_MAX_BYTES} bytes) such as ["h2", "http/1.1"]`, list);
    }
    ALPNProtocols = Object.freeze([...(list as string[])]);
  }
  const SNICallback = given('SNICallback') ? checkFunction<SniCallback>(`${argument}.SNICallback`, o.SNICallback) : undefined;
  const handshakeTimeout = given('handshakeTimeout')
    ? checkInteger(`${argument}.handshakeTimeout`, o.handshakeTimeout, 1, MAX_TIMEOUT) : DEFAULTS.handshakeTimeout;
  return Object.freeze({ context, requestCert, rejectUnauthorized, ALPNProtocols, SNICallback, handshakeTimeout });
}

/** Validates the argument of `server.setSecureContext` (only the secure context's fields). */
export function resolveSecureContextFields(argument: string, value: unknown): ResolvedContextFields {
  return checkContextFields(argument, checkObject(argument, value, CONTEXT_FIELDS));
}

/**
 * Reads the key and certificate material into a SecureContext. Throws InvalidArgumentError
 * naming the field OpenSSL could not read (or the key that does not match the certificate).
 */
export function buildSecureContext(argument: string, fields: ResolvedContextFields): SecureContext {
  const { key, cert, ca, passphrase, pfx, minVersion, ciphers } = fields;
  // Each field alone first: an error then belongs to that field.
  if (ca !== undefined) {
    checkCaCertificates(`${argument}.ca`, ca);
    tryContext(`${argument}.ca`, 'CA certificates in PEM that OpenSSL can read', ca, { ca });
  }
  if (cert !== undefined) tryContext(`${argument}.cert`, 'a certificate chain in PEM that OpenSSL can read', cert, { cert });
  if (key !== undefined) {
    tryContext(`${argument}.key`,
      passphrase === undefined ? 'a PEM private key that OpenSSL can read (an encrypted key needs passphrase)'
        : `a PEM private key that OpenSSL can read with ${argument}.passphrase`, key, { key, passphrase });
  }
  if (pfx !== undefined) {
    tryContext(`${argument}.pfx`, 'a PKCS#12 bundle that OpenSSL can read (with passphrase if it has one)', pfx, { pfx, passphrase });
  }
  if (ciphers !== undefined) tryContext(`${argument}.ciphers`, 'an OpenSSL cipher list with at least one known cipher', ciphers, { ciphers });
  // Together: what still fails is a key that does not belong to the certificate.
  return tryContext(`${argument}.key`, `the private key of ${argument}.cert`, key ?? pfx, {
    key, cert, ca, passphrase, pfx, ciphers, minVersion,
    // Clients may not start a renegotiation (the TLS socket also refuses it; this makes OpenSSL say no first).
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION ?? 0,
  });
}

/**
 * node:tls skips whatever in `ca` is not a PEM certificate without a word, which would leave a
 * server that refuses every client certificate: each entry must hold PEM certificates, all readable.
 */
function checkCaCertificates(argument: string, ca: Material): void {
  for (const entry of Array.isArray(ca) ? ca : [ca]) {
    const text = typeof entry === 'string' ? entry : entry.toString('latin1');
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) {
      throw new InvalidArgumentError(argument, 'CA certificates in PEM (no -----BEGIN CERTIFICATE----- block found)', describeMaterial(entry));
    }
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (error) {
        const said = (error as { reason?: unknown }).reason ?? (error as Error).message;
        throw new InvalidArgumentError(argument, `CA certificates in PEM that OpenSSL can read (OpenSSL: ${String(said)})`, describeMaterial(entry));
      }
    }
  }
}

function checkObject(argument: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(argument, 'an object of TLS options such as { key, cert }', value);
  }
  const o = value as Record<string, unknown>;
  for (const field of Object.keys(o)) {
    if (!known.includes(field)) {
      throw new InvalidArgumentError(`${argument}.${field}`, `one of the known TLS options (${known.join(', ')})`, o[field]);
    }
  }
  return o;
}

function checkContextFields(argument: string, o: Record<string, unknown>): ResolvedContextFields {
  const given = (key: string): boolean => o[key] !== undefined;
  const key = given('key') ? checkMaterial(`${argument}.key`, o.key) : undefined;
  const cert = given('cert') ? checkMaterial(`${argument}.cert`, o.cert) : undefined;
  const ca = given('ca') ? checkMaterial(`${argument}.ca`, o.ca) : undefined;
  const pfx = given('pfx') ? checkMaterial(`${argument}.pfx`, o.pfx) : undefined;
  if (pfx === undefined && (key === undefined || cert === undefined)) {
    const missing = key === undefined ? 'key' : 'cert';
    throw new InvalidArgumentError(`${argument}.${missing}`, `given (a server needs key and cert, or pfx)`, o[missing]);
  }
  if (pfx !== undefined && (key !== undefined || cert !== undefined)) {
    throw new InvalidArgumentError(`${argument}.pfx`, 'given without key and cert (pfx holds both)', 'a pfx and key/cert');
  }
  let passphrase: string | undefined;
  if (given('passphrase')) {
    if (typeof o.passphrase !== 'string') throw new InvalidArgumentError(`${argument}.passphrase`, 'a string', typeof o.passphrase);
    passphrase = o.passphrase;
  }
  let minVersion: SecureContextFields['minVersion'];
  if (given('minVersion')) {
    if (!VERSIONS.includes(o.minVersion as (typeof VERSIONS)[number])) {
      throw new InvalidArgumentError(`${argument}.minVersion`, `one of ${VERSIONS.map((v) => `'${v}'`).join(', ')}`, o.minVersion);
    }
    minVersion = o.minVersion as SecureContextFields['minVersion'];
  }
  let ciphers: string | undefined;
  if (given('ciphers')) {
    if (typeof o.ciphers !== 'string' || o.ciphers.length === 0) {
      throw new InvalidArgumentError(`${argument}.ciphers`, 'a non-empty OpenSSL cipher list such as "ECDHE+AESGCM"', o.ciphers);
    }
    ciphers = o.ciphers;
  }
  return Object.freeze({ key, cert, ca, passphrase, pfx, minVersion, ciphers });
}

function checkMaterial(argument: string, value: unknown): Material {
  const one = (v: unknown): v is string | Uint8Array => (typeof v === 'string' && v.length > 0) || (v instanceof Uint8Array && v.length > 0);
  const own = (v: string | Uint8Array): string | Buffer => (typeof v === 'string' ? v : Buffer.from(v));
  if (one(value)) return own(value);
  if (Array.isArray(value) && value.length > 0 && value.every(one)) return value.map(own);
  throw new InvalidArgumentError(argument, 'PEM text or a Buffer (or a non-empty array of them), e.g. readFileSync("server.key")',
    describeMaterial(value));
}

/** createSecureContext(options), or InvalidArgumentError for `argument` with OpenSSL's reason (no stack). */
function tryContext(argument: string, rule: string, material: unknown, options: SecureContextOptions): SecureContext {
  try {
    return createSecureContext(options);
  } catch (error) {
    const e = error as { reason?: unknown; message?: unknown };
    const said = typeof e.reason === 'string' ? e.reason : String(e.message ?? error);
    const hint = typeof material === 'string' && !material.includes('-----BEGIN') && material.length < 4096
      ? '; this looks like a file name: pass the file\'s contents (readFileSync)' : '';
    throw new InvalidArgumentError(argument, `${rule} (OpenSSL: ${said}${hint})`, describeMaterial(material));
  }
}

/** What an error may say about key material: its kind and size, never its bytes. */
function describeMaterial(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? 'null' : typeof value;
}
