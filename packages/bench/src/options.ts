// The bench's command line: flags, their defaults, and the help text.
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CASES, type CaseDef } from './cases.js';

/** Every option of a bench run, resolved. */
export interface BenchOptions {
  quick: boolean;
  reps: number;
  duration: number;
  warmup: number;
  cases: CaseDef[];
  /** The tcpserver CLI's bin/tcpserver.js (default: ../cli's). */
  cli: string;
  /** A's base command (each case appends its flags), or undefined for the CLI. */
  a?: string;
  /** B's command for the plain ping-pong cases (node:net pipe by default). */
  b?: string;
  standin: boolean;
  aName?: string;
  bName?: string;
  logFormat: 'text' | 'json';
  pin: 'split' | 'same' | 'none';
  serverCpu: number;
  loadgenCpu: number;
  profile: boolean;
  maxOther: number;
  retries: number;
  out: string;
  /** --node PATH and --node-version V, in the order given; none = the machine's Node. */
  nodes: { spec: string; kind: 'path' | 'version' }[];
  /** 'stream' forces the binding's 'data' fallback in A (TCPSERV_READ_PATH=stream). */
  readPath: 'auto' | 'stream';
}

export const HELP = `Usage: node dist/bench.js [options]        (or: npx nx run bench:bench -- [options])

Benchmarks A = tcpserver echo against B = the plain-Node equivalent (node:net pipe,
readline, a length parser, node:tls, node:cluster) on 127.0.0.1, alternating A B A B per
case, and writes results/<time>/{results.json,results.md,ratios.svg,servers.log}.

Options:
  --quick              ≈ 2 min: every case, 2 reps, 0.3 s warm-up, 1 s measured, no repeats
  --reps N             repetitions per case and side                          (5; quick 2)
  --duration S         measured seconds per run                               (5; quick 1)
  --warmup S           warm-up seconds per run (idle cases: at least 2/rate)   (1; quick 0.3)
  --cases LIST         comma-separated subset of: ${CASES.map((c) => c.name).join(', ')}
                       (all)
  --node PATH          run the servers on this Node binary (repeatable)
  --node-version V     run the servers on Node V from npm (npx -y node@V; repeatable or
                       comma-separated; "system" = the machine's). Each Node version gets its
                       own section in the report, e.g. --node-version system,24   (system)
  --cli PATH           the tcpserver CLI to measure: its bin/tcpserver.js       (packages/cli's)
  --a CMD              A's base command; {port} {host} {maxClients} are filled in, and each case
                       appends its flags (--framing …, --tls-cert {cert} --tls-key {key}, --workers N)
                       (default: the tcpserver CLI if packages/cli is built, else the stand-in)
  --standin            A = the stand-in (dist/standin-echo.js) even if the CLI is built; it accepts
                       every case's flags, so the harness can be tried before the CLI has them
  --b CMD              B's command in the plain ping-pong cases (default: node dist/net-echo.js)
  --a-name / --b-name  labels in the report
  --log-format F       text or json: the default A command's --log-format     (text)
  --read-path MODE     auto, or stream: A runs with TCPSERV_READ_PATH=stream   (auto)
  --pin MODE           split: servers on --server-cpu, loadgen on --loadgen-cpu;
                       same: both on --server-cpu; none: no pinning            (split if ≥ 2 CPUs)
                       (the multi-core cases pin themselves: mc100 none, mc100pin split)
  --server-cpu N       (0)      --loadgen-cpu N  (1)
  --max-other PCT      a run during which the rest of the machine used more than PCT % of
                       a CPU ("other CPU %") is noisy and done again              (30)
  --retries N          how often a noisy run is done again; the last one is kept  (1; quick 0)
  --profile            run A under node --cpu-prof; profiles go to results/<time>/profiles/
                       and are summarised (self time, WebAssembly share) in the report
  --out DIR            results folder                                          (packages/bench/results)
  -h, --help           this help
`;

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n\n${HELP}`);
  process.exit(2);
}

/** Parses argv; exits 2 with the help text on a bad option, 0 after --help. */
export function parseOptions(argv: string[], pkgDir: string): BenchOptions {
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
        node: { type: 'string', multiple: true },
        'node-version': { type: 'string', multiple: true },
        cli: { type: 'string' },
        a: { type: 'string' },
        b: { type: 'string' },
        standin: { type: 'boolean', default: false },
        'a-name': { type: 'string' },
        'b-name': { type: 'string' },
        'log-format': { type: 'string', default: 'text' },
        'read-path': { type: 'string', default: 'auto' },
        pin: { type: 'string' },
        'server-cpu': { type: 'string', default: '0' },
        'loadgen-cpu': { type: 'string', default: '1' },
        profile: { type: 'boolean', default: false },
        'max-other': { type: 'string', default: '30' },
        retries: { type: 'string' },
        out: { type: 'string', default: join(pkgDir, 'results') },
        help: { type: 'boolean', short: 'h', default: false },
      },
      tokens: true,
    });
  } catch (error) {
    usage((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const num = (name: string, value: string | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) usage(`--${name} must be a number ≥ ${min} (got "${value}")`);
    return n;
  };
  const reps = num('reps', v.reps, v.quick ? 2 : 5, 1);
  if (!Number.isInteger(reps)) usage('--reps must be an integer');
  const names = v.cases?.split(',').map((s) => s.trim()) ?? CASES.map((c) => c.name);
  const cases = names.map((name) => CASES.find((x) => x.name === name) ?? usage(`unknown case "${name}" (known: ${CASES.map((x) => x.name).join(', ')})`));
  const logFormat = v['log-format'];
  if (logFormat !== 'text' && logFormat !== 'json') usage('--log-format must be text or json');
  const readPath = v['read-path'];
  if (readPath !== 'auto' && readPath !== 'stream') usage('--read-path must be auto or stream');
  const cpus = os.availableParallelism?.() ?? os.cpus().length;
  const pin = v.pin ?? (cpus >= 2 ? 'split' : 'none');
  if (pin !== 'split' && pin !== 'same' && pin !== 'none') usage('--pin must be split, same or none');
  const serverCpu = num('server-cpu', v['server-cpu'], 0, 0);
  const loadgenCpu = num('loadgen-cpu', v['loadgen-cpu'], 1, 0);
  if (pin === 'split' && (serverCpu >= cpus || loadgenCpu >= cpus || serverCpu === loadgenCpu)) {
    usage(`--pin split needs two different CPUs below ${cpus} (got ${serverCpu} and ${loadgenCpu})`);
  }
  if (pin === 'same' && serverCpu >= cpus) usage(`--server-cpu must be below ${cpus}`);
  // --node and --node-version keep the order they were given in.
  const nodes: BenchOptions['nodes'] = [];
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option' || t.value === undefined) continue;
    if (t.name === 'node') nodes.push({ spec: t.value, kind: 'path' });
    if (t.name === 'node-version') for (const s of t.value.split(',')) if (s.trim()) nodes.push({ spec: s.trim(), kind: 'version' });
  }
  return {
    quick: v.quick,
    reps,
    duration: num('duration', v.duration, v.quick ? 1 : 5, 0.1),
    warmup: num('warmup', v.warmup, v.quick ? 0.3 : 1, 0),
    cases,
    cli: resolve(v.cli ?? join(pkgDir, '../cli/bin/tcpserver.js')),
    a: v.a,
    b: v.b,
    standin: v.standin,
    aName: v['a-name'],
    bName: v['b-name'],
    logFormat,
    pin,
    serverCpu,
    loadgenCpu,
    profile: v.profile,
    maxOther: num('max-other', v['max-other'], 30, 0),
    retries: num('retries', v.retries, v.quick ? 0 : 1, 0),
    out: resolve(v.out),
    nodes,
    readPath,
  };
}
