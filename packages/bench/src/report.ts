// The Markdown report (results.md): per Node version the configuration, the A/B tables,
// the multi-core scaling table, the byte-count proof, failures and profiles.
import { median } from './stats.js';
import type { BenchResult, CaseResult, NodeResult, Ratio, RunRecord, Spread } from './types.js';

const fmtNum = (x: number | null | undefined, digits: number): string => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(digits);
};
/** `median (min–max)` */
const cell = (s: Spread | undefined, digits: number): string => {
  if (!s || s.n === 0) return '–';
  return s.n === 1 ? fmtNum(s.median, digits) : `${fmtNum(s.median, digits)} (${fmtNum(s.min, digits)}–${fmtNum(s.max, digits)})`;
};
const ratioCell = (r: Ratio | undefined, bold = false): string => {
  if (!r || r.median === null) return '–';
  const m = bold ? `**${r.median.toFixed(2)}**` : r.median.toFixed(2);
  return r.n > 1 ? `${m} (${r.min!.toFixed(2)}–${r.max!.toFixed(2)})` : m;
};

/** The Node 20 / 22+ socket buffer note the issues ask the report to carry. */
export const HIGH_WATER_MARK_NOTE = 'Node 20\'s default socket highWaterMark is 16 KiB (Node 22+: 64 KiB), which slows `pipe()` itself '
  + 'at 16 KiB messages on Node 20: compare ratios within one Node version, never across versions.';

function sidesLine(c: CaseResult): string {
  return c.sides.map((s) => `${s.key} = ${s.name}`).join(' · ');
}

/** Per worker process: its CPU % in the window, median over the clean runs ("primary + w1 + w2"). */
function cpuByProcess(runs: RunRecord[]): string {
  const perPos: number[][] = [];
  for (const r of runs) {
    if (!r.lg || !(r.lg.seconds > 0)) continue;
    r.lg.server_pids.forEach((p, i) => {
      (perPos[i] ??= []).push(p.cpu_s >= 0 ? (p.cpu_s / r.lg!.seconds) * 100 : NaN);
    });
  }
  if (perPos.length <= 1) return '–';
  return perPos.map((xs) => fmtNum(median(xs), 0)).join(' + ');
}

/** Clients per worker in mid-window, per run ("50/50"), and the largest imbalance over the runs. */
function clientSpread(runs: RunRecord[]): string {
  const parts: string[] = [];
  let worst = 0;
  for (const r of runs) {
    if (!r.clientsByPid || r.pids.length < 2) continue;
    if (r.pids.length === 2) {
      parts.push(String(r.clientsByPid[String(r.pids[1])] ?? 0));
      continue;
    }
    const counts = r.pids.slice(1).map((p) => r.clientsByPid![String(p)] ?? 0);
    const mean = counts.reduce((t, x) => t + x, 0) / counts.length;
    if (mean > 0) worst = Math.max(worst, (Math.max(...counts) - Math.min(...counts)) / mean);
    parts.push(counts.join('/'));
  }
  if (parts.length === 0) return '–';
  return runs.some((r) => r.pids.length > 2) ? `${parts.join(', ')} (max imbalance ${(worst * 100).toFixed(0)} %)` : parts.join(', ');
}

