/**
 * The TLS stage: a server-side tls.TLSSocket over each admitted socket. It runs after the
 * PROXY stage (a PROXY header comes before the ClientHello) and before the connection becomes
 * a Client, so a handshake that fails — not TLS, too slow, an unauthorised client certificate —
 * is closed and counted (stats().tlsErrors) and never produces CONNECT or DISCONNECT.
 *
 *   admitted socket ──▶ TLSSocket(isServer) ──'secure'──▶ client certificate check ──▶ Arrival{ socket: TLSSocket, tls }
 *                           │ 'error' / 'close' / handshakeTimeout / server destroyed
 *                           ▼
 *                     StageError('tls', reason)
 *
 * The client reads the TLSSocket through the stream path (read-path.ts): TLS decrypts in
 * JavaScript, so the bytes counted are cleartext.
 */
import { type SecureContext, TLSSocket } from 'node:tls';
import type { Arrival, Stage } from './arrival.js';
import { StageError } from './arrival.js';
import type { ResolvedTlsOptions } from './tls-options.js';

/** The peer's certificate as `client.tls` shows it. */
export interface TlsPeerCertificate {
  /** Subject distinguished name, one `KEY=value` per line (as X509Certificate.subject). */
  readonly subject: string;
  readonly issuer: string;
  /** SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint256: string;
  /** Expiry, as OpenSSL prints it ("Jan  1 00:00:00 2040 GMT"). */
  readonly validTo: string;
}

/** `client.tls`: what the handshake settled. */
export interface TlsInfo {
  /** 'TLSv1.3', 'TLSv1.2', … */
  readonly protocol: string;
  /** The cipher suite's OpenSSL name, e.g. 'TLS_AES_256_GCM_SHA384'. */
  readonly cipher: string;
  /** The protocol chosen by ALPN, or null when none was. */
  readonly alpnProtocol: string | null;
  /** The name the client asked for (SNI), or null. */
  readonly servername: string | null;
  /** The client's certificate was checked against `ca` and is valid (only with requestCert). */
  readonly authorized: boolean;
  /** Why the client's certificate is not authorized (an OpenSSL code such as 'SELF_SIGNED_CERT_IN_CHAIN'), or null. */
  readonly authorizationError: string | null;
  /** The client's certificate, or undefined when it sent none. */
  readonly peerCertificate: TlsPeerCertificate | undefined;
}

/** node:tls's TLSWrap answers the certificate check it left to us (its verify callback accepts every certificate). */
interface VerifyingHandle {
  verifyError?: () => (Error & { code?: string }) | null;
}

/** A client-certificate check the running Node cannot answer is treated as a failed one. */
const UNVERIFIABLE = 'UNABLE_TO_VERIFY (this Node exposes no certificate check)';

/** Runs handshakes with the current secure context; `setSecureContext` swaps it for new connections. */
export class TlsStage {
  readonly #options: ResolvedTlsOptions;
  #context: SecureContext;

  constructor(options: ResolvedTlsOptions, context: SecureContext) {
    this.#options = options;
    this.#context = context;
  }

  /** New connections use `context`; those already handshaking or connected keep theirs. */
  setSecureContext(context: SecureContext): void {
    this.#context = context;
  }

  readonly stage: Stage = (arrival, signal) => this.#handshake(arrival, signal);

