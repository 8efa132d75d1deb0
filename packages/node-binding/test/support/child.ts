/**
 * Runs test/support/fixtures/server.mjs (a tcpserv server built from dist/) in a child process
 * and talks to it over JSON lines. Descriptor, handle and CPU measurements need their own
 * process: the test runner has plenty of its own.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/server.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

export interface FixtureConfig {
  options?: Record<string, unknown>;
  mode?: 'echo' | 'hold' | 'idle';
  recvSize?: number;
  bigSendBytes?: number;
  bigSendEvery?: number;
}

export interface StartOptions {
  /** Soft and hard open-files limit for the child (`ulimit -n`), through bash. */
  ulimit?: number;
}

export interface Reply {
  error?: string;
  [key: string]: unknown;
}

interface Waiter {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const running = new Set<FixtureChild>();

/** Kills every child still running; for afterEach/afterAll. */
export async function killChildren(): Promise<void> {
  await Promise.all([...running].map((child) => child.kill()));
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export class FixtureChild {
  readonly process: ChildProcess;
  /** Everything the child wrote to stderr so far. */
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly ready: Promise<{ port: number; pid: number }>;
  readonly finalEvent: Promise<Reply>;
  #nextId = 1;
  readonly #waiters = new Map<number, Waiter>();
  #stdout = '';
  #exitCode: number | null | undefined;

  static start(config: FixtureConfig = {}, options: StartOptions = {}): FixtureChild {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npx nx run node-binding:build\` first`);
    return new FixtureChild(config, options);
  }

  private constructor(config: FixtureConfig, options: StartOptions) {
    const args = [FIXTURE, JSON.stringify(config)];
    this.process = options.ulimit === undefined
      ? spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
      // exec keeps the pid, so /proc/<pid> is the node process itself.
      : spawn('bash', ['-c', `ulimit -n ${options.ulimit} && exec "$0" "$@"`, process.execPath, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    running.add(this);
    let onReady!: (value: { port: number; pid: number }) => void;
    let onFinal!: (value: Reply) => void;
    this.ready = new Promise((resolve) => (onReady = resolve));
    this.finalEvent = new Promise((resolve) => (onFinal = resolve));
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.#exitCode = code;
        running.delete(this);
        for (const waiter of this.#waiters.values()) {
          clearTimeout(waiter.timer);
          waiter.reject(new Error(`fixture exited (code ${code}, signal ${signal}) before replying; stderr:\n${this.stderr}`));
        }
        this.#waiters.clear();
        resolve({ code, signal });
      });
    });
    const readyOrExit = Promise.race([
      this.ready,
      this.exited.then(({ code }) => {
        throw new Error(`fixture exited with ${code} before it was ready; stderr:\n${this.stderr}`);
      }),
    ]);
    this.ready = readyOrExit;
    this.process.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
    });
    this.process.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.#stdout += text;
      for (let at = this.#stdout.indexOf('\n'); at >= 0; at = this.#stdout.indexOf('\n')) {
        const line = this.#stdout.slice(0, at);
        this.#stdout = this.#stdout.slice(at + 1);
        const message = JSON.parse(line) as Reply & { reply?: number; event?: string };
        if (message.event === 'ready') onReady(message as unknown as { port: number; pid: number });
        else if (message.event === 'final') onFinal(message);
        else if (typeof message.reply === 'number') {
          const waiter = this.#waiters.get(message.reply);
          if (!waiter) continue;
          this.#waiters.delete(message.reply);
          clearTimeout(waiter.timer);
          waiter.resolve(message);
        }
      }
    });
    this.process.stdin!.on('error', () => {}); // the child may be gone already
  }

  get pid(): number {
    return this.process.pid!;
  }

  get alive(): boolean {
    return this.#exitCode === undefined;
  }

  /** Sends a command and resolves with its reply; rejects on an error reply or after `timeoutMs`. */
  request<T = Reply>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        reject(new Error(`fixture did not answer ${cmd} within ${timeoutMs} ms; stderr:\n${this.stderr}`));
      }, timeoutMs);
      this.#waiters.set(id, { resolve, reject, timer });
      this.process.stdin!.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    }).then((reply) => {
      if (reply.error) throw new Error(`fixture ${cmd} failed: ${reply.error}`);
      return reply as T;
    });
  }

  /** Open descriptors of the child, from /proc (no descriptor is opened in the child to count). */
  fds(): number {
    return readdirSync(`/proc/${this.pid}/fd`).length;
  }

  /** The child's soft open-files limit. */
  openFilesLimit(): number {
    const line = readFileSync(`/proc/${this.pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
    return Number(line.split(/\s{2,}/)[1]);
  }

  /** CPU seconds (user + system) the child has used so far. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the command name (which is in parentheses and may hold spaces):
    // state ppid … utime (14th field) stime (15th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  }

  /** Resident set size in bytes, from /proc. */
  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    return Number(kb) * 1024;
  }

  async kill(): Promise<void> {
    if (this.alive) {
      this.process.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Polls `probe` until it returns a truthy value; fails after `timeoutMs` with the last value seen. */
export async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 15_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
