// Processes of one benchmark run: a server started through bash (for `ulimit -n`) and,
// optionally, taskset (for pinning); the C load generator; what /proc says about them.
//
// Every process started here is remembered by PID and stopped by that PID only.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** PIDs of the processes this run started and that are still running. */
const running = new Set();

/** SIGKILLs every process we started that still runs (on the bench's own exit). */
export function killAll() {
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
export function shq(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${String(word).replace(/'/g, `'\\''`)}'`;
}

/** `taskset -c CPU bash -c 'ulimit -n N && exec CMD'` as argv (no taskset when cpu is null). */
function launcher(cmd, { cpu, nofile }) {
  const script = `ulimit -n ${nofile} && exec ${cmd}`;
  return cpu === null ? ['bash', ['-c', script]] : ['taskset', ['-c', String(cpu), 'bash', '-c', script]];
}

/** The hard limit on open files for processes started from here (bash's `ulimit -Hn`). */
export function hardNofile() {
  const r = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
  const v = r.stdout.trim();
  return v === 'unlimited' ? Infinity : Number(v) || 1024;
}

/** A free TCP port on `host` (the kernel picks it; it is closed again right away). */
export function freePort(host) {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A field of /proc/PID/status in kB (VmRSS, VmHWM), or null if the process is gone. */
export function procStatusKB(pid, field) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * A server process. Its stdout is kept line by line (the `listening on` and `stats` lines
 * are read from it); stdout and stderr are also copied to `log` with the run's tag.
 */
export class ServerProcess {
  constructor(cmd, { cpu, nofile, log, tag }) {
    const [file, args] = launcher(cmd, { cpu, nofile });
    this.cmd = cmd;
    this.lines = [];
    this.exitCode = undefined;
    this.exitSignal = undefined;
    this.#waiters = [];
    this.child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // taskset and bash both exec: this PID ends up being the server itself.
    this.pid = this.child.pid;
    running.add(this.pid);
    log?.write(`### ${tag}: ${cmd} (pid ${this.pid})\n`);
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      log?.write(`[${tag} stdout] ${line}\n`);
      this.#check();
    });
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      this.stderrTail = `${this.stderrTail ?? ''}${line}\n`.slice(-2000);
      log?.write(`[${tag} stderr] ${line}\n`);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        running.delete(this.pid);
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
        this.#check();
      });
      this.child.on('error', (error) => {
        running.delete(this.pid);
        this.spawnError = error;
        this.exitCode = -1;
        resolve();
        this.#check();
      });
    });
  }

  #waiters;

  #check() {
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
  waitForLine(match, timeoutMs, from = 0) {
    return new Promise((resolve) => {
      const w = { match, from, resolve, timer: undefined };
      w.timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        resolve(null);
      }, timeoutMs);
      this.#waiters.push(w);
      this.#check();
    });
  }

  get alive() {
    return this.exitCode === undefined;
  }

  signal(name) {
    if (!this.alive) return false;
    try {
      process.kill(this.pid, name);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with true if it exited by itself. */
  async stop(graceMs) {
    if (!this.alive) return true;
    this.signal('SIGTERM');
    let timer;
    const inTime = await Promise.race([
      this.exited.then(() => true),
      new Promise((resolve) => {
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
export function parseStats(line) {
  const t = line.trim();
  if (t.startsWith('{')) {
    try {
      const o = JSON.parse(t);
      if (o.msg !== 'stats') return null;
      const keys = ['opened', 'rejected', 'closed', 'bytesIn', 'bytesOut'];
      return keys.every((k) => Number.isFinite(o[k])) ? Object.fromEntries(keys.map((k) => [k, o[k]])) : null;
    } catch {
      return null;
    }
  }
  const m = /(?:^|\s)stats opened=(\d+) rejected=(\d+) closed=(\d+) bytesIn=(\d+) bytesOut=(\d+)\s*$/.exec(t);
  return m ? { opened: +m[1], rejected: +m[2], closed: +m[3], bytesIn: +m[4], bytesOut: +m[5] } : null;
}

/** Whether a line is the server's `listening on HOST:PORT` (text or json). */
export function isListening(line) {
  const t = line.trim();
  if (t.startsWith('{')) {
    try {
      return JSON.parse(t).msg === 'listening';
    } catch {
      return false;
    }
  }
  return /^listening on \S+/.test(t);
}

/** Builds `bin` from `source` with the machine's cc when it is missing or older. */
export function buildLoadgen(source, bin) {
  let stale = true;
  try {
    stale = statSync(bin).mtimeMs < statSync(source).mtimeMs;
  } catch {
    // not built yet
  }
  if (!stale) return false;
  const r = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-o', bin, source], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`cc failed to build ${bin} (status ${r.status})`);
  return true;
}

/**
 * Runs the load generator; resolves with its exit code, its JSON result (or null) and the
 * tail of its stderr. Killed (and reported) after `timeoutMs`.
 */
export function runLoadgen(bin, args, { cpu, nofile, timeoutMs }) {
  const [file, argv] = launcher([bin, ...args].map(shq).join(' '), { cpu, nofile });
  return new Promise((resolve) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child.pid);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err = `${err}${d}`.slice(-4000);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child.pid);
      let json = null;
      const last = out.trim().split('\n').pop();
      try {
        json = last ? JSON.parse(last) : null;
      } catch {
        json = null;
      }
      resolve({ code: code ?? -1, signal, json, stderr: err.trim(), timedOut });
    });
  });
}
