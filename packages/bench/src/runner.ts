// Processes of one benchmark run: a server started through bash (for `ulimit -n`) and,
// optionally, taskset (for pinning); the C load generator; what /proc says about them.
//
// Every process started here is remembered by PID and stopped by that PID only.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import type { LoadgenResult, ServerStats } from './types.js';

/** PIDs of the processes this run started and that are still running. */
const running = new Set<number>();

/** SIGKILLs every process we started that still runs (on the bench's own exit). */
export function killAll(): void {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

/** Quotes a word for bash. */
export function shq(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${String(word).replace(/'/g, `'\\''`)}'`;
}

/** `taskset -c CPU bash -c 'ulimit -n N && exec CMD'` as argv (no taskset when cpu is null). */
function launcher(cmd: string, { cpu, nofile }: { cpu: number | null; nofile: number }): [string, string[]] {
  const script = `ulimit -n ${nofile} && exec ${cmd}`;
  return cpu === null ? ['bash', ['-c', script]] : ['taskset', ['-c', String(cpu), 'bash', '-c', script]];
}

/** The hard limit on open files for processes started from here (bash's `ulimit -Hn`). */
export function hardNofile(): number {
  const r = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
  const v = r.stdout.trim();
  return v === 'unlimited' ? Infinity : Number(v) || 1024;
}

/** A free TCP port on `host` (the kernel picks it; it is closed again right away). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port: 0, exclusive: true }, () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A field of /proc/PID/status in kB (VmRSS, VmHWM), or null if the process is gone. */
export function procStatusKB(pid: number, field: string): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The sum of a /proc/PID/status field over several processes; null if any is gone. */
export function sumStatusKB(pids: readonly number[], field: string): number | null {
  let total = 0;
  for (const pid of pids) {
    const kb = procStatusKB(pid, field);
    if (kb === null) return null;
    total += kb;
  }
  return total;
}

/** Every descendant of `pid` (children, their children …), from each process's PPid. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const m = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'));
      if (m) parent.set(Number(name), Number(m[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const queue = [pid];
  // Bounded: each PID is visited once (a PID is one map entry, the tree has no cycles).
  while (queue.length > 0 && out.length < parent.size) {
    const p = queue.shift() as number;
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

/**
 * Established TCP connections whose local port is `port`, counted per process that holds
 * them (socket inodes from /proc/net/tcp{,6} matched against each process's fds). This is
 * how the bench sees how evenly clients spread over a server's workers.
 */
export function connectionsByPid(pids: readonly number[], port: number): Record<string, number> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const localPort = parseInt(f[1].split(':')[1], 16);
      if (localPort === port && f[3] === '01') inodes.add(f[9]); // 01 = ESTABLISHED
    }
  }
  const out: Record<string, number> = {};
  for (const pid of pids) {
    let n = 0;
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          if (m && inodes.has(m[1])) n++;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      continue;
    }
    out[String(pid)] = n;
  }
  return out;
}

interface LineWaiter {
  match: (line: string) => boolean;
  from: number;
  resolve: (line: string | null) => void;
  timer: NodeJS.Timeout | undefined;
}

/** How a server is started. */
export interface ServerStart {
  /** CPU to pin it (and its children) to, or null. */
  cpu: number | null;
  nofile: number;
  log?: Writable;
  tag: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * A server process. Its stdout and stderr are kept line by line (the `listening on` and
 * `stats` lines are read from stdout; `read path:` may be on either); both are also
 * copied to `log` with the run's tag.
 */
export class ServerProcess {
  readonly cmd: string;
  readonly lines: string[] = [];
  readonly errLines: string[] = [];
  readonly pid: number;
  readonly exited: Promise<void>;
  exitCode: number | null | undefined = undefined;
  exitSignal: NodeJS.Signals | null | undefined = undefined;
  stderrTail = '';
  readonly #child: ChildProcess;
  readonly #waiters: LineWaiter[] = [];

