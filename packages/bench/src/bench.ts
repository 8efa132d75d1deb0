// The tcpserv echo benchmark: A = `tcpserver echo` against B = the plain-Node equivalent,
// same machine, same run, loopback only, per Node version. See ../README.md for what is
// measured and how; `node dist/bench.js --help` for the options.
//
// Exit status: 0 every run passed every check; 1 some run failed (the report says which);
// 2 bad usage or a missing prerequisite.
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseDef, CliFeature, SideDef } from './cases.js';
import { makeCerts, type Certs } from './certs.js';
import { svgChart } from './chart.js';
import { cliFeatures, probeReadPath } from './cli-probe.js';
import { buildLoadgen } from './loadgen-build.js';
import { resolveNode } from './node-versions.js';
import { parseOptions, type BenchOptions } from './options.js';
import { type CpuProfile, defaultWasmPath, formatSummary, loadWasmNames, summarise } from './profile-summary.js';
import { HIGH_WATER_MARK_NOTE, markdown } from './report.js';
import { HOST, runOne, type RunContext } from './run-one.js';
import { hardNofile, killAll, shq } from './runner.js';
import { otherCpuPct, summariseCase } from './stats.js';
import type { BenchResult, CaseResult, NodeResult, NodeRuntime, RunRecord, SideRun } from './types.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // packages/bench/dist
const PKG = resolve(HERE, '..');
const BINDING_DIST = resolve(PKG, '../node-binding/dist/index.js');
const ALL_FEATURES: CliFeature[] = ['--framing', '--tls-cert', '--workers'];
const PEER_SCRIPT = { pipe: 'net-echo.js', line: 'line-echo.js', len: 'len-echo.js', tls: 'tls-echo.js', cluster: 'cluster-echo.js' } as const;

const fmt = (x: number | null | undefined, d = 0): string => (x === null || x === undefined || !Number.isFinite(x)
  ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));

/** What A is on one Node binary: its base command and the flags it has. */
interface ACommand {
  name: string;
  template: string;
  /** The same at --log-level debug, for the read-path probe (undefined for a custom --a). */
  debugTemplate?: string;
  features: CliFeature[];
  /** Whether `features` came from `tcpserver echo --help` (false: assumed, for the stand-in or --a). */
  probed: boolean;
  featureError?: string;
}

function aCommand(opts: BenchOptions, node: string): ACommand {
  if (opts.a) return { name: opts.aName ?? 'A', template: opts.a, features: ALL_FEATURES, probed: false };
  const withLevel = (file: string, level: string): string => `${shq(node)} ${shq(file)} echo --host {host} --port {port} `
    + `--max-clients {maxClients} --log-level ${level} --log-format ${opts.logFormat}`;
  // bin/tcpserver.js loads ../dist/main.js: both must be there.
  if (!opts.standin && existsSync(opts.cli) && existsSync(resolve(dirname(opts.cli), '../dist/main.js'))) {
    const probe = cliFeatures(node, opts.cli);
    return {
      name: opts.aName ?? 'tcpserver echo', template: withLevel(opts.cli, 'warn'), debugTemplate: withLevel(opts.cli, 'debug'),
      features: probe.features, probed: true, featureError: probe.error,
    };
  }
  if (!existsSync(BINDING_DIST)) {
    process.stderr.write(`bench: ${BINDING_DIST} is missing: run npx nx run node-binding:build first\n`);
    process.exit(2);
  }
  if (!opts.standin) process.stderr.write('bench: packages/cli is not built yet: A is the stand-in (dist/standin-echo.js on @tcpserv/node)\n');
  const file = join(HERE, 'standin-echo.js');
  return {
    name: opts.aName ?? 'stand-in echo (@tcpserv/node)', template: withLevel(file, 'warn'), debugTemplate: withLevel(file, 'debug'),
    features: ALL_FEATURES, probed: false,
  };
}

