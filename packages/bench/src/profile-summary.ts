// Summarises V8 .cpuprofile files (from `node --cpu-prof`) by self time: the top functions,
// the top files, and the share of busy time spent in WebAssembly — the core — against the
// rest.
//
//   node dist/profile-summary.js [--top 25] [--wasm path/to/core.wasm] [--json] FILE.cpuprofile…
//
// Several files are merged (e.g. every repetition of one case). The bench cuts each of its
// profiles to the load generator's measured window; this script on its own takes them whole
// (start-up, connect and shutdown included).
//
// How the time is counted: a profile is a call tree (`nodes`) plus, for every sample, the
// node that was on top of the stack (`samples`) and the time since the previous sample
// (`timeDeltas`, µs). A sample's delta is the self time of its node. "(idle)" is the event
// loop waiting in epoll: it is left out of the busy time, so every share below is a share
// of the time the server's main thread was doing something. "(program)" is native code
// V8 could not attribute to a JS function (libuv, syscalls outside a JS call);
// "(garbage collector)" is GC on the main thread.
//
// WebAssembly functions show up as `wasm-function[N]` with a `wasm://wasm/…` URL; with the
// module at hand (--wasm, default: @tcpserv/core-wasm's dist/core.wasm) they are named from
// its export and name sections.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** A V8 call frame, as in a .cpuprofile node. */
export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** The parts of a V8 .cpuprofile this summary reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One row of a summary table (a function, a file or a category), self time in µs. */
export interface SummaryRow {
  key: string;
  us: number;
  share: number;
  name?: string;
  where?: string;
  category?: string;
}

/** Self time of merged profiles, by function, file and category. */
export interface ProfileSummary {
  profiles: number;
  totalMs: number;
  idleMs: number;
  busyMs: number;
  wasmShare: number;
  coreShare: number;
  functions: SummaryRow[];
  files: SummaryRow[];
  categories: SummaryRow[];
}

/** A part of a profile to keep: CLOCK_MONOTONIC µs, V8's sample clock. */
export interface SampleWindow {
  from: number;
  to: number;
}

/** Function names of a wasm module by function index, from its name section, else its exports. */
export function wasmFunctionNames(bytes: Uint8Array): Map<number, string> {
  const names = new Map<number, string>();
  const exported = new Map<number, string>();
  let pos = 8; // magic + version
  const u8 = bytes;
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = u8[pos++];
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  };
  const str = (): string => {
    const len = leb();
    const s = Buffer.from(u8.subarray(pos, pos + len)).toString('utf8');
    pos += len;
    return s;
  };
  while (pos < u8.length) {
    const id = u8[pos++];
    const size = leb();
    const end = pos + size;
    if (id === 7) { // export section: name, kind (0 = function), index
      for (let count = leb(); count > 0; count--) {
        const name = str();
        const kind = u8[pos++];
        const index = leb();
        if (kind === 0 && !exported.has(index)) exported.set(index, name);
      }
    } else if (id === 0) { // custom section: "name" → subsection 1 = function names
      const sectionName = str();
      if (sectionName === 'name') {
        while (pos < end) {
          const sub = u8[pos++];
          const subEnd = leb() + pos;
          if (sub === 1) {
            for (let count = leb(); count > 0; count--) {
              const index = leb();
              names.set(index, str());
            }
          }
          pos = subEnd;
        }
      }
    }
    pos = end;
  }
  for (const [index, name] of exported) if (!names.has(index)) names.set(index, name);
  return names;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Which part of the server a frame belongs to. */
export function categoryOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url.startsWith('wasm://') || /^wasm-function\[/.test(functionName)) return 'wasm (core)';
  if (SPECIAL.has(functionName)) return functionName;
  if (url.includes('/core-wasm/')) return 'core-wasm JS loader';
  if (url.includes('/node-binding/')) return 'node-binding JS';
  if (url.includes('/cli/')) return 'cli JS';
  if (url.includes('/bench/')) return 'bench stand-in JS';
  if (url.startsWith('node:') || url === '') return 'node internals and natives';
  return 'other JS';
}

/**
 * Merges profiles and returns self time per function, per file and per category, in µs.
 * `wasmNames` maps wasm function indices to names. `windows[i]`, if given, keeps only the
 * samples of profile i taken from `from` to `to` (CLOCK_MONOTONIC µs, V8's sample clock).
 */
