// One run: a fresh server on a free port, the load generator against it, then the checks
// (data integrity, the byte-count proof, clean shutdown).
import type { Writable } from 'node:stream';
import type { CaseDef, SideDef } from './cases.js';
import { readPathIn } from './cli-probe.js';
import type { BenchOptions } from './options.js';
import {
  ServerProcess, connectionsByPid, descendants, freePort, isListening, parseStats, procStatusKB, runLoadgen, shq, sumStatusKB,
} from './runner.js';
import type { RunRecord } from './types.js';

export const HOST = '127.0.0.1';

/** What every run shares. */
export interface RunContext {
  opts: BenchOptions;
  log: Writable;
  loadgen: string;
  nofile: number;
  profileDir: string;
  /** Environment of tcpserv sides (TCPSERV_READ_PATH with --read-path stream). */
  tcpservEnv: NodeJS.ProcessEnv;
}

/** Adds node's --cpu-prof flags after the command's first word, which must be node. */
function withProfiler(cmd: string, dir: string, name: string): string {
  const m = /^(\S+)(\s|$)/.exec(cmd);
  const first = m?.[1].replace(/^'(.*)'$/, '$1') ?? '';
  if (!m || !/(^|\/)node$/.test(first)) throw new Error(`--profile needs an A command that starts with node (got: ${cmd})`);
  return `${m[1]} --cpu-prof --cpu-prof-dir=${shq(dir)} --cpu-prof-name=${shq(name)}${cmd.slice(m[1].length)}`;
}

/** The load generator's flags for a case. */
function loadgenArgs(c: CaseDef, warmup: number, duration: number, pids: number[], port: number, connectBudget: number): string[] {
  const args: (string | number)[] = ['-c', c.conns, '-s', c.size, '-d', duration, '-w', warmup, '--rate', c.rate, '--pipeline', c.pipeline];
  if (c.framing === 'line') args.push('--line');
  if (c.framing === 'length') args.push('--length-prefix');
  if (c.tls) args.push('--tls');
  for (const pid of pids) args.push('--server-pid', pid);
  args.push('--connect-budget', connectBudget, HOST, port);
  return args.map(String);
}

/**
 * Waits (≤ 3 s) until `pid` has at least `n` descendants: the workers of a cluster. Short,
 * because a server that announces `listening` has normally forked them already, and one that
 * serves `--workers 1` in its own process never will.
 */
async function waitForWorkers(pid: number, n: number): Promise<number[]> {
  let found = descendants(pid);
  for (let i = 0; i < 30 && found.length < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    found = descendants(pid);
  }
  return found;
}

/**
 * Runs `side` of case `c` once. `template` is the side's command with {port}, {host} and
 * {maxClients} still to fill. Returns the run's record; `ok` is false (and `failures` says
 * why) if any check failed.
 */