/** A side's command template, {port}/{host}/{maxClients} still open. */
function sideTemplate(opts: BenchOptions, node: string, a: ACommand, side: SideDef, certs: Certs | undefined): string {
  const fill = (s: string): string => (certs && 'cert' in certs ? s.replaceAll('{cert}', shq(certs.cert)).replaceAll('{key}', shq(certs.key)) : s);
  if (side.tcpserv) return fill(`${a.template}${side.flags ? ` ${side.flags}` : ''}`);
  const peer = side.peer ?? 'pipe';
  if (peer === 'pipe' && opts.b) return opts.b;
  let cmd = `${shq(node)} ${shq(join(HERE, PEER_SCRIPT[peer]))} --host {host} --port {port}`;
  if (peer === 'tls') cmd += ' --cert {cert} --key {key}';
  if (peer === 'cluster') cmd += ` --workers ${side.workers}`;
  return fill(cmd);
}

/** A side's label: A's name and the case's flags; a B peer's own name (or --b-name). */
function sideName(opts: BenchOptions, a: ACommand, side: SideDef): string {
  if (side.tcpserv) return `${a.name}${side.flags ? ` ${side.flags.replaceAll('{cert}', 'F').replaceAll('{key}', 'F')}` : ''}`;
  return side.peer === 'pipe' && opts.bName ? opts.bName : side.name;
}

/** Why a case cannot run here, or undefined. */
function skipReason(c: CaseDef, a: ACommand, lg: { tls: boolean; tlsMissing?: string }, certs: Certs | undefined): string | undefined {
  if (c.needs && !a.features.includes(c.needs)) {
    return `skipped: tcpserver lacks ${c.needs}${a.featureError ? ` (${a.featureError})` : ''} — \`tcpserver echo --help\` does not list it`;
  }
  if (c.tls && !lg.tls) return `skipped: the load generator has no TLS (${lg.tlsMissing})`;
  if (c.tls && certs && 'error' in certs) return `skipped: no TLS certificate (${certs.error})`;
  return undefined;
}

function describeRun(r: RunRecord): string {
  const l = r.lg;
  if (!l) return '';
  const cpuPerMsg = l.server_cpu_s >= 0 && l.msgs > 0 ? (l.server_cpu_s * 1e6) / l.msgs : null;
  const bytes = r.stats ? ` bytes in/out ${r.stats.bytesIn === l.bytes_sent && r.stats.bytesOut === l.bytes_recv ? '=' : '≠'} loadgen` : '';
  const spreadOf = r.clientsByPid && r.pids.length > 1 ? `  clients/worker ${r.pids.slice(1).map((p) => r.clientsByPid![String(p)] ?? 0).join('/')}` : '';
  return `${fmt(l.msgs_per_s)} msg/s  p50 ${fmt(l.p50_us)} µs  p99 ${fmt(l.p99_us)} µs  `
    + `${fmt(cpuPerMsg, 1)} µs/msg  server ${fmt(l.server_cpu_pct)} %  loadgen ${fmt(l.loadgen_cpu_pct)} %  `
    + `other ${fmt(otherCpuPct(r))} %  RSS ${fmt((r.hwmKB ?? NaN) / 1024, 1)} MB${bytes}${spreadOf}`;
}

function machine(): BenchResult['machine'] {
  let kernel = os.release();
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // keep os.release()
  }
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '?', kernel, memMB: Math.round(os.totalmem() / 2 ** 20), benchNode: process.version };
}

