// What the TLS and Unix socket tests share: echo servers written with the public API (accept +
// recv/send with timeouts, or the notify callback), the peers we did not write (Python's ssl and
// socket modules, openssl s_client, socat), and a count of this process's file descriptors.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ClientClosedError, TcpEvent, type Client, type NotifyCallback, type TcpServer } from '../../src/index.js';

const TLS_PEER = fileURLToPath(new URL('./fixtures/tls_peer.py', import.meta.url));

/** Whether a command can be run here; the tests that need a missing one skip loudly. */
export function have(command: string, args: string[] = ['-h']): boolean {
  const r = spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
  return r.error === undefined;
}

/** Says loudly (once, on stderr) why a group of tests is skipped. */
export function sayMissing(tool: string, hint: string): void {
  process.stderr.write(`\n*** SKIPPED: ${tool} is not installed (${hint}) ***\n\n`);
}

/** Descriptors open in this process now. */
export function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Echoes every client with accept() and recv/send with timeouts, until the server is destroyed; `seen` collects the clients. */
export function serveEchoByAccept(server: TcpServer, seen?: Client[]): void {
  void (async () => {
    for await (const client of server) {
      seen?.push(client);
      void echoByRecv(client);
    }
  })();
}

async function echoByRecv(client: Client): Promise<void> {
  const buf = Buffer.alloc(64 * 1024);
  try {
    for (;;) {
      const n = await client.recv(buf, 2000);
      if (n === null) break;
      if (n === 0) continue; // a recv timeout: the peer is quiet for a while, keep waiting
      await client.send(buf.subarray(0, n), 10_000);
    }
    await client.close();
  } catch (error) {
    if (!(error instanceof ClientClosedError)) throw error;
  }
}

/** A notify callback that echoes on RECV (tryRecv + send, one pump per client), closing at end of stream. */
export function echoByNotify(events?: Array<[number, TcpEvent]>): NotifyCallback {
  const pumping = new Set<Client>();
  const buf = Buffer.alloc(64 * 1024);
  return (client, event) => {
    events?.push([client.id, event]);
    if (event !== TcpEvent.RECV || pumping.has(client)) return undefined;
    pumping.add(client);
    return (async () => {
      try {
        for (;;) {
          const n = client.tryRecv(buf);
          if (n === 0) return;
          if (n === null) {
            await client.close();
            return;
          }
          await client.send(Buffer.from(buf.subarray(0, n)), 10_000);
        }
      } catch (error) {
        if (!(error instanceof ClientClosedError)) throw error;
      } finally {
        pumping.delete(client);
      }
    })();
  };
}

// ── Python (socket, ssl) ───────────────────────────────────────────────────────────

export interface PeerTls {
  ca: string;
  cert?: string;
  key?: string;
  version?: '1.2' | '1.3';
  alpn?: string[];
  servername?: string;
}

export type PeerTarget = { tcp: [string, number] } | { unix: string };

export interface PyEcho {
  info: { version?: string; alpn?: string | null; cipher?: string };
  results: Array<{ size: number; sent: string; received: string; length: number }>;
}

/** Runs fixtures/tls_peer.py MODE with JSON arguments; resolves with its JSON, rejects with its stderr. */
export function runTlsPeer<T>(mode: 'echo' | 'hold', args: object, ms = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [TLS_PEER, mode, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as T);
      else reject(new Error(`tls_peer.py ${mode} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** Python echoes each size through one connection; resolves with its results. */
export function pythonEcho(target: PeerTarget, sizes: number[], tls?: PeerTls, seed = 7): Promise<PyEcho> {
  return runTlsPeer<PyEcho>('echo', { ...target, sizes, seed, ...(tls ? { tls } : {}) });
}

// ── openssl s_client, socat ────────────────────────────────────────────────────────

export interface PipeResult {
  /** Everything the tool wrote to stdout. */
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

/**
 * Runs COMMAND ARGS, writes `input` to its stdin, and collects stdout until `expect` bytes came
 * (then ends it: s_client -quiet never exits on its own), it exits, or `ms` passed.
 */
export function pipeThrough(command: string, args: string[], input: Buffer, expect: number, ms = 30_000): Promise<PipeResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const parts: Buffer[] = [];
    let have = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      have += chunk.length;
      if (have >= expect) child.kill('SIGTERM');
    });
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.stdin.on('error', () => {}); // it may exit before taking all of stdin
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(parts), stderr, code });
    });
  });
}
