// The shapes the bench passes around: the load generator's JSON line, a server's stats
// line, one run's record.

/** One line of JSON from `build/loadgen` (see src/loadgen.c, print_json). */
export interface LoadgenResult {
  conns: number;
  size: number;
  pipeline: number;
  framing: 'raw' | 'line' | 'length-prefix';
  tls: boolean;
  tls_version: string;
  tls_cipher: string;
  rate: number;
  seconds: number;
  warmup_s: number;
  msgs: number;
  msgs_per_s: number;
  MB_per_s: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  mean_us: number;
  msgs_total: number;
  bytes_sent: number;
  bytes_recv: number;
  errors: number;
  mismatches: number;
  excess_bytes: number;
  undrained: number;
  close_timeouts: number;
  connect_failures: number;
  connect_attempts: number;
  connect_retries: number;
  connect_s: number;
  echoed_conns: number;
  all_echoed_s: number;
  rate_skipped: number;
  loadgen_cpu_s: number;
  loadgen_cpu_pct: number;
  /** Summed over every `--server-pid`; −1 when not measured. */
  server_cpu_s: number;
  server_cpu_pct: number;
  server_pids: { pid: number; cpu_s: number }[];
  machine_busy_s: number;
  machine_steal_s: number;
  window_start_us: number;
  window_end_us: number;
  first_error: string;
}

/** A server's `stats opened=… rejected=… closed=… bytesIn=… bytesOut=…` line. */
export interface ServerStats {
  opened: number;
  rejected: number;
  closed: number;
  bytesIn: number;
  bytesOut: number;
}

/** Everything measured and checked in one run of one side of one case. */
export interface RunRecord {
  case: string;
  side: string;
  rep: number;
  port: number;
  cmd: string;
  ok: boolean;
  failures: string[];
  lg: LoadgenResult | null;
  /** The final stats line at SIGTERM (tcpserv sides only). */
  stats: ServerStats | null;
  /** The stats line printed on SIGUSR2 while running (tcpserv sides only). */
  statsUsr2: ServerStats | null;
  /** The server's processes: its own PID first, then its workers. */
  pids: number[];
  /** VmRSS of the idle server before the load generator started (kB, all processes). */
  idleKB?: number | null;
  /** VmHWM after the run (kB, summed over the server's processes). */
  hwmKB?: number | null;
  /** Established client connections held by each process, sampled in mid-window. */
  clientsByPid?: Record<string, number>;
  /** The server's lines that mention workers or clients per worker, as printed. */
  workerLines?: string[];
  /** What the server's `read path:` line said in this run, if it printed one. */
  readPath?: string | null;
  bytesChecked?: boolean;
  profile?: string;
  noisy?: boolean;
  attempts?: number;
}

/** A Node binary the servers run on. */
export interface NodeRuntime {
  /** How it was asked for: 'system', a version ('24') or a path. */
  label: string;
  path: string;
  /** `process.version` of that binary, e.g. v24.21.0. */
  version: string;
}

/** One side of a case as it ran: its label and command. */
export interface SideRun {
  key: string;
  name: string;
  tcpserv: boolean;
  cmd: string;
}

/** Median, min and max of a metric over the runs that passed. */
export interface Spread {
  median: number | null;
  min: number | null;
  max: number | null;
  n: number;
}

/** A ratio of two sides' medians, with the min–max of the paired per-repetition ratios. */
export type Ratio = Spread;

/** Per side and metric the spread; per pair of sides and metric the ratio. */
export interface CaseSummary {
  sides: Record<string, Record<string, Spread>>;
  /** 'A/B', and in the multi-core cases also 'A1/B' and 'A/A1' (the scaling factor). */
  ratios: Record<string, Record<string, Ratio>>;
  runs: Record<string, number>;
  failed: number;
  noisy: number;
}

/** One case on one Node version: every run, and their summary. */
export interface CaseResult {
  name: string;
  label: string;
  conns: number;
  size: number;
  pipeline: number;
  framing: string;
  tls: boolean;
  memory: boolean;
  multicore: boolean;
  pin: string;
  sides: SideRun[];
  runs: RunRecord[];
  /** Runs done again because the machine was busy (not in the medians). */
  discarded: RunRecord[];
  summary: CaseSummary;
}

/** A profile summary of one case's A runs. */
export interface ProfileEntry {
  case: string;
  label: string;
  files: string[];
  summary: { busyMs: number; wasmShare: number; coreShare: number; [k: string]: unknown };
  text: string;
}

/** Everything measured on one Node version. */
export interface NodeResult {
  node: NodeRuntime;
  /** What A is: the CLI, the stand-in, or a command given with --a. */
  aName: string;
  aTemplate: string;
  /** The `tcpserver echo --help` flags the cases look for that this CLI has. */
  cliFeatures: string[];
  /** false: A is the stand-in or a command given with --a, and is assumed to take every flag. */
  cliFeaturesProbed: boolean;
  /** The server's own `read path: …` debug line, or null when it prints none. */
  readPath: string | null;
  skipped: { case: string; label: string; why: string }[];
  cases: CaseResult[];
  profiles?: ProfileEntry[];
}

/** The whole results.json. */
export interface BenchResult {
  tool: string;
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel: string; kernel: string; memMB: number; benchNode: string };
  config: {
    quick: boolean; reps: number; duration: number; warmup: number; pin: string; serverCpu: number; loadgenCpu: number;
    profile: boolean; nofile: number; host: string; maxOther: number; retries: number; readPath: string;
  };
  loadgen: { tls: boolean; tlsMissing?: string };
  nodes: NodeResult[];
}