/** Runs every case on one Node binary, A B A B … per case. */
async function benchOneNode(ctxBase: Omit<RunContext, 'profileDir'>, node: NodeRuntime, certs: Certs | undefined,
  lg: { tls: boolean; tlsMissing?: string }, profileRoot: string, progress: { n: number; total: number }): Promise<NodeResult> {
  const { opts } = ctxBase;
  const profileDir = join(profileRoot, node.version);
  if (opts.profile) mkdirSync(profileDir, { recursive: true });
  const ctx: RunContext = { ...ctxBase, profileDir };
  const a = aCommand(opts, node.path);
  process.stdout.write(`\n== Node ${node.version} (${node.path})\n  A = ${a.name}: ${a.template}\n`);
  if (a.featureError) process.stderr.write(`bench: ${a.featureError}\n`);
  const readPath = a.debugTemplate ? await probeReadPath(a.debugTemplate.replaceAll('{port}', '0').replaceAll('{host}', HOST)
    .replaceAll('{maxClients}', '1024'), ctx.tcpservEnv, ctx.nofile) : null;
  process.stdout.write(`  read path: ${readPath ?? '(the server printed no "read path:" line)'}\n`);
  const result: NodeResult = { node, aName: a.name, aTemplate: a.template, cliFeatures: a.features, cliFeaturesProbed: a.probed, readPath, skipped: [], cases: [] };
  // Every skip is said before the first run, so a reader sees at once what will not be measured.
  const toRun: CaseDef[] = [];
  for (const c of opts.cases) {
    const why = skipReason(c, a, lg, certs);
    if (!why) {
      toRun.push(c);
      continue;
    }
    process.stdout.write(`  ${c.name}: ${why}\n`);
    result.skipped.push({ case: c.name, label: c.label, why });
    progress.total -= opts.reps * c.sides.length;
  }
  for (const c of toRun) {
    const sides: SideRun[] = c.sides.map((s) => ({
      key: s.key, name: sideName(opts, a, s), tcpserv: s.tcpserv, cmd: sideTemplate(opts, node.path, a, s, certs),
    }));
    const runs: RunRecord[] = [];
    const discarded: RunRecord[] = [];
    for (let rep = 1; rep <= opts.reps; rep++) {
      for (const [k, side] of c.sides.entries()) {
        progress.n++;
        const head = `[${String(progress.n).padStart(String(progress.total).length)}/${progress.total}] ${c.name.padEnd(10)} ${side.key.padEnd(2)} rep ${rep}: `;
        // A run during which the rest of the machine was busy is done again (at most
        // --retries times); the last attempt is kept either way, flagged if still noisy.
        for (let attempt = 0; ; attempt++) {
          const r = await runOne(ctx, c, side, sides[k].cmd, rep);
          const other = r.lg ? otherCpuPct(r) : null;
          r.noisy = other !== null && other > opts.maxOther;
          if (r.ok && r.noisy && attempt < opts.retries) {
            process.stdout.write(`${head}${describeRun(r)}  NOISY (other > ${opts.maxOther} %): again\n`);
            discarded.push(r);
            await new Promise((done) => setTimeout(done, 2000));
            continue;
          }
          r.attempts = attempt + 1;
          runs.push(r);
          process.stdout.write(`${head}${describeRun(r)}${r.ok ? '' : '  FAILED'}${r.ok && r.noisy ? '  (noisy, kept)' : ''}\n`);
          if (!r.ok) for (const f of r.failures) process.stderr.write(`  !! ${c.name} ${side.key} rep ${rep}: ${f}\n`);
          break;
        }
      }
    }
    // A custom --a may print its read path only in the runs.
    result.readPath ??= runs.find((r) => r.readPath)?.readPath ?? null;
    const caseResult: CaseResult = {
      name: c.name, label: c.label, conns: c.conns, size: c.size, pipeline: c.pipeline, framing: c.framing, tls: c.tls,
      memory: c.memory ?? false, multicore: c.multicore ?? false, pin: c.pin ?? opts.pin, sides, runs, discarded,
      summary: summariseCase(runs, c.sides.map((s) => s.key)),
    };
    result.cases.push(caseResult);
  }
  if (opts.profile) result.profiles = profileSummaries(result.cases, profileDir);
  return result;
}

