// Helpers shared by the end-to-end tests of the packages (cli, examples, node-binding):
// spawn a program and wait for its lines, run the Python client, talk to a server with
// node:net. Every wait has a time limit, and every
// spawned child is tracked so that `killAll()` in afterEach/afterAll ends it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect as netConnect, createServer as netCreateServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export { makeTestCerts, type KeyPair, type TestCerts } from './certs.js';

/** The Python peer (a client we did not write): python/py_client.py of this package. */
export const PY_CLIENT = fileURLToPath(new URL('../python/py_client.py', import.meta.url));

const DEFAULT_WAIT_MS = 10_000;

/** Rejects after `ms` with a message saying what was awaited (computed then, if a function). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const describe = (): string => (typeof what === 'function' ? what() : what);
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${describe()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const children = new Set<Child>();

/** A spawned program: its output so far, line waits, stdin, exit. */
export class Child {
  readonly process: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  /** Indexes of the lines already returned by waitForLine / waitForErrorLine. */
  readonly #consumed = { stdout: new Set<number>(), stderr: new Set<number>() };
  readonly #waiters = new Set<() => void>();

  constructor(command: string, args: readonly string[], env?: NodeJS.ProcessEnv) {
    this.process = spawn(command, args, { stdio: 'pipe', env: { ...process.env, ...env } });
    this.process.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      this.#wake();
    });
    this.process.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      this.#wake();
    });
    this.process.stdin!.on('error', () => {}); // the child may exit before reading it all
    this.exited = new Promise((resolve) => {
      this.process.on('close', (code, signal) => {
        children.delete(this);
        resolve({ code, signal });
        this.#wake();
      });
    });
    children.add(this);
  }

  /** Complete stdout lines so far. */
  get lines(): string[] {
    const lines = this.stdout.split('\n');
    lines.pop();
    return lines;
  }

  /**
   * The first complete stdout line matching `re` not returned before (lines are taken one
   * by one, so waiting twice for /client disconnect/ finds two different lines).
   */
  waitForLine(re: RegExp, ms = DEFAULT_WAIT_MS): Promise<RegExpMatchArray> {
    return this.#waitFor('stdout', re, ms);
  }

  /** The same for stderr. */
  waitForErrorLine(re: RegExp, ms = DEFAULT_WAIT_MS): Promise<RegExpMatchArray> {
    return this.#waitFor('stderr', re, ms);
  }

  #waitFor(stream: 'stdout' | 'stderr', re: RegExp, ms: number): Promise<RegExpMatchArray> {
    const consumed = this.#consumed[stream];
    const found = new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = (): void => {
        const lines = this[stream].split('\n').slice(0, -1);
        for (let i = 0; i < lines.length; i++) {
          const m = consumed.has(i) ? null : re.exec(lines[i]!);
          if (m) {
            consumed.add(i);
            this.#waiters.delete(check);
            resolve(m);
            return;
          }
        }
        if (this.process.exitCode !== null || this.process.signalCode !== null) {
          this.#waiters.delete(check);
          reject(new Error(`exited without a ${stream} line matching ${re}\n${this.#output()}`));
        }
      };
      this.#waiters.add(check);
      check();
    });
    return withTimeout(found, ms, () => `a ${stream} line matching ${re}\n${this.#output()}`);
  }

  #output(): string {
    return `stdout:\n${this.stdout}\nstderr:\n${this.stderr}`;
  }

  /** The port of the next `listening on HOST:PORT` line. */
  async listeningPort(): Promise<number> {
    const m = await this.waitForLine(/^listening on (?:\[[^\]]+\]|[^:]+):(\d+)$/);
    return Number(m[1]);
  }

  write(text: string): void {
    this.process.stdin!.write(text);
  }

  endInput(): void {
    this.process.stdin!.end();
  }

  signal(signal: NodeJS.Signals): void {
    this.process.kill(signal);
  }

  waitForExit(ms = DEFAULT_WAIT_MS): Promise<Exit> {
    return withTimeout(this.exited, ms, `${this.process.spawnargs.join(' ')} to exit`);
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** Starts `node ARGS…`. */
export function spawnNode(args: readonly string[], env?: NodeJS.ProcessEnv): Child {
  return new Child(process.execPath, args, env);
}

/** Kills every child still running (SIGKILL) and waits for them. For afterEach/afterAll. */
export async function killAll(): Promise<void> {
  const running = [...children];
  for (const child of running) child.process.kill('SIGKILL');
  await Promise.all(running.map((child) => child.exited));
}

// ── The Python client ─────────────────────────────────────────────────────────────

/** Runs test/py_client.py MODE ARGS… and parses the JSON it prints. */
export async function runPython<T>(args: readonly (string | number)[], ms = 40_000): Promise<T> {
  const child = new Child('python3', [PY_CLIENT, ...args.map(String)]);
  const { code } = await child.waitForExit(ms);
  if (code !== 0) throw new Error(`py_client.py ${args.join(' ')} exited ${code}: ${child.stderr}`);
  return JSON.parse(child.stdout) as T;
}

export interface PyEchoResult {
  readonly sent: number;
  readonly received: number;
  readonly sentSha256: string;
  readonly receivedSha256: string;
}

/** CLIENTS Python clients echo SIZE bytes each, concurrently, through HOST:PORT. */
export async function pythonEcho(host: string, port: number, clients: number, size: number, seed: number): Promise<PyEchoResult[]> {
  return (await runPython<{ results: PyEchoResult[] }>(['echo', host, port, clients, size, seed])).results;
}

/** Python sends the chunks (as separate segments), optionally half-closes, reads to EOF. */
/** `reset` is there (true) only when the server reset the connection. */
export function pythonExchange(host: string, port: number, chunks: readonly string[], shutdown = false): Promise<{ received: string; eof: boolean; reset?: true }> {
  return runPython(['exchange', host, port, JSON.stringify(chunks), ...(shutdown ? ['shutdown'] : [])]);
}

// ── node:net clients ──────────────────────────────────────────────────────────────

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A small seeded PRNG (mulberry32): the same seed gives the same payloads and chunking. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` bytes: every byte value 0…255 first, then seeded random bytes. */
export function payload(size: number, seed: number): Buffer {
  const next = random(seed);
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = i < 256 ? i : Math.floor(next() * 256);
  return bytes;
}

/** Connects with node:net (half-open allowed, so a FIN from the server is seen as 'end'). */
export function connect(port: number, host = '127.0.0.1'): Promise<Socket> {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = netConnect({ port, host, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  }), DEFAULT_WAIT_MS, `a connection to ${host}:${port}`);
}

/**
 * Everything the socket receives until the server's FIN ('end') or close. `ended` says
 * whether a FIN came (false for a reset).
 */
export function readToEnd(socket: Socket, ms = 20_000): Promise<{ data: Buffer; ended: boolean }> {
  const parts: Buffer[] = [];
  return withTimeout(new Promise((resolve) => {
    let ended = false;
    socket.on('data', (chunk: Buffer) => parts.push(chunk));
    socket.on('error', () => {});
    socket.once('end', () => {
      ended = true;
      socket.end();
    });
    socket.once('close', () => resolve({ data: Buffer.concat(parts), ended }));
  }), ms, 'the server to close the connection');
}

/** Returns a function that resolves with the next `\n`-terminated line the socket receives. */
export function lineReader(socket: Socket): (ms?: number) => Promise<string> {
  let buffered = '';
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  socket.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      lines.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
    for (const wake of waiters.splice(0)) wake();
  });
  return async (ms = DEFAULT_WAIT_MS) => {
    const deadline = Date.now() + ms;
    while (lines.length === 0) {
      const arrived = new Promise<void>((resolve) => waiters.push(resolve));
      await withTimeout(arrived, Math.max(1, deadline - Date.now()), `a line from the server (partial: ${JSON.stringify(buffered)})`);
    }
    return lines.shift()!;
  };
}

/**
 * Sends `data` in random-sized chunks (1 byte … 64 KiB, sometimes yielding between them),
 * half-closes, and resolves with everything echoed until the server's FIN.
 */
export async function echoThrough(port: number, data: Buffer, seed: number, host = '127.0.0.1'): Promise<{ data: Buffer; ended: boolean }> {
  const socket = await connect(port, host);
  const received = readToEnd(socket);
  const next = random(seed);
  for (let offset = 0; offset < data.length;) {
    const n = Math.min(data.length - offset, 1 + Math.floor(next() ** 3 * 65536));
    const flushed = socket.write(data.subarray(offset, offset + n));
    offset += n;
    if (!flushed) await new Promise((resolve) => socket.once('drain', resolve));
    else if (next() < 0.2) await new Promise((resolve) => setImmediate(resolve));
  }
  socket.end();
  return received;
}

/** Whether HOST:PORT can be bound now (the port was released). */
export function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = netCreateServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host }, () => server.close(() => resolve(true)));
  });
}

/** Whether this machine has an IPv6 loopback. */
export const HAS_IPV6 = await canListen(0, '::1');