  constructor(cmd: string, { cpu, nofile, log, tag, env }: ServerStart) {
    const [file, args] = launcher(cmd, { cpu, nofile });
    this.cmd = cmd;
    this.#child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    // taskset and bash both exec: this PID ends up being the server itself.
    this.pid = this.#child.pid ?? -1;
    running.add(this.pid);
    log?.write(`### ${tag}: ${cmd} (pid ${this.pid})\n`);
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      log?.write(`[${tag} stdout] ${line}\n`);
      this.#check();
    });
    createInterface({ input: this.#child.stderr! }).on('line', (line) => {
      this.errLines.push(line);
      this.stderrTail = `${this.stderrTail}${line}\n`.slice(-2000);
      log?.write(`[${tag} stderr] ${line}\n`);
    });
    this.exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        running.delete(this.pid);
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
        this.#check();
      });
      this.#child.on('error', () => {
        running.delete(this.pid);
        this.exitCode = -1;
        resolve();
        this.#check();
      });
    });
  }

  #check(): void {
    for (const w of [...this.#waiters]) {
      const i = this.lines.findIndex((line, k) => k >= w.from && w.match(line));
      if (i >= 0 || this.exitCode !== undefined) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(i >= 0 ? this.lines[i] : null);
      }
    }
  }

  /** The first stdout line from index `from` on that `match`es, or null on timeout or exit. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number, from = 0): Promise<string | null> {
    return new Promise((resolve) => {
      const w: LineWaiter = { match, from, resolve, timer: undefined };
      w.timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        resolve(null);
      }, timeoutMs);
      this.#waiters.push(w);
      this.#check();
    });
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  signal(name: NodeJS.Signals): boolean {
    if (!this.alive) return false;
    try {
      process.kill(this.pid, name);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with true if it exited by itself. */
  async stop(graceMs: number): Promise<boolean> {
    if (!this.alive) return true;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!inTime) {
      this.signal('SIGKILL');
      await this.exited;
    }
    return inTime;
  }
}

/** Parses a server's stats line: text `stats opened=…` or json `{"msg":"stats",…}`; else null. */
export function parseStats(line: string): ServerStats | null {
  const t = line.trim();
  if (t.startsWith('{')) {
    try {
      const o = JSON.parse(t) as Record<string, unknown>;
      if (o.msg !== 'stats') return null;
      const keys = ['opened', 'rejected', 'closed', 'bytesIn', 'bytesOut'] as const;
      if (!keys.every((k) => Number.isFinite(o[k]))) return null;
      return Object.fromEntries(keys.map((k) => [k, o[k]])) as unknown as ServerStats;
    } catch {
      return null;
    }
  }
  // Fields after bytesOut (new counters) are allowed; the five the proof needs must be there.
  const m = /(?:^|\s)stats opened=(\d+) rejected=(\d+) closed=(\d+) bytesIn=(\d+) bytesOut=(\d+)(?:\s|$)/.exec(t);
  return m ? { opened: +m[1], rejected: +m[2], closed: +m[3], bytesIn: +m[4], bytesOut: +m[5] } : null;
}

/** Whether a line is the server's `listening on HOST:PORT` (text or json). */
export function isListening(line: string): boolean {
  const t = line.trim();
  if (t.startsWith('{')) {
    try {
      return (JSON.parse(t) as { msg?: unknown }).msg === 'listening';
    } catch {
      return false;
    }
  }
  return /(^|\s)listening on \S+/.test(t);
}

/** What the load generator printed, and how it ended. */
export interface LoadgenRun {
  code: number;
  signal: NodeJS.Signals | null;
  json: LoadgenResult | null;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs the load generator; resolves with its exit code, its JSON result (or null) and the
 * tail of its stderr. Killed (and reported) after `timeoutMs`.
 */
export function runLoadgen(bin: string, args: string[], { cpu, nofile, timeoutMs }: { cpu: number | null; nofile: number; timeoutMs: number }): Promise<LoadgenRun> {
  const [file, argv] = launcher([bin, ...args].map(shq).join(' '), { cpu, nofile });
  return new Promise((resolve) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid ?? -1;
    running.add(pid);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      err = `${err}${d}`.slice(-4000);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(pid);
      let json: LoadgenResult | null = null;
      const last = out.trim().split('\n').pop();
      try {
        json = last ? (JSON.parse(last) as LoadgenResult) : null;
      } catch {
        json = null;
      }
      resolve({ code: code ?? -1, signal, json, stderr: err.trim(), timedOut });
    });
  });
}