/** Per case, A's profiles merged and cut to the load generator's measured windows. */
function profileSummaries(cases: CaseResult[], profileDir: string): NodeResult['profiles'] {
  const names = loadWasmNames(defaultWasmPath());
  const out: NonNullable<NodeResult['profiles']> = [];
  for (const c of cases) {
    const runs = c.runs.filter((r) => r.side === 'A' && r.profile && existsSync(join(profileDir, r.profile)));
    if (runs.length === 0) continue;
    const files = runs.map((r) => r.profile!);
    const windows = runs.map((r) => (r.lg && r.lg.window_end_us > 0 ? { from: r.lg.window_start_us, to: r.lg.window_end_us } : undefined));
    const s = summarise(files.map((f) => JSON.parse(readFileSync(join(profileDir, f), 'utf8')) as CpuProfile), names, windows);
    const text = formatSummary(s, 25, `A, ${c.label}: ${files.length} profile(s) merged, measured windows only`);
    out.push({ case: c.name, label: c.label, files, summary: { ...s, functions: s.functions.slice(0, 25), files: s.files.slice(0, 25) }, text });
  }
  return out;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2), PKG);
  const loadgenBin = join(PKG, 'build', 'loadgen');
  mkdirSync(dirname(loadgenBin), { recursive: true });
  const lg = buildLoadgen(join(PKG, 'src', 'loadgen.c'), loadgenBin);
  if (lg.built) process.stderr.write(`bench: built ${relative(process.cwd(), loadgenBin)} with cc (${lg.tls ? 'with' : 'WITHOUT'} TLS)\n`);
  if (!lg.tls && opts.cases.some((c) => c.tls)) {
    process.stderr.write(`bench: !!!!!!!! the TLS case will be SKIPPED: ${lg.tlsMissing} !!!!!!!!\n`);
  }
  let nodes: NodeRuntime[];
  try {
    nodes = opts.nodes.length === 0 ? [resolveNode('system', 'version')] : opts.nodes.map((n) => resolveNode(n.spec, n.kind));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    process.exit(2);
  }

  // File descriptors: the largest case plus slack, for servers and load generator alike.
  const maxConns = Math.max(...opts.cases.map((c) => c.conns));
  const hard = hardNofile();
  const nofile = Math.min(maxConns + 1024, hard);
  if (nofile < maxConns + 64) process.stderr.write(`bench: warning: hard open-file limit ${hard} < ${maxConns + 64}; large cases will fail\n`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
  const dir = join(opts.out, stamp);
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(join(dir, 'servers.log'));
  const certDir = mkdtempSync(join(os.tmpdir(), 'tcpserv-bench-certs-'));
  const certs = opts.cases.some((c) => c.tls) ? makeCerts(certDir) : undefined;
  const cleanUp = (): void => rmSync(certDir, { recursive: true, force: true });
  const tcpservEnv = opts.readPath === 'stream' ? { ...process.env, TCPSERV_READ_PATH: 'stream' } : process.env;
  const ctx = { opts, log, loadgen: loadgenBin, nofile, tcpservEnv };

  const perNode = opts.cases.reduce((t, c) => t + c.sides.length * opts.reps, 0);
  const progress = { n: 0, total: perNode * nodes.length };
  const startedAt = new Date().toISOString();
  process.stdout.write(`tcpserv echo bench: ${opts.cases.length} cases × ${opts.reps} reps × their sides on ${nodes.map((n) => n.version).join(', ')} `
    + `= ${progress.total} runs; ${opts.warmup} s warm-up + ${opts.duration} s measured; pin ${opts.pin}; results in ${relative(process.cwd(), dir) || dir}\n`
    + `  note: ${HIGH_WATER_MARK_NOTE}\n`);

  const onSignal = (): void => {
    killAll();
    cleanUp();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: NodeResult[] = [];
  try {
    for (const node of nodes) results.push(await benchOneNode(ctx, node, certs, lg, join(dir, 'profiles'), progress));
  } finally {
    cleanUp();
  }

  const result: BenchResult = {
    tool: '@tcpserv/bench',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machine(),
    config: {
      quick: opts.quick, reps: opts.reps, duration: opts.duration, warmup: opts.warmup, pin: opts.pin,
      serverCpu: opts.serverCpu, loadgenCpu: opts.loadgenCpu, profile: opts.profile, nofile, host: HOST,
      maxOther: opts.maxOther, retries: opts.retries, readPath: opts.readPath,
    },
    loadgen: { tls: lg.tls, ...(lg.tlsMissing ? { tlsMissing: lg.tlsMissing } : {}) },
    nodes: results,
  };
  const md = markdown(result);
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, 'results.md'), md);
  writeFileSync(join(dir, 'ratios.svg'), svgChart(result));
  await new Promise<void>((done) => log.end(done));
  const minutes = (Date.parse(result.finishedAt) - Date.parse(startedAt)) / 60000;
  process.stdout.write(`\n${md}\nwrote ${join(dir, 'results.json')}\n      ${join(dir, 'results.md')}\n      ${join(dir, 'ratios.svg')}\n`
    + `took ${minutes.toFixed(1)} min\n`);
  const failed = results.reduce((t, n) => t + n.cases.reduce((u, c) => u + c.summary.failed, 0), 0);
  if (failed > 0) {
    process.stderr.write(`\nbench: ${failed} run(s) FAILED a check; see "Failures" above\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  killAll();
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(2);
});
