// The tcpserv echo benchmark: A = `tcpserver echo` against B = plain node:net echo, same
// machine, same run, loopback only. See ../README.md for what is measured and how.
//
//   node src/bench.js [--quick] [--reps N] [--duration S] [--warmup S] [--cases a,b]
//                     [--a CMD] [--b CMD] [--pin split|none] [--profile] [--out DIR]
//
// Exit status: 0 every run passed every check; 1 some run failed (the report says which);
// 2 bad usage or a missing prerequisite.
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultWasmPath, formatSummary, loadWasmNames, summarise } from './profile-summary.js';
import { markdown, otherCpuPct, summariseCase, svgChart } from './report.js';
import {
  ServerProcess, buildLoadgen, freePort, hardNofile, isListening, killAll, parseStats, procStatusKB, runLoadgen, shq,
} from './runner.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PKG = resolve(HERE, '..');
const CLI_BIN = resolve(PKG, '../cli/bin/tcpserver.js');
const CLI_DIST = resolve(PKG, '../cli/dist/main.js');
const BINDING_DIST = resolve(PKG, '../node-binding/dist/index.js');
const HOST = '127.0.0.1';

/**
 * The cases. `rate` 0 = ping-pong flat out (one message in flight per connection);
 * otherwise each connection sends `rate` messages per second. `memory` cases report KB per
 * connection.
 */
const CASES = [
  { name: 'pp1', label: 'ping-pong 1 × 64 B', conns: 1, size: 64, rate: 0 },
  { name: 'pp100', label: 'ping-pong 100 × 64 B', conns: 100, size: 64, rate: 0 },
  { name: 'pp1000', label: 'ping-pong 1000 × 64 B', conns: 1000, size: 64, rate: 0 },
  { name: 'big50', label: 'ping-pong 50 × 16 KiB', conns: 50, size: 16384, rate: 0 },
  { name: 'idle10k', label: 'idle 10000 × 64 B @ 1/s', conns: 10000, size: 64, rate: 1, memory: true },
];

const HELP = `Usage: node src/bench.js [options]        (or: npx nx run bench:bench -- [options])

Benchmarks A = tcpserver echo against B = a plain node:net echo on 127.0.0.1, alternating
A B A B per case, and writes results/<time>/{results.json,results.md,ratios.svg,servers.log}.

Options:
  --quick              smoke test: 2 reps, 0.5 s warm-up, 2 s measured       (full: 5, 1 s, 5 s)
  --reps N             repetitions per case and side                          (5; quick 2)
  --duration S         measured seconds per run                               (5; quick 2)
  --warmup S           warm-up seconds per run (idle cases: at least 2/rate)   (1; quick 0.5)
  --cases LIST         comma-separated subset of: ${CASES.map((c) => c.name).join(', ')}      (all)
  --a CMD              A server command; {port} {host} {maxClients} are filled in
                       (default: the tcpserver CLI if packages/cli is built, else the stand-in)
  --standin            A = the stand-in (src/standin-echo.js on @tcpserv/node) even if the CLI is built
  --b CMD              B server command (default: node src/net-echo.js)
  --a-name / --b-name  labels in the report
  --log-format F       text or json: the default A command's --log-format     (text)
  --pin MODE           split: servers on --server-cpu, loadgen on --loadgen-cpu;
                       same: both on --server-cpu; none: no pinning            (split if ≥ 2 CPUs)
  --server-cpu N       (0)      --loadgen-cpu N  (1)
  --max-other PCT      a run during which the rest of the machine used more than PCT % of
                       a CPU ("other CPU %") is noisy and done again              (30)
  --retries N          how often a noisy run is done again; the last one is kept  (1; quick 0)
  --profile            run A under node --cpu-prof; profiles go to results/<time>/profiles/
                       and are summarised (self time, WebAssembly share) in the report
  --out DIR            results folder                                          (packages/bench/results)
  -h, --help           this help
`;

function usage(message) {
  process.stderr.write(`bench: ${message}\n\n${HELP}`);
  process.exit(2);
}