export function summarise(profiles: CpuProfile[], wasmNames = new Map<number, string>(), windows: (SampleWindow | undefined)[] = []): ProfileSummary {
  type Entry = { us: number; name?: string; where?: string; category?: string };
  const byFunction = new Map<string, Entry>();
  const byFile = new Map<string, Entry>();
  const byCategory = new Map<string, Entry>();
  let total = 0;
  let idle = 0;
  const add = (map: Map<string, Entry>, key: string, us: number, extra: Omit<Entry, 'us'>): void => {
    const e = map.get(key);
    if (e) e.us += us;
    else map.set(key, { us, ...extra });
  };
  profiles.forEach((profile, k) => {
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<number, number>();
    const { samples, timeDeltas } = profile;
    const from = windows[k]?.from ?? -Infinity;
    const to = windows[k]?.to ?? Infinity;
    // timeDeltas[i] is the time before sample i; it is charged to the sample before it,
    // whose stack was running during that interval. The last sample gets nothing.
    let t = profile.startTime + (timeDeltas[0] ?? 0);
    for (let i = 0; i + 1 < samples.length; i++) {
      const us = Math.max(0, timeDeltas[i + 1]);
      if (t >= from && t < to) self.set(samples[i], (self.get(samples[i]) ?? 0) + us);
      t += timeDeltas[i + 1];
    }
    for (const [id, us] of self) {
      const frame = nodes.get(id)!.callFrame;
      total += us;
      if (frame.functionName === '(idle)') {
        idle += us;
        continue;
      }
      let name = frame.functionName || '(anonymous)';
      const m = /^wasm-function\[(\d+)\]$/.exec(name);
      if (m && wasmNames.has(Number(m[1]))) name = `${wasmNames.get(Number(m[1]))} [wasm ${m[1]}]`;
      const file = frame.url ? shortUrl(frame.url) : '(native)';
      const where = frame.url && !frame.url.startsWith('wasm://') ? `${file}:${frame.lineNumber + 1}` : file;
      const category = categoryOf(frame);
      add(byFunction, `${name}\u0000${where}`, us, { name, where, category });
      add(byFile, file, us, { category });
      const f = byFile.get(file)!;
      if (f.category !== category) f.category = 'mixed';
      add(byCategory, category, us, {});
    }
  });
  const busy = total - idle;
  const sorted = (map: Map<string, Entry>): SummaryRow[] => [...map.entries()]
    .map(([key, v]) => ({ key, ...v, share: busy > 0 ? v.us / busy : 0 }))
    .sort((a, b) => b.us - a.us);
  const categories = sorted(byCategory);
  const wasmUs = byCategory.get('wasm (core)')?.us ?? 0;
  const loaderUs = byCategory.get('core-wasm JS loader')?.us ?? 0;
  return {
    profiles: profiles.length,
    totalMs: total / 1000,
    idleMs: idle / 1000,
    busyMs: busy / 1000,
    wasmShare: busy > 0 ? wasmUs / busy : 0,
    coreShare: busy > 0 ? (wasmUs + loaderUs) / busy : 0,
    functions: sorted(byFunction),
    files: sorted(byFile),
    categories,
  };
}

function shortUrl(url: string): string {
  if (url.startsWith('wasm://')) return url;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const i = path.indexOf('/packages/');
  return i >= 0 ? path.slice(i + 1) : path;
}

/** The default wasm module: @tcpserv/core-wasm's build output, if it is there. */
export function defaultWasmPath(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('@tcpserv/core-wasm/package.json');
    const p = pkg.replace(/package\.json$/, 'dist/core.wasm');
    return existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

export function loadWasmNames(path: string | undefined): Map<number, string> {
  if (!path || !existsSync(path)) return new Map();
  return wasmFunctionNames(new Uint8Array(readFileSync(path)));
}

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
const ms = (us: number): string => (us / 1000).toFixed(1);

/** The summary as text (Markdown tables). */
export function formatSummary(s: ProfileSummary, top = 25, title = 'CPU profile'): string {
  const lines: string[] = [];
  lines.push(`### ${title}`, '');
  lines.push(`${s.profiles} profile(s): ${s.totalMs.toFixed(0)} ms sampled, ${s.idleMs.toFixed(0)} ms idle, `
    + `${s.busyMs.toFixed(0)} ms busy. Shares are of busy time.`, '');
  lines.push(`**WebAssembly (the core): ${pct(s.wasmShare)}** of busy time; with the core's JS loader `
    + `(@tcpserv/core-wasm dist/*.js): ${pct(s.coreShare)}; everything else: ${pct(1 - s.coreShare)}.`, '');
  lines.push('| category | self ms | share |', '|---|---:|---:|');
  for (const c of s.categories) lines.push(`| ${c.key} | ${ms(c.us)} | ${pct(c.share)} |`);
  lines.push('', `Top ${top} functions by self time:`, '', '| # | function | where | category | self ms | share |', '|---:|---|---|---|---:|---:|');
  s.functions.slice(0, top).forEach((f, i) => {
    lines.push(`| ${i + 1} | \`${f.name}\` | ${f.where} | ${f.category} | ${ms(f.us)} | ${pct(f.share)} |`);
  });
  lines.push('', `Top ${top} files by self time:`, '', '| # | file | category | self ms | share |', '|---:|---|---|---:|---:|');
  s.files.slice(0, top).forEach((f, i) => {
    lines.push(`| ${i + 1} | ${f.key} | ${f.category} | ${ms(f.us)} | ${pct(f.share)} |`);
  });
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: 'string', default: '25' },
      wasm: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write('usage: profile-summary.js [--top 25] [--wasm core.wasm] [--json] FILE.cpuprofile…\n');
    process.exit(values.help ? 0 : 2);
  }
  const profiles = positionals.map((f) => JSON.parse(readFileSync(f, 'utf8')) as CpuProfile);
  const s = summarise(profiles, loadWasmNames(values.wasm ?? defaultWasmPath()));
  if (values.json) {
    const top = Number(values.top);
    process.stdout.write(`${JSON.stringify({ ...s, functions: s.functions.slice(0, top), files: s.files.slice(0, top) }, null, 2)}\n`);
  } else {
    const title = positionals.length === 1 ? basename(positionals[0]) : `${positionals.length} profiles`;
    process.stdout.write(formatSummary(s, Number(values.top), title));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
