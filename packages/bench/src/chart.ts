// The SVG chart (ratios.svg): a dot plot of the A/B ratios per Node version and case.
import type { BenchResult, CaseResult, NodeResult, Ratio } from './types.js';

const esc = (s: unknown): string => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * An SVG dot plot of the A/B ratios: one row per case and metric, a dot at the ratio of the
 * medians, a whisker over the paired min–max; log-scale x axis with 1 (parity) marked.
 */
export function svgChart(result: BenchResult): string {
  const shown: [string, string, string][] = [
    ['msgs', 'msgs/s', '#1f77b4'],
    ['cpuPerMsg', 'server CPU µs/msg', '#d62728'],
    ['p99', 'p99 latency', '#ff7f0e'],
    ['rssMB', 'peak RSS', '#2ca02c'],
  ];
  type Row = { c: CaseResult; n: NodeResult; key: string; label: string; color: string; r: Ratio };
  const rows: Row[] = [];
  const many = result.nodes.length > 1;
  for (const n of result.nodes) {
    for (const c of n.cases) {
      for (const [key, label, color] of shown) rows.push({ c, n, key, label, color, r: c.summary.ratios['A/B'][key] });
    }
  }
  const groups = new Set(rows.map((x) => x.c)).size;
  const values = rows.flatMap((x) => [x.r.median, x.r.min, x.r.max]).filter((v): v is number => v !== null && v > 0 && Number.isFinite(v));
  // The axis spans every median, and the whiskers up to 1/4…4: a wilder whisker (a noisy
  // repetition) is cut at the edge and marked with an arrowhead rather than squash the rest.
  const medians = rows.map((x) => x.r.median).filter((v): v is number => v !== null && v > 0 && Number.isFinite(v));
  const lo = Math.min(1, ...medians, ...values.map((v) => Math.max(v, 1 / 4))) / 1.15;
  const hi = Math.max(1, ...medians, ...values.map((v) => Math.min(v, 4))) * 1.15;
  const W = 900;
  const left = 330;
  const right = 70;
  const top = 80;
  const rowH = 17;
  const gap = 12;
  const plotW = W - left - right;
  const x = (v: number): number => left + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * plotW;
  const H = top + rows.length * rowH + groups * gap + 50;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">tcpserv echo: A/B ratios (A = tcpserv, B = plain Node; Node ${esc(result.nodes.map((n) => n.node.version).join(', '))})</text>`);
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
  let last: CaseResult | undefined;
  for (const row of rows) {
    if (row.c !== last) {
      if (last) y += gap;
      out.push(`<text x="8" y="${y + rowH - 4}" font-weight="bold">${esc(many ? `${row.n.node.version} · ${row.c.name}` : row.c.label)}</text>`);
      last = row.c;
    }
    const cy = y + rowH / 2;
    out.push(`<text x="${left - 10}" y="${cy + 4}" text-anchor="end" fill="${row.color}">${esc(row.label)}</text>`);
    const { median: m, min, max } = row.r;
    if (min !== null && max !== null && min > 0 && max > 0) {
      const x1 = x(Math.max(min, lo));
      const x2 = x(Math.min(max, hi));
      out.push(`<line x1="${x1.toFixed(1)}" y1="${cy}" x2="${x2.toFixed(1)}" y2="${cy}" stroke="${row.color}" stroke-width="2"/>`);
      if (min < lo) out.push(`<path d="M${x1.toFixed(1)},${cy} l7,-4 v8 z" fill="${row.color}"/>`);
      if (max > hi) out.push(`<path d="M${x2.toFixed(1)},${cy} l-7,-4 v8 z" fill="${row.color}"/>`);
    }
    if (m !== null && m > 0) {
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
