// Statistics over repetitions, the Markdown tables and the SVG chart of A/B ratios.

/** The metrics of one run, each read from the run's record; null when not measured. */
export const METRICS = {
  msgs: { label: 'msgs/s', unit: '', digits: 0, better: 'higher', of: (r) => r.lg.msgs_per_s },
  p50: { label: 'p50 µs', unit: 'µs', digits: 0, better: 'lower', of: (r) => r.lg.p50_us },
  p99: { label: 'p99 µs', unit: 'µs', digits: 0, better: 'lower', of: (r) => r.lg.p99_us },
  cpuPerMsg: {
    label: 'CPU µs/msg', unit: 'µs', digits: 1, better: 'lower',
    of: (r) => (r.lg.server_cpu_s >= 0 && r.lg.msgs > 0 ? (r.lg.server_cpu_s * 1e6) / r.lg.msgs : null),
  },
  serverCpu: { label: 'server CPU %', unit: '%', digits: 0, better: 'lower', of: (r) => (r.lg.server_cpu_pct >= 0 ? r.lg.server_cpu_pct : null) },
  loadgenCpu: { label: 'loadgen CPU %', unit: '%', digits: 0, better: 'lower', of: (r) => r.lg.loadgen_cpu_pct },
  otherCpu: { label: 'other CPU %', unit: '%', digits: 0, better: 'lower', of: otherCpuPct },
  rssMB: { label: 'peak RSS MB', unit: 'MB', digits: 1, better: 'lower', of: (r) => (r.hwmKB ? r.hwmKB / 1024 : null) },
  kbPerConn: {
    label: 'KB/conn', unit: 'KB', digits: 2, better: 'lower',
    of: (r) => (r.hwmKB && r.idleKB ? (r.hwmKB - r.idleKB) / r.lg.conns : null),
  },
};

/**
 * CPU the rest of the machine used during the window (other processes, interrupts not
 * charged to a process), in % of one CPU: all CPUs' busy time minus server and loadgen.
 */
export function otherCpuPct(r) {
  const l = r.lg;
  if (!(l.machine_busy_s >= 0) || !(l.server_cpu_s >= 0) || !(l.seconds > 0)) return null;
  return Math.max(0, ((l.machine_busy_s - l.server_cpu_s - l.loadgen_cpu_s) / l.seconds) * 100);
}