  #handshake(arrival: Arrival, signal: AbortSignal): Promise<Arrival> {
    const { requestCert, rejectUnauthorized, ALPNProtocols, SNICallback, handshakeTimeout } = this.#options;
    return new Promise((resolve, reject) => {
      // Bytes a stage before us read past its own header (a PROXY stage) are the start of the
      // ClientHello: put them back, and the TLS socket reads them first.
      if (arrival.initial && arrival.initial.length > 0) arrival.socket.unshift(arrival.initial);
      let socket: TLSSocket;
      try {
        socket = new TLSSocket(arrival.socket, {
          isServer: true,
          secureContext: this.#context,
          requestCert,
          rejectUnauthorized,
          ...(ALPNProtocols ? { ALPNProtocols: [...ALPNProtocols] } : {}),
          ...(SNICallback ? { SNICallback } : {}),
        });
      } catch (error) {
        // E.g. the connection was already gone: a refused connection, not a server error.
        reject(new StageError('tls', describeTlsError(error as Error)));
        return;
      }
      // Belt and braces with SSL_OP_NO_RENEGOTIATION in the context: node:tls refuses it too.
      socket.disableRenegotiation();
      let settled = false;
      let lastError: string | undefined;
      const fail = (reason: string): void => {
        if (settled) return;
        settled = true;
        cleanup();
        socket.destroy();
        // A handshake cut short by the server's own destroy is not the peer's TLS error: not counted.
        reject(signal.aborted ? new StageError('local', 'server destroyed') : new StageError('tls', reason));
      };
      const timer = setTimeout(() => fail(`no handshake within ${handshakeTimeout} ms`), handshakeTimeout);
      const onAbort = (): void => fail('server destroyed');
      const onError = (error: Error): void => {
        lastError ??= describeTlsError(error);
      };
      const onClose = (): void => fail(lastError ?? 'closed by the peer during the handshake');
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('close', onClose);
        socket.off('secure', onSecure);
      };
      const onSecure = (): void => {
        if (settled) return;
        const verifyError = requestCert ? certificateError(socket) : null;
        if (requestCert && rejectUnauthorized && verifyError !== null) {
          fail(`client certificate refused (${verifyError})`);
          return;
        }
        settled = true;
        cleanup();
        watchAfterHandshake(socket);
        resolve({ ...arrival, socket, initial: undefined, tls: tlsInfo(socket, requestCert, verifyError) });
      };
      // Always an 'error' listener: a TLS error must never reach the process as unhandled.
      socket.on('error', onError);
      socket.once('close', onClose);
      socket.once('secure', onSecure);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * node:tls reports TLS errors of a server-side socket that has no tls.Server (a refused
 * renegotiation, a bad record) through its internal '_tlsError' event instead of 'error', and
 * then leaves the connection open. Ending it is the only safe answer; the client sees the
 * resulting close as a disconnect.
 */
function watchAfterHandshake(socket: TLSSocket): void {
  socket.on('_tlsError', (error: Error) => socket.destroy(error));
}

/** Why the client's certificate is not valid, or null when it is. */
function certificateError(socket: TLSSocket): string | null {
  const handle = (socket as unknown as { _handle: VerifyingHandle | null })._handle;
  if (typeof handle?.verifyError !== 'function') return UNVERIFIABLE;
  const error = handle.verifyError();
  if (error === null || error === undefined) return null;
  return error.code ?? error.message;
}

function tlsInfo(socket: TLSSocket, requestCert: boolean, verifyError: string | null): TlsInfo {
  const x509 = socket.getPeerX509Certificate();
  const peerCertificate = x509 === undefined ? undefined : Object.freeze({
    subject: x509.subject,
    issuer: x509.issuer,
    fingerprint256: x509.fingerprint256,
    validTo: x509.validTo,
  });
  const alpn = socket.alpnProtocol;
  const servername = (socket as unknown as { servername?: unknown }).servername;
  return Object.freeze({
    protocol: socket.getProtocol() ?? '',
    cipher: socket.getCipher()?.name ?? '',
    alpnProtocol: typeof alpn === 'string' ? alpn : null,
    servername: typeof servername === 'string' && servername.length > 0 ? servername : null,
    authorized: requestCert && verifyError === null && peerCertificate !== undefined,
    authorizationError: requestCert ? (verifyError ?? (peerCertificate === undefined ? 'NO_PEER_CERTIFICATE' : null)) : null,
    peerCertificate,
  });
}

/** OpenSSL's reason ("wrong version number", "http request") rather than its whole error string. */
function describeTlsError(error: Error): string {
  const e = error as Error & { reason?: unknown; code?: unknown };
  if (typeof e.reason === 'string') return e.reason;
  if (typeof e.code === 'string') return `${e.code}: ${e.message}`;
  return e.message;
}