function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        reps: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        cases: { type: 'string' },
        a: { type: 'string' },
        b: { type: 'string' },
        standin: { type: 'boolean', default: false },
        'a-name': { type: 'string' },
        'b-name': { type: 'string' },
        'log-format': { type: 'string', default: 'text' },
        pin: { type: 'string' },
        'server-cpu': { type: 'string', default: '0' },
        'loadgen-cpu': { type: 'string', default: '1' },
        profile: { type: 'boolean', default: false },
        'max-other': { type: 'string', default: '30' },
        retries: { type: 'string' },
        out: { type: 'string', default: join(PKG, 'results') },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    usage(error.message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const num = (name, value, fallback, min) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) usage(`--${name} must be a number ≥ ${min} (got "${value}")`);
    return n;
  };
  const reps = num('reps', v.reps, v.quick ? 2 : 5, 1);
  if (!Number.isInteger(reps)) usage('--reps must be an integer');
  const cases = v.cases === undefined ? CASES : v.cases.split(',').map((name) => {
    const c = CASES.find((x) => x.name === name.trim());
    if (!c) usage(`unknown case "${name}" (known: ${CASES.map((x) => x.name).join(', ')})`);
    return c;
  });
  if (!['text', 'json'].includes(v['log-format'])) usage('--log-format must be text or json');
  const cpus = os.availableParallelism?.() ?? os.cpus().length;
  const pin = v.pin ?? (cpus >= 2 ? 'split' : 'none');
  if (!['split', 'same', 'none'].includes(pin)) usage('--pin must be split, same or none');
  const serverCpu = num('server-cpu', v['server-cpu'], 0, 0);
  const loadgenCpu = num('loadgen-cpu', v['loadgen-cpu'], 1, 0);
  if (pin === 'split' && (serverCpu >= cpus || loadgenCpu >= cpus || serverCpu === loadgenCpu)) {
    usage(`--pin split needs two different CPUs below ${cpus} (got ${serverCpu} and ${loadgenCpu})`);
  }
  if (pin === 'same' && serverCpu >= cpus) usage(`--server-cpu must be below ${cpus}`);
  return {
    quick: v.quick,
    reps,
    duration: num('duration', v.duration, v.quick ? 2 : 5, 0.1),
    warmup: num('warmup', v.warmup, v.quick ? 0.5 : 1, 0),
    cases,
    a: v.a,
    b: v.b,
    standin: v.standin,
    aName: v['a-name'],
    bName: v['b-name'],
    logFormat: v['log-format'],
    pin,
    serverCpu,
    loadgenCpu,
    profile: v.profile,
    maxOther: num('max-other', v['max-other'], 30, 0),
    retries: num('retries', v.retries, v.quick ? 0 : 1, 0),
    out: resolve(v.out),
  };
}

/** The A and B command templates, with names. */
function commands(opts) {
  const node = shq(process.execPath);
  let A;
  if (opts.a) {
    A = { name: opts.aName ?? 'A', template: opts.a };
  } else if (!opts.standin && existsSync(CLI_BIN) && existsSync(CLI_DIST)) {
    A = {
      name: opts.aName ?? 'tcpserver echo',
      template: `${node} ${shq(CLI_BIN)} echo --host {host} --port {port} --max-clients {maxClients} --log-level warn --log-format ${opts.logFormat}`,
    };
  } else {
    if (!existsSync(BINDING_DIST)) {
      process.stderr.write(`bench: ${BINDING_DIST} is missing: run npx nx run node-binding:build first\n`);
      process.exit(2);
    }
    if (!opts.standin) process.stderr.write('bench: packages/cli is not built yet: A is the stand-in (src/standin-echo.js on @tcpserv/node)\n');
    A = {
      name: opts.aName ?? 'stand-in echo (@tcpserv/node)',
      template: `${node} ${shq(join(HERE, 'standin-echo.js'))} echo --host {host} --port {port} --max-clients {maxClients} --log-level warn --log-format ${opts.logFormat}`,
    };
  }
  const B = {
    name: opts.bName ?? 'node:net pipe',
    template: opts.b ?? `${node} ${shq(join(HERE, 'net-echo.js'))} --host {host} --port {port}`,
  };
  for (const c of [A, B]) {
    if (!c.template.includes('{port}')) usage(`server command lacks {port}: ${c.template}`);
  }
  return { A, B };
}

/** Adds node's --cpu-prof flags after the command's first word, which must be node. */
function withProfiler(cmd, dir, name) {
  const m = /^(\S+)(\s|$)/.exec(cmd);
  const first = m?.[1].replace(/^'(.*)'$/, '$1') ?? '';
  if (!/(^|\/)node$/.test(first)) {
    throw new Error(`--profile needs an A command that starts with node (got: ${cmd})`);
  }
  return `${m[1]} --cpu-prof --cpu-prof-dir=${shq(dir)} --cpu-prof-name=${shq(name)}${cmd.slice(m[1].length)}`;
}

const fmt = (x, d = 0) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));

/**
 * One run: a fresh server on a free port, the load generator against it, then the checks.
 * Returns the run's record; `ok` is false (and `failures` says why) if any check failed.
 */