export async function runOne(ctx: RunContext, c: CaseDef, side: SideDef, template: string, rep: number): Promise<RunRecord> {
  const { opts, log, loadgen, nofile } = ctx;
  const port = await freePort(HOST);
  const warmup = c.rate > 0 ? Math.max(opts.warmup, 2 / c.rate) : opts.warmup;
  const maxClients = Math.max(1024, c.conns + 64);
  let cmd = template.replaceAll('{port}', String(port)).replaceAll('{host}', HOST).replaceAll('{maxClients}', String(maxClients));
  let profileFile: string | undefined;
  // Not the multi-core sides: forked workers inherit --cpu-prof and would overwrite one file.
  if (opts.profile && side.key === 'A' && side.workers === 0) {
    profileFile = `A-${c.name}-r${rep}.cpuprofile`;
    cmd = withProfiler(cmd, ctx.profileDir, profileFile);
  }
  const record: RunRecord = {
    case: c.name, side: side.key, rep, port, cmd, ok: false, failures: [], lg: null, stats: null, statsUsr2: null, pids: [],
  };
  const fail = (why: string): void => {
    record.failures.push(why);
  };
  const pin = c.pin ?? opts.pin;
  const cpu = (which: number): number | null => (pin === 'split' ? which : pin === 'same' ? opts.serverCpu : null);
  const server = new ServerProcess(cmd, {
    cpu: cpu(opts.serverCpu), nofile, log, tag: `${c.name} ${side.key} rep ${rep}`, env: side.tcpserv ? ctx.tcpservEnv : process.env,
  });
  let sampler: NodeJS.Timeout | undefined;
  try {
    const listening = await server.waitForLine(isListening, 15000);
    if (!listening) {
      fail(`server did not print "listening on" within 15 s${server.alive ? '' : ` (exited: ${server.exitCode ?? server.exitSignal})`}`
        + `${server.stderrTail ? `: ${server.stderrTail.trim().split('\n').pop()}` : ''}`);
      return record;
    }
    record.pids = [server.pid, ...(side.workers > 0 ? await waitForWorkers(server.pid, side.workers) : [])];
    if (side.workers > 0 && record.pids.length - 1 < side.workers) {
      process.stderr.write(`  note: ${c.name} ${side.key}: expected ${side.workers} worker processes, found ${record.pids.length - 1}\n`);
    }
    record.idleKB = sumStatusKB(record.pids, 'VmRSS');
    const connectBudget = c.conns > 1000 ? 60 : 20;
    const args = loadgenArgs(c, warmup, opts.duration, record.pids, port, connectBudget);
    const timeoutMs = (connectBudget + warmup + opts.duration + 10 + 10 + 5 + 30) * 1000;
    if (record.pids.length > 1) {
      // How the clients spread over the workers: the busiest sample (all clients connected).
      sampler = setInterval(() => {
        const sample = connectionsByPid(record.pids, port);
        const total = (s: Record<string, number> | undefined): number => Object.values(s ?? {}).reduce((t, x) => t + x, 0);
        if (total(sample) >= total(record.clientsByPid)) record.clientsByPid = sample;
      }, 250);
    }
    const lg = await runLoadgen(loadgen, args, { cpu: cpu(opts.loadgenCpu), nofile, timeoutMs });
    clearInterval(sampler);
    record.lg = lg.json;
    record.hwmKB = record.pids.length > 1 ? sumStatusKB(record.pids, 'VmHWM') : procStatusKB(server.pid, 'VmHWM');
    if (lg.timedOut) fail(`loadgen timed out after ${timeoutMs / 1000} s`);
    if (!lg.json) {
      fail(`loadgen printed no result (exit ${lg.code}): ${lg.stderr.split('\n').pop()}`);
      return record;
    }
    if (lg.code !== 0) fail(`loadgen failed (exit ${lg.code}): ${lg.stderr.split('\n').pop() || lg.json.first_error}`);
    if (lg.json.mismatches > 0) fail(`DATA INTEGRITY: ${lg.json.mismatches} echoed messages differ from what was sent`);
    if (!server.alive) fail(`server exited during the run (${server.exitCode ?? server.exitSignal})`);

    if (side.tcpserv && server.alive) {
      const from = server.lines.length;
      server.signal('SIGUSR2');
      const line = await server.waitForLine((l) => parseStats(l) !== null, 5000, from);
      record.statsUsr2 = line ? parseStats(line) : null;
      if (!record.statsUsr2) fail('no stats line after SIGUSR2 within 5 s');
    }
    const from = server.lines.length;
    const inTime = await server.stop(c.conns > 1000 ? 20000 : 10000);
    if (!inTime) fail('server did not exit after SIGTERM (killed)');
    else if (server.exitCode !== 0) fail(`server exited with ${server.exitCode ?? server.exitSignal} after SIGTERM, not 0`);
    const all = [...server.lines, ...server.errLines];
    record.workerLines = all.filter((l) => /worker/i.test(l)).slice(0, 40);
    record.readPath = readPathIn(all);
    if (side.tcpserv) {
      const finalLine = server.lines.slice(from).filter((l) => parseStats(l)).pop();
      record.stats = finalLine ? parseStats(finalLine) : null;
      if (!record.stats) fail('no final stats line at SIGTERM');
      const l = lg.json;
      for (const [what, s] of [['final', record.stats], ['SIGUSR2', record.statsUsr2]] as const) {
        if (!s) continue;
        if (s.bytesIn !== l.bytes_sent || s.bytesOut !== l.bytes_recv) {
          fail(`BYTE ACCOUNTING (${what} stats): server bytesIn=${s.bytesIn} bytesOut=${s.bytesOut}, `
            + `loadgen sent=${l.bytes_sent} received=${l.bytes_recv}`);
        }
        if (s.rejected !== 0) fail(`server rejected ${s.rejected} connections (${what} stats)`);
      }
      record.bytesChecked = record.stats !== null && record.failures.every((f) => !f.startsWith('BYTE'));
    }
    record.profile = profileFile;
    record.ok = record.failures.length === 0;
    return record;
  } finally {
    clearInterval(sampler);
    if (server.alive) await server.stop(5000);
  }
}
