/**
 * The PROXY protocol stage: the first stage after TCP accept (before TLS). It reads the
 * header a load balancer (HAProxy `send-proxy`/`send-proxy-v2`, nginx `proxy_protocol on`, a
 * cloud load balancer) puts in front of the client's bytes, before any Client exists, and
 * hands on the arrival with the real client's address. Whatever goes wrong — untrusted peer,
 * missing, malformed, oversized or slow header — is a StageError('proxy'): the server closes
 * the connection and counts it in stats().proxyErrors; no CONNECT is ever seen.
 */
import type { BlockList } from 'node:net';
import { type Arrival, type RemoteEndpoint, type Stage, StageError } from './arrival.js';
import {
  type ProxyEndpoint, type ProxyHeader, ProxyHeaderParser, ProxyProtocolError, type ProxyProtocolVersion, type ProxyTlvs,
} from './proxy-protocol.js';
import { stopReading } from './read-path.js';
import { isTrusted } from './trusted-proxies.js';

/** What `client.proxy` says: who relayed the client, and what the header told. */
export interface ProxyInfo {
  /** The balancer's address: the TCP peer that sent the header ('' for a Unix socket peer). */
  readonly address: string;
  readonly port: number;
  /** 'IPv4', 'IPv6' or 'unix'. */
  readonly family: string;
  /** 1 or 2. */
  readonly version: 1 | 2;
  /**
   * False when the header carried no addresses (v1 UNKNOWN, v2 AF_UNSPEC): then
   * client.remoteAddress is the balancer's own.
   */
  readonly relayed: boolean;
  /** The address and port the client connected to (the balancer's frontend), when the header says. */
  readonly destination?: ProxyEndpoint;
  /** The client's Unix path when the balancer relayed a Unix socket client (client.remoteFamily 'unix'). */
  readonly sourcePath?: string;
  /** v2 TLVs: ALPN, authority, SSL (client flags, verify, version, CN, cipher …), unique id, raw. */
  readonly tlvs: ProxyTlvs;
}

export interface ProxyStageOptions {
  readonly version: ProxyProtocolVersion;
  /** ms from TCP accept to a complete header. */
  readonly timeout: number;
  /** Peers allowed to send a header; undefined = any. */
  readonly trusted: BlockList | undefined;
}

/** A Stage reading the PROXY header of every connection. */
export function createProxyStage(options: ProxyStageOptions): Stage {
  return (arrival, signal) => readProxyHeader(arrival, options, signal);
}

function readProxyHeader(arrival: Arrival, options: ProxyStageOptions, signal: AbortSignal): Promise<Arrival> {
  const { socket, remote: peer } = arrival;
  if (peer.family !== 'unix' && peer.address === '') {
    // getpeername failed: the peer reset the connection before we accepted it — what HAProxy's
    // health checks do (connect, header, close with RST). Nobody is left to serve or to blame.
    return Promise.reject(new StageError('local', 'the connection was reset before its peer address could be read'));
  }
  // Unix socket peers have no address to check: the socket file's permissions say who may connect.
  if (options.trusted && peer.family !== 'unix' && !isTrusted(options.trusted, peer.address)) {
    return Promise.reject(new StageError('proxy', `${peer.address} is not in options.trustedProxies`));
  }
  return new Promise<Arrival>((resolve, reject) => {
    const parser = new ProxyHeaderParser(options.version);
    let received = 0;
    const settle = (outcome: Arrival | Error): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onClose);
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbort);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const missing = (): string => (received === 0 ? 'no PROXY header' : `an incomplete PROXY header (${received} bytes)`);
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      let result;
      try {
        result = parser.push(chunk);
      } catch (error) {
        settle(error instanceof ProxyProtocolError ? new StageError('proxy', error.reason, { cause: error }) : toError(error));
        return;
      }
      if (!result.done) return;
      // Now, inside this 'data' callback: no byte past this chunk is read until the client
      // chooses its read path; the rest of this chunk is the client's first bytes.
      stopReading(socket);
      const { header, rest } = result;
      if (isHealthCheck(header, socket.remoteAddress, socket.remotePort, socket.localAddress, socket.localPort)) {
        settle(new StageError('local', `PROXY v${header.version} health check from ${peer.address || 'unix'}`));
        return;
      }
      const initial = arrival.initial && arrival.initial.length > 0 ? Buffer.concat([arrival.initial, rest]) : rest;
      settle({
        ...arrival,
        remote: realClient(header, peer),
        ...(initial.length > 0 ? { initial } : { initial: undefined }),
        proxy: proxyInfo(header, peer),
      });
    };
    const onEnd = (): void => settle(new StageError('proxy', `the connection ended after ${missing()}`));
    const onClose = (): void => settle(new StageError('proxy', `the connection closed after ${missing()}`));
    const onError = (error: Error): void => settle(new StageError('proxy', `socket error after ${missing()}: ${error.message}`, { cause: error }));
    // The server is being destroyed and closes this socket itself: not the peer's fault, so
    // 'local' (closed quietly, not counted).
    const onAbort = (): void => settle(new StageError('local', 'the server was destroyed during the PROXY header'));
    const timer = setTimeout(() => settle(new StageError('proxy', `${missing()} within ${options.timeout} ms`)), options.timeout);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onClose);
    socket.once('error', onError);
    socket.resume();
  });
}

/**
 * The balancer speaking for itself rather than relaying a client: a v2 LOCAL command, or (what
 * HAProxy's v1 health checks send, since v1 has no LOCAL) a TCP4/TCP6 line that names this very
 * connection — source = the peer's address and port, destination = ours. A relayed client can
 * never match: its connection goes to the balancer's frontend, not to our address and port.
 */
export function isHealthCheck(
  header: ProxyHeader, peerAddress: string | undefined, peerPort: number | undefined,
  localAddress: string | undefined, localPort: number | undefined,
): boolean {
  if (header.command === 'LOCAL') return true;
  const { source, destination } = header;
  if (header.version !== 1 || !source || !destination) return false;
  return source.port === peerPort && destination.port === localPort
    && sameIp(source.address, peerAddress) && sameIp(destination.address, localAddress);
}

/** The real client; the peer itself when the header has no addresses. */
function realClient(header: ProxyHeader, peer: RemoteEndpoint): RemoteEndpoint {
  const { family, source } = header;
  if (family === undefined || !source) return peer;
  if (family === 'unix') return { address: '', port: 0, family: 'unix' };
  return { address: source.address, port: source.port, family };
}

function proxyInfo(header: ProxyHeader, peer: RemoteEndpoint): ProxyInfo {
  const relayed = header.family !== undefined && header.source !== undefined;
  return Object.freeze({
    address: peer.address,
    port: peer.port,
    family: peer.family,
    version: header.version,
    relayed,
    ...(relayed && header.destination ? { destination: Object.freeze({ ...header.destination }) } : {}),
    ...(header.family === 'unix' && header.source ? { sourcePath: header.source.address } : {}),
    tlvs: header.tlvs,
  });
}

/** "::ffff:10.0.0.1" (a dual-stack listener's spelling) and "10.0.0.1" are one address. */
function sameIp(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  const plain = (ip: string): string => (ip.toLowerCase().startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip.toLowerCase());
  return plain(a) === plain(b);
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