function nodeSection(n: NodeResult, result: BenchResult, L: string[]): void {
  const { config } = result;
  L.push(`## Node ${n.node.version}`, '');
  L.push(`- Node binary: \`${n.node.path}\` (asked for: ${n.node.label}); servers A and B both run on it.`);
  L.push(`- **A** = ${n.aName}: \`${n.aTemplate}\` (+ each case's flags below).`);
  L.push(`- Read path of A: ${n.readPath ? `**${n.readPath}**` : 'not reported (the server printed no `read path:` line at --log-level debug)'}`
    + `${config.readPath === 'stream' ? ' — forced with TCPSERV_READ_PATH=stream (--read-path stream)' : ''}.`);
  L.push(n.cliFeaturesProbed
    ? `- \`tcpserver echo --help\` has: ${n.cliFeatures.length ? n.cliFeatures.map((f) => `\`${f}\``).join(', ') : 'none of --framing, --tls-cert, --workers'}.`
    : '- A is not the CLI: it is assumed to take every case\'s flags (the stand-in does; see its header for what it does with them).');
  for (const s of n.skipped) L.push(`- **skipped** ${s.case} (${s.label}): ${s.why.replace(/^skipped: /, '')}`);
  L.push('');

  L.push('### Sides', '', '| case | sides |', '|---|---|');
  for (const c of n.cases) L.push(`| ${c.name} | ${sidesLine(c)} |`);

  L.push('', '### Throughput and latency (A vs B)', '');
  L.push('| case | A msgs/s | B msgs/s | msgs/s A/B | A p50 µs | B p50 µs | A p99 µs | B p99 µs | p99 A/B |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of n.cases) {
    const { sides: s, ratios } = c.summary;
    L.push(`| ${c.label} | ${cell(s.A.msgs, 0)} | ${cell(s.B.msgs, 0)} | ${ratioCell(ratios['A/B'].msgs, true)} | ${cell(s.A.p50, 0)} | ${cell(s.B.p50, 0)} `
      + `| ${cell(s.A.p99, 0)} | ${cell(s.B.p99, 0)} | ${ratioCell(ratios['A/B'].p99)} |`);
  }
  L.push('', '### CPU and memory (A vs B)', '');
  L.push('| case | A CPU µs/msg | B CPU µs/msg | CPU/msg A/B | A server CPU % | B server CPU % | A loadgen CPU % | B loadgen CPU % '
    + '| other CPU % (A / B runs) | A peak RSS MB | B peak RSS MB | RSS A/B | A KB/conn | B KB/conn | failed / noisy runs |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of n.cases) {
    const { sides: s, ratios } = c.summary;
    const r = ratios['A/B'];
    L.push(`| ${c.label} | ${cell(s.A.cpuPerMsg, 1)} | ${cell(s.B.cpuPerMsg, 1)} | ${ratioCell(r.cpuPerMsg, true)} `
      + `| ${cell(s.A.serverCpu, 0)} | ${cell(s.B.serverCpu, 0)} | ${cell(s.A.loadgenCpu, 0)} | ${cell(s.B.loadgenCpu, 0)} `
      + `| ${fmtNum(s.A.otherCpu.median, 0)} / ${fmtNum(s.B.otherCpu.median, 0)} `
      + `| ${cell(s.A.rssMB, 1)} | ${cell(s.B.rssMB, 1)} | ${ratioCell(r.rssMB, true)} `
      + `| ${c.memory ? cell(s.A.kbPerConn, 2) : '–'} | ${c.memory ? cell(s.B.kbPerConn, 2) : '–'} | ${c.summary.failed} / ${c.summary.noisy} |`);
  }

  const mc = n.cases.filter((c) => c.multicore);
  if (mc.length > 0) {
    L.push('', '### Multi-core', '');
    L.push('Server CPU counts every process of the server (the primary and each worker, `/proc/PID/stat`), summed; '
      + '"CPU % by process" lists them primary first. Clients per worker: established connections each worker held in mid-window '
      + '(from `/proc/PID/fd` and `/proc/net/tcp`). Peak RSS is the sum of every process\'s VmHWM.', '');
    L.push('| case | side | msgs/s | CPU µs/msg | server CPU % | CPU % by process | clients per worker | loadgen CPU % | p99 µs | peak RSS MB |');
    L.push('|---|---|---:|---:|---:|---|---|---:|---:|---:|');
    for (const c of mc) {
      for (const side of c.sides) {
        const s = c.summary.sides[side.key];
        const runs = c.runs.filter((r) => r.ok && r.side === side.key);
        L.push(`| ${c.name} | ${side.name} | ${cell(s.msgs, 0)} | ${cell(s.cpuPerMsg, 1)} | ${cell(s.serverCpu, 0)} | ${cpuByProcess(runs)} `
          + `| ${clientSpread(runs)} | ${cell(s.loadgenCpu, 0)} | ${cell(s.p99, 0)} | ${cell(s.rssMB, 1)} |`);
      }
    }
    L.push('', '| case | scaling msgs/s 2 workers ÷ 1 | CPU µs/msg 2 ÷ 1 | msgs/s tcpserv 2 workers ÷ node:cluster 2 | CPU µs/msg ÷ node:cluster | msgs/s tcpserv 1 worker ÷ node:cluster 2 |');
    L.push('|---|---:|---:|---:|---:|---:|');
    for (const c of mc) {
      const r = c.summary.ratios;
      L.push(`| ${c.label} | ${ratioCell(r['A/A1']?.msgs, true)} | ${ratioCell(r['A/A1']?.cpuPerMsg)} | ${ratioCell(r['A/B']?.msgs, true)} `
        + `| ${ratioCell(r['A/B']?.cpuPerMsg)} | ${ratioCell(r['A1/B']?.msgs)} |`);
    }
    L.push('', 'How to read it: this machine has 2 CPUs and the load generator needs most of one (its column), so two workers '
      + 'can never get two whole CPUs here; a scaling factor near 1 in the unpinned case is the machine, not the server. '
      + 'The pinned case (every server process on one CPU, the load generator on the other) gives the workers no extra CPU at all: '
      + 'there CPU µs/msg 2 ÷ 1 isolates what a second worker costs per message (IPC, scheduling, two event loops), '
      + 'and msgs/s 2 ÷ 1 < 1 is that overhead. On a machine with more cores than workers + load generator, msgs/s would be '
      + 'expected to scale with workers up to the NIC/loopback limit while CPU µs/msg stays flat.');
  }

  L.push('', '### Byte accounting (tcpserv sides)', '');
  L.push('After every run of a tcpserv side the server\'s own `stats` line (SIGUSR2 while running, and the final one at SIGTERM; with '
    + 'workers, the primary\'s aggregate) was compared with the load generator\'s exact totals after it stopped sending and drained every '
    + 'echo: bytesIn = bytes sent, bytesOut = bytes received (cleartext bytes over TLS).', '');
  L.push('| case | side | runs checked | bytes through the server (in / out, all its runs) | mismatched messages per side |');
  L.push('|---|---|---:|---|---|');
  for (const c of n.cases) {
    for (const side of c.sides.filter((s) => s.tcpserv)) {
      const a = c.runs.filter((r) => r.side === side.key);
      const checked = a.filter((r) => r.bytesChecked).length;
      const bin = a.reduce((t, r) => t + (r.stats?.bytesIn ?? 0), 0);
      const bout = a.reduce((t, r) => t + (r.stats?.bytesOut ?? 0), 0);
      const mm = c.sides.map((s) => `${s.key} ${c.runs.filter((r) => r.side === s.key).reduce((t, r) => t + (r.lg?.mismatches ?? 0), 0)}`).join(', ');
      L.push(`| ${c.name} | ${side.key} | ${checked}/${a.length} | ${bin.toLocaleString('en-US')} / ${bout.toLocaleString('en-US')} | ${mm} |`);
    }
  }
  const tlsRun = n.cases.flatMap((c) => c.runs).find((r) => r.lg?.tls && r.lg.tls_version);
  if (tlsRun?.lg) L.push('', `TLS: the load generator negotiated ${tlsRun.lg.tls_version} with ${tlsRun.lg.tls_cipher}.`);

  const failures = n.cases.flatMap((c) => c.runs.filter((r) => !r.ok).map((r) => ({ c, r })));
  L.push('', '### Failures', '');
  if (failures.length === 0) L.push('None: every run passed every check.');
  for (const { c, r } of failures) L.push(`- ${c.label}, ${r.side} rep ${r.rep}: ${r.failures.join('; ')}`);
  if (n.profiles?.length) {
    L.push('', '### CPU profiles of A', '');
    L.push('| case | profiles | busy ms | WebAssembly (core) | core incl. its JS loader | everything else |');
    L.push('|---|---:|---:|---:|---:|---:|');
    const pc = (x: number): string => `${(x * 100).toFixed(1)} %`;
    for (const p of n.profiles) {
      L.push(`| ${p.label} | ${p.files.length} | ${p.summary.busyMs.toFixed(0)} | **${pc(p.summary.wasmShare)}** | ${pc(p.summary.coreShare)} | ${pc(1 - p.summary.coreShare)} |`);
    }
    for (const p of n.profiles) L.push('', p.text);
  }
  L.push('');
}

/** The Markdown report: configuration, then one section per Node version. */
export function markdown(result: BenchResult): string {
  const { config } = result;
  const L: string[] = [];
  L.push(`# tcpserv echo benchmark — ${result.finishedAt}`, '');
  const pin = {
    split: `servers pinned to CPU ${config.serverCpu}, load generator to CPU ${config.loadgenCpu}`,
    same: `servers and load generator both pinned to CPU ${config.serverCpu}`,
    none: 'no CPU pinning',
  }[config.pin];
  L.push(`- ${config.reps} repetitions per case and side, run A B A B … (A A1 B … in the multi-core cases); ${config.warmup} s warm-up, `
    + `${config.duration} s measured${config.quick ? ' (quick mode)' : ''}; ${pin} (the multi-core cases set their own).`);
  L.push(`- Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, Linux ${result.machine.kernel}, ${result.machine.memMB} MB; `
    + `the bench itself ran on Node ${result.machine.benchNode}.`);
  L.push(`- Node versions measured: ${result.nodes.map((n) => n.node.version).join(', ')}; each has its own section, never mixed.`);
  L.push(`- ${HIGH_WATER_MARK_NOTE}`);
  L.push(`- Load generator: src/loadgen.c, ${result.loadgen.tls ? 'with TLS (OpenSSL libssl, TLS 1.3 only)' : `**without TLS** (${result.loadgen.tlsMissing}): the TLS case is skipped`}.`);
  if (config.profile) L.push('- **A ran under `node --cpu-prof`**: its numbers include the profiler\'s overhead.');
  L.push('- Every cell: median (min–max) over the repetitions. A/B: ratio of the medians (min–max of the paired per-repetition ratios). '
    + 'msgs/s A/B > 1: A is faster; for every other ratio < 1 is better for A.');
  L.push('- "other CPU %": what the rest of the machine (other processes, unattributed interrupts) used during the window, in % of one CPU. '
    + `A run above ${config.maxOther} % was done again (at most ${config.retries} time(s)); "noisy runs" were still above it and were kept.`, '');
  for (const n of result.nodes) nodeSection(n, result, L);
  return `${L.join('\n')}\n`;
}