async function runOne(ctx, side, c, rep) {
  const { opts, cmds, log, loadgen, nofile } = ctx;
  const port = await freePort(HOST);
  const warmup = c.rate > 0 ? Math.max(opts.warmup, 2 / c.rate) : opts.warmup;
  const maxClients = Math.max(1024, c.conns + 64);
  let cmd = cmds[side].template.replaceAll('{port}', String(port)).replaceAll('{host}', HOST)
    .replaceAll('{maxClients}', String(maxClients));
  let profileFile;
  if (opts.profile && side === 'A') {
    profileFile = `A-${c.name}-r${rep}.cpuprofile`;
    cmd = withProfiler(cmd, ctx.profileDir, profileFile);
  }
  const record = { case: c.name, side, rep, port, cmd, ok: false, failures: [], lg: null, stats: null, statsUsr2: null };
  const fail = (why) => record.failures.push(why);
  const cpu = (which) => (opts.pin === 'split' ? which : opts.pin === 'same' ? opts.serverCpu : null);
  const server = new ServerProcess(cmd, { cpu: cpu(opts.serverCpu), nofile, log, tag: `${c.name} ${side} rep ${rep}` });
  try {
    const listening = await server.waitForLine(isListening, 15000);
    if (!listening) {
      fail(`server did not print "listening on" within 15 s${server.alive ? '' : ` (exited: ${server.exitCode ?? server.exitSignal})`}`
        + `${server.stderrTail ? `: ${server.stderrTail.trim().split('\n').pop()}` : ''}`);
      return record;
    }
    record.idleKB = procStatusKB(server.pid, 'VmRSS');
    const connectBudget = c.conns > 1000 ? 60 : 20;
    const args = ['-c', c.conns, '-s', c.size, '-d', opts.duration, '-w', warmup, '--rate', c.rate,
      '--server-pid', server.pid, '--connect-budget', connectBudget, HOST, port].map(String);
    const timeoutMs = (connectBudget + warmup + opts.duration + 10 + 10 + 5 + 30) * 1000;
    const lg = await runLoadgen(loadgen, args, { cpu: cpu(opts.loadgenCpu), nofile, timeoutMs });
    record.lg = lg.json;
    record.hwmKB = procStatusKB(server.pid, 'VmHWM');
    if (lg.timedOut) fail(`loadgen timed out after ${timeoutMs / 1000} s`);
    if (!lg.json) {
      fail(`loadgen printed no result (exit ${lg.code}): ${lg.stderr.split('\n').pop()}`);
      return record;
    }
    if (lg.code !== 0) fail(`loadgen failed (exit ${lg.code}): ${lg.stderr.split('\n').pop() || lg.json.first_error}`);
    if (lg.json.mismatches > 0) fail(`DATA INTEGRITY: ${lg.json.mismatches} echoed messages differ from what was sent`);
    if (!server.alive) fail(`server exited during the run (${server.exitCode ?? server.exitSignal})`);

    if (side === 'A' && server.alive) {
      const from = server.lines.length;
      server.signal('SIGUSR2');
      const line = await server.waitForLine((l) => parseStats(l) !== null, 5000, from);
      record.statsUsr2 = line && parseStats(line);
      if (!record.statsUsr2) fail('no stats line after SIGUSR2 within 5 s');
    }
    const from = server.lines.length;
    const inTime = await server.stop(c.conns > 1000 ? 20000 : 10000);
    if (!inTime) fail('server did not exit after SIGTERM (killed)');
    else if (server.exitCode !== 0) fail(`server exited with ${server.exitCode ?? server.exitSignal} after SIGTERM, not 0`);
    if (side === 'A') {
      const finalLine = server.lines.slice(from).filter((l) => parseStats(l)).pop();
      record.stats = finalLine ? parseStats(finalLine) : null;
      if (!record.stats) fail('no final stats line at SIGTERM');
      const l = lg.json;
      for (const [what, s] of [['final', record.stats], ['SIGUSR2', record.statsUsr2]]) {
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
    if (server.alive) await server.stop(5000);
  }
}

function describeRun(r) {
  const l = r.lg;
  if (!l) return '';
  const cpuPerMsg = l.server_cpu_s >= 0 && l.msgs > 0 ? (l.server_cpu_s * 1e6) / l.msgs : null;
  const bytes = r.side === 'A' && r.stats ? ` bytes in/out ${r.stats.bytesIn === l.bytes_sent && r.stats.bytesOut === l.bytes_recv ? '=' : '≠'} loadgen` : '';
  return `${fmt(l.msgs_per_s)} msg/s  p50 ${fmt(l.p50_us)} µs  p99 ${fmt(l.p99_us)} µs  `
    + `${fmt(cpuPerMsg, 1)} µs/msg  server ${fmt(l.server_cpu_pct)} %  loadgen ${fmt(l.loadgen_cpu_pct)} %  `
    + `other ${fmt(otherCpuPct(r))} %  RSS ${fmt(r.hwmKB / 1024, 1)} MB${bytes}`;
}

function machine() {
  let kernel = os.release();
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // keep os.release()
  }
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '?', kernel, node: process.version, memMB: Math.round(os.totalmem() / 2 ** 20) };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const cmds = commands(opts);
  const loadgen = join(PKG, 'build', 'loadgen');
  mkdirSync(dirname(loadgen), { recursive: true });
  if (buildLoadgen(join(HERE, 'loadgen.c'), loadgen)) process.stderr.write(`bench: built ${relative(process.cwd(), loadgen)} with cc\n`);

  // File descriptors: the largest case plus slack, for servers and load generator alike.
  const maxConns = Math.max(...opts.cases.map((c) => c.conns));
  const hard = hardNofile();
  const nofile = Math.min(maxConns + 1024, hard);
  if (nofile < maxConns + 64) process.stderr.write(`bench: warning: hard open-file limit ${hard} < ${maxConns + 64}; large cases will fail\n`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
  const dir = join(opts.out, stamp);
  mkdirSync(dir, { recursive: true });
  const profileDir = join(dir, 'profiles');
  if (opts.profile) mkdirSync(profileDir, { recursive: true });
  const log = createWriteStream(join(dir, 'servers.log'));
  const ctx = { opts, cmds, log, loadgen, nofile, profileDir };

  const total = opts.cases.length * opts.reps * 2;
  const startedAt = new Date().toISOString();
  process.stdout.write(`tcpserv echo bench: ${opts.cases.length} cases × ${opts.reps} reps × A,B = ${total} runs; `
    + `${opts.warmup} s warm-up + ${opts.duration} s measured; pin ${opts.pin}; results in ${relative(process.cwd(), dir) || dir}\n`
    + `  A = ${cmds.A.name}: ${cmds.A.template}\n  B = ${cmds.B.name}: ${cmds.B.template}\n`);

  const onSignal = () => {
    killAll();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const cases = [];
  let n = 0;
  for (const c of opts.cases) {
    const runs = [];
    const discarded = [];
    for (let rep = 1; rep <= opts.reps; rep++) {
      for (const side of ['A', 'B']) {
        n++;
        const head = `[${String(n).padStart(String(total).length)}/${total}] ${c.name.padEnd(7)} ${side} rep ${rep}: `;
        // A run during which the rest of the machine was busy is done again (at most
        // --retries times); the last attempt is kept either way, flagged if still noisy.
        for (let attempt = 0; ; attempt++) {
          const r = await runOne(ctx, side, c, rep);
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
          if (!r.ok) for (const f of r.failures) process.stderr.write(`  !! ${c.name} ${side} rep ${rep}: ${f}\n`);
          break;
        }
      }
    }
    cases.push({ ...c, runs, discarded, summary: summariseCase(runs) });
  }

  const result = {
    tool: '@tcpserv/bench',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machine(),
    config: {
      quick: opts.quick, reps: opts.reps, duration: opts.duration, warmup: opts.warmup, pin: opts.pin,
      serverCpu: opts.serverCpu, loadgenCpu: opts.loadgenCpu, profile: opts.profile, nofile, host: HOST,
      maxOther: opts.maxOther, retries: opts.retries,
    },
    commands: cmds,
    cases,
  };

  if (opts.profile) {
    const names = loadWasmNames(defaultWasmPath());
    result.profiles = [];
    for (const c of cases) {
      const runs = c.runs.filter((r) => r.side === 'A' && r.profile && existsSync(join(profileDir, r.profile)));
      if (runs.length === 0) continue;
      const files = runs.map((r) => r.profile);
      // Only the measured window of each run: no start-up, connect or shutdown.
      const windows = runs.map((r) => (r.lg?.window_end_us > 0 ? { from: r.lg.window_start_us, to: r.lg.window_end_us } : undefined));
      const s = summarise(files.map((f) => JSON.parse(readFileSync(join(profileDir, f), 'utf8'))), names, windows);
      const text = formatSummary(s, 25, `A, ${c.label}: ${files.length} profile(s) merged, measured windows only`);
      result.profiles.push({
        case: c.name, label: c.label, files,
        summary: { ...s, functions: s.functions.slice(0, 25), files: s.files.slice(0, 25) }, text,
      });
    }
  }

  const md = markdown(result);
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, 'results.md'), md);
  writeFileSync(join(dir, 'ratios.svg'), svgChart(result));
  await new Promise((r) => log.end(r));
  process.stdout.write(`\n${md}\nwrote ${join(dir, 'results.json')}\n      ${join(dir, 'results.md')}\n      ${join(dir, 'ratios.svg')}\n`);
  const failed = cases.reduce((t, c) => t + c.summary.failed, 0);
  if (failed > 0) {
    process.stderr.write(`\nbench: ${failed} run(s) FAILED a check; see "Failures" above\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  killAll();
  process.stderr.write(`bench: ${error.stack ?? error}\n`);
  process.exit(2);
});