export function median(xs) {
  const v = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** { median, min, max, n } of the finite values. */
export function spread(xs) {
  const v = xs.filter((x) => x !== null && Number.isFinite(x));
  if (v.length === 0) return { median: null, min: null, max: null, n: 0 };
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/**
 * Per side and metric: median and min–max over the clean runs. Per metric A/B: the ratio of
 * the medians (the number to judge on) and the min–max of the paired ratios A_i / B_i
 * (repetition i of A and of B ran back to back, so drift hits both alike).
 */
export function summariseCase(runs) {
  const ok = runs.filter((r) => r.ok);
  const side = (s) => ok.filter((r) => r.side === s);
  const out = {
    A: {}, B: {}, ratio: {}, runs: { A: side('A').length, B: side('B').length },
    failed: runs.length - ok.length, noisy: ok.filter((r) => r.noisy).length,
  };
  for (const [key, m] of Object.entries(METRICS)) {
    out.A[key] = spread(side('A').map(m.of));
    out.B[key] = spread(side('B').map(m.of));
    const a = out.A[key].median;
    const b = out.B[key].median;
    const paired = [];
    for (const ra of side('A')) {
      const rb = side('B').find((r) => r.rep === ra.rep);
      const va = ra && m.of(ra);
      const vb = rb && m.of(rb);
      if (va !== null && vb) paired.push(va / vb);
    }
    const p = spread(paired);
    out.ratio[key] = { median: a !== null && b ? a / b : null, min: p.min, max: p.max, n: p.n };
  }
  return out;
}

const fmtNum = (x, digits) => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(digits);
};
/** `median (min–max)` */
const cell = (s, digits) => (s.n === 0 ? '–' : s.n === 1 ? fmtNum(s.median, digits) : `${fmtNum(s.median, digits)} (${fmtNum(s.min, digits)}–${fmtNum(s.max, digits)})`);
const ratioCell = (r, bold = false) => {
  if (r.median === null) return '–';
  const m = bold ? `**${r.median.toFixed(2)}**` : r.median.toFixed(2);
  return r.n > 1 ? `${m} (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : m;
};

/** The Markdown report: configuration, the two tables, notes, failures. */
export function markdown(result) {
  const { config, cases } = result;
  const L = [];
  L.push(`# tcpserv echo benchmark — ${result.finishedAt}`, '');
  L.push(`- **A** = ${result.commands.A.name}: \`${result.commands.A.template}\``);
  L.push(`- **B** = ${result.commands.B.name}: \`${result.commands.B.template}\``);
  const pin = {
    split: `servers pinned to CPU ${config.serverCpu}, load generator to CPU ${config.loadgenCpu}`,
    same: `servers and load generator both pinned to CPU ${config.serverCpu}`,
    none: 'no CPU pinning',
  }[config.pin];
  L.push(`- ${config.reps} repetitions per case and side, run A B A B …; ${config.warmup} s warm-up, ${config.duration} s measured`
    + `${config.quick ? ' (quick mode)' : ''}; ${pin}.`);
  L.push(`- Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, Linux ${result.machine.kernel}, Node ${result.machine.node}.`);
  if (config.profile) L.push('- **A ran under `node --cpu-prof`**: its numbers include the profiler\'s overhead.');
  L.push('- Every cell: median (min–max) over the repetitions. A/B: ratio of the medians (min–max of the paired per-repetition ratios). '
    + 'msgs/s A/B > 1: A is faster; for every other ratio < 1 is better for A.');
  L.push('- "other CPU %": what the rest of the machine (other processes, unattributed interrupts) used during the window, in % of one CPU. '
    + `A run above ${config.maxOther} % was done again (at most ${config.retries} time(s)); "noisy runs" were still above it and were kept.`, '');

  L.push('## Throughput and latency', '');
  L.push('| case | A msgs/s | B msgs/s | msgs/s A/B | A p50 µs | B p50 µs | A p99 µs | B p99 µs | p99 A/B |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const s = c.summary;
    L.push(`| ${c.label} | ${cell(s.A.msgs, 0)} | ${cell(s.B.msgs, 0)} | ${ratioCell(s.ratio.msgs, true)} | ${cell(s.A.p50, 0)} | ${cell(s.B.p50, 0)} `
      + `| ${cell(s.A.p99, 0)} | ${cell(s.B.p99, 0)} | ${ratioCell(s.ratio.p99)} |`);
  }
  L.push('', '## CPU and memory', '');
  L.push('| case | A CPU µs/msg | B CPU µs/msg | CPU/msg A/B | A server CPU % | B server CPU % | A loadgen CPU % | B loadgen CPU % '
    + '| other CPU % (A / B runs) | A peak RSS MB | B peak RSS MB | RSS A/B | A KB/conn | B KB/conn | failed / noisy runs |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const s = c.summary;
    L.push(`| ${c.label} | ${cell(s.A.cpuPerMsg, 1)} | ${cell(s.B.cpuPerMsg, 1)} | ${ratioCell(s.ratio.cpuPerMsg, true)} `
      + `| ${cell(s.A.serverCpu, 0)} | ${cell(s.B.serverCpu, 0)} | ${cell(s.A.loadgenCpu, 0)} | ${cell(s.B.loadgenCpu, 0)} `
      + `| ${fmtNum(s.A.otherCpu.median, 0)} / ${fmtNum(s.B.otherCpu.median, 0)} `
      + `| ${cell(s.A.rssMB, 1)} | ${cell(s.B.rssMB, 1)} | ${ratioCell(s.ratio.rssMB, true)} `
      + `| ${c.memory ? cell(s.A.kbPerConn, 2) : '–'} | ${c.memory ? cell(s.B.kbPerConn, 2) : '–'} | ${s.failed} / ${s.noisy} |`);
  }
  L.push('', '## Byte accounting (A)', '');
  L.push('After every A run the server\'s own `stats` line (SIGUSR2 while running, and the final one at SIGTERM) was compared with '
    + 'the load generator\'s exact totals after it stopped sending and drained every echo: bytesIn = bytes sent, bytesOut = bytes received.', '');
  L.push('| case | A runs checked | bytes through the core (in / out, all A runs) | mismatched messages (A / B) |');
  L.push('|---|---:|---|---:|');
  for (const c of cases) {
    const a = c.runs.filter((r) => r.side === 'A');
    const checked = a.filter((r) => r.bytesChecked).length;
    const bin = a.reduce((t, r) => t + (r.stats?.bytesIn ?? 0), 0);
    const bout = a.reduce((t, r) => t + (r.stats?.bytesOut ?? 0), 0);
    const mm = (s) => c.runs.filter((r) => r.side === s).reduce((t, r) => t + (r.lg?.mismatches ?? 0), 0);
    L.push(`| ${c.label} | ${checked}/${a.length} | ${bin.toLocaleString('en-US')} / ${bout.toLocaleString('en-US')} | ${mm('A')} / ${mm('B')} |`);
  }
  const failures = cases.flatMap((c) => c.runs.filter((r) => !r.ok).map((r) => ({ c, r })));
  L.push('', '## Failures', '');
  if (failures.length === 0) L.push('None: every run passed every check.');
  for (const { c, r } of failures) L.push(`- ${c.label}, ${r.side} rep ${r.rep}: ${r.failures.join('; ')}`);
  if (result.profiles?.length) {
    L.push('', '## CPU profiles of A', '');
    L.push('| case | profiles | busy ms | WebAssembly (core) | core incl. its JS loader | everything else |');
    L.push('|---|---:|---:|---:|---:|---:|');
    for (const p of result.profiles) {
      const pc = (x) => `${(x * 100).toFixed(1)} %`;
      L.push(`| ${p.label} | ${p.files.length} | ${p.summary.busyMs.toFixed(0)} | **${pc(p.summary.wasmShare)}** | ${pc(p.summary.coreShare)} | ${pc(1 - p.summary.coreShare)} |`);
    }
    for (const p of result.profiles) L.push('', p.text);
  }
  return `${L.join('\n')}\n`;
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * An SVG dot plot of the A/B ratios: one row per case and metric, a dot at the ratio of the
 * medians, a whisker over the paired min–max; log-scale x axis with 1 (parity) marked.
 */
export function svgChart(result) {
  const shown = [
    ['msgs', 'msgs/s', '#1f77b4'],
    ['cpuPerMsg', 'server CPU µs/msg', '#d62728'],
    ['p99', 'p99 latency', '#ff7f0e'],
    ['rssMB', 'peak RSS', '#2ca02c'],
  ];
  const rows = [];
  for (const c of result.cases) {
    for (const [key, label, color] of shown) rows.push({ c, key, label, color, r: c.summary.ratio[key] });
  }
  const values = rows.flatMap((x) => [x.r.median, x.r.min, x.r.max]).filter((v) => v > 0 && Number.isFinite(v));
  // The axis spans every median, and the whiskers up to 1/4…4: a wilder whisker (a noisy
  // repetition) is cut at the edge and marked with an arrowhead rather than squash the rest.
  const medians = rows.map((x) => x.r.median).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.min(1, ...medians, ...values.map((v) => Math.max(v, 1 / 4))) / 1.15;
  const hi = Math.max(1, ...medians, ...values.map((v) => Math.min(v, 4))) * 1.15;
  const W = 900;
  const left = 330;
  const right = 70;
  const top = 80;
  const rowH = 17;
  const gap = 12;
  const plotW = W - left - right;
  const x = (v) => left + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * plotW;
  const H = top + rows.length * rowH + result.cases.length * gap + 50;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">tcpserv echo: A/B ratios (A = ${esc(result.commands.A.name)}, B = ${esc(result.commands.B.name)})</text>`);
  out.push(`<text x="${W / 2}" y="38" text-anchor="middle" fill="#555">dot: ratio of the medians over ${result.config.reps} reps · whisker: min–max of the paired ratios (arrowhead: cut at the edge) · log scale</text>`);
  out.push(`<text x="${W / 2}" y="54" text-anchor="middle" fill="#555">msgs/s: right of 1 = A faster · CPU µs/msg, p99, RSS: left of 1 = A better</text>`);
  const candidates = [1 / 64, 1 / 32, 1 / 16, 1 / 8, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 8, 16, 32, 64];
  let ticks = candidates.filter((t) => t >= lo && t <= hi);
  while (ticks.length > 11) ticks = ticks.filter((t, i) => t === 1 || i % 2 === 0);
  const yEnd = H - 40;
  for (const t of ticks) {
    const tx = x(t).toFixed(1);
    out.push(`<line x1="${tx}" y1="${top - 8}" x2="${tx}" y2="${yEnd}" stroke="${t === 1 ? '#000' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/>`);
    const label = t < 0.1 ? `1/${Math.round(1 / t)}` : `${+t.toFixed(3)}`;
    out.push(`<text x="${tx}" y="${yEnd + 15}" text-anchor="middle" fill="#333">${label}</text>`);
  }
  out.push(`<text x="${left + plotW / 2}" y="${yEnd + 32}" text-anchor="middle" fill="#333">A/B</text>`);
  let y = top;
  let last;
  for (const row of rows) {
    if (row.c !== last) {
      if (last) y += gap;
      out.push(`<text x="8" y="${y + rowH - 4}" font-weight="bold">${esc(row.c.label)}</text>`);
      last = row.c;
    }
    const cy = y + rowH / 2;
    out.push(`<text x="${left - 10}" y="${cy + 4}" text-anchor="end" fill="${row.color}">${esc(row.label)}</text>`);
    const { median: m, min, max } = row.r;
    if (min > 0 && max > 0) {
      const x1 = x(Math.max(min, lo));
      const x2 = x(Math.min(max, hi));
      out.push(`<line x1="${x1.toFixed(1)}" y1="${cy}" x2="${x2.toFixed(1)}" y2="${cy}" stroke="${row.color}" stroke-width="2"/>`);
      if (min < lo) out.push(`<path d="M${x1.toFixed(1)},${cy} l7,-4 v8 z" fill="${row.color}"/>`);
      if (max > hi) out.push(`<path d="M${x2.toFixed(1)},${cy} l-7,-4 v8 z" fill="${row.color}"/>`);
    }
    if (m > 0) {
      out.push(`<circle cx="${x(Math.min(Math.max(m, lo), hi)).toFixed(1)}" cy="${cy}" r="4.5" fill="${row.color}"/>`);
      out.push(`<text x="${W - right + 8}" y="${cy + 4}" fill="#333">${m.toFixed(2)}</text>`);
    } else {
      out.push(`<text x="${W - right + 8}" y="${cy + 4}" fill="#999">n/a</text>`);
    }
    y += rowH;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
