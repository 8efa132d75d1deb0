// Statistics over repetitions: the metrics read from each run, medians and spreads, and
// the ratios between the sides of a case.
import type { CaseSummary, Ratio, RunRecord, Spread } from './types.js';

/** How a metric is read from a run and shown. */
export interface Metric {
  label: string;
  digits: number;
  better: 'higher' | 'lower';
  of: (r: RunRecord) => number | null;
}

/**
 * CPU the rest of the machine used during the window (other processes, interrupts not
 * charged to a process), in % of one CPU: all CPUs' busy time minus server and loadgen.
 */
export function otherCpuPct(r: RunRecord): number | null {
  const l = r.lg;
  if (!l || !(l.machine_busy_s >= 0) || !(l.server_cpu_s >= 0) || !(l.seconds > 0)) return null;
  return Math.max(0, ((l.machine_busy_s - l.server_cpu_s - l.loadgen_cpu_s) / l.seconds) * 100);
}

/** The metrics of one run, each read from the run's record; null when not measured. */
export const METRICS: Record<string, Metric> = {
  msgs: { label: 'msgs/s', digits: 0, better: 'higher', of: (r) => r.lg?.msgs_per_s ?? null },
  p50: { label: 'p50 µs', digits: 0, better: 'lower', of: (r) => r.lg?.p50_us ?? null },
  p99: { label: 'p99 µs', digits: 0, better: 'lower', of: (r) => r.lg?.p99_us ?? null },
  cpuPerMsg: {
    // utime + stime of every process of the server (the primary and its workers) ÷ messages
    label: 'CPU µs/msg', digits: 1, better: 'lower',
    of: (r) => (r.lg && r.lg.server_cpu_s >= 0 && r.lg.msgs > 0 ? (r.lg.server_cpu_s * 1e6) / r.lg.msgs : null),
  },
  serverCpu: { label: 'server CPU %', digits: 0, better: 'lower', of: (r) => (r.lg && r.lg.server_cpu_pct >= 0 ? r.lg.server_cpu_pct : null) },
  loadgenCpu: { label: 'loadgen CPU %', digits: 0, better: 'lower', of: (r) => r.lg?.loadgen_cpu_pct ?? null },
  otherCpu: { label: 'other CPU %', digits: 0, better: 'lower', of: otherCpuPct },
  rssMB: { label: 'peak RSS MB', digits: 1, better: 'lower', of: (r) => (r.hwmKB ? r.hwmKB / 1024 : null) },
  kbPerConn: {
    label: 'KB/conn', digits: 2, better: 'lower',
    of: (r) => (r.lg && r.hwmKB && r.idleKB ? (r.hwmKB - r.idleKB) / r.lg.conns : null),
  },
};

const finite = (xs: (number | null | undefined)[]): number[] => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));

export function median(xs: (number | null | undefined)[]): number | null {
  const v = finite(xs).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** { median, min, max, n } of the finite values. */
export function spread(xs: (number | null | undefined)[]): Spread {
  const v = finite(xs);
  if (v.length === 0) return { median: null, min: null, max: null, n: 0 };
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/**
 * The ratio num/den of a metric: of the two medians (the number to judge on), with the
 * min–max of the paired ratios (repetition i of each side ran back to back, so drift of
 * the machine hits both alike).
 */
function ratioOf(ok: RunRecord[], num: string, den: string, m: Metric, sides: CaseSummary['sides'], key: string): Ratio {
  const a = sides[num][key].median;
  const b = sides[den][key].median;
  const paired: number[] = [];
  for (const ra of ok.filter((r) => r.side === num)) {
    const rb = ok.find((r) => r.side === den && r.rep === ra.rep);
    const va = m.of(ra);
    const vb = rb ? m.of(rb) : null;
    if (va !== null && vb) paired.push(va / vb);
  }
  const p = spread(paired);
  return { median: a !== null && b ? a / b : null, min: p.min, max: p.max, n: p.n };
}

/** Per side and metric: median and min–max over the clean runs; the ratios between sides. */
export function summariseCase(runs: RunRecord[], sideKeys: string[]): CaseSummary {
  const ok = runs.filter((r) => r.ok);
  const out: CaseSummary = {
    sides: {}, ratios: {}, runs: {}, failed: runs.length - ok.length, noisy: ok.filter((r) => r.noisy).length,
  };
  for (const s of sideKeys) {
    out.runs[s] = ok.filter((r) => r.side === s).length;
    out.sides[s] = {};
    for (const [key, m] of Object.entries(METRICS)) out.sides[s][key] = spread(ok.filter((r) => r.side === s).map(m.of));
  }
  const pairs: [string, string][] = [['A', 'B']];
  if (sideKeys.includes('A1')) pairs.push(['A1', 'B'], ['A', 'A1']);
  for (const [num, den] of pairs) {
    const name = `${num}/${den}`;
    out.ratios[name] = {};
    for (const [key, m] of Object.entries(METRICS)) out.ratios[name][key] = ratioOf(ok, num, den, m, out.sides, key);
  }
  return out;
}
