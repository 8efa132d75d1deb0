// The benchmark's cases: what the load generator does, which servers run side by side,
// and which `tcpserver echo` flag each case needs.

/** The node:net / node:tls / node:cluster peers (B sides), each a script in src/. */
export type PeerName = 'pipe' | 'line' | 'len' | 'tls' | 'cluster';

/** A `tcpserver echo` flag that some cases need and that the CLI may not have yet. */
export type CliFeature = '--framing' | '--tls-cert' | '--workers';

/** One side of a case: the tcpserv server (with extra flags) or a plain-Node peer. */
export interface SideDef {
  /** 'A' and 'B' in every case; the multi-core cases add 'A1'. */
  key: string;
  /** Label in the report. */
  name: string;
  /** tcpserv sides print stats lines: their byte counters are checked against the loadgen's. */
  tcpserv: boolean;
  /** tcpserv sides: flags appended to A's command ({cert}, {key} are filled in). */
  flags?: string;
  /** Peer sides: which script. */
  peer?: PeerName;
  /** Processes expected to serve (workers; 0 = the process itself serves). */
  workers: number;
}

export interface CaseDef {
  name: string;
  label: string;
  conns: number;
  /** Bytes per message on the wire (with its '\n' or 4-byte header). */
  size: number;
  /** Messages per second per connection; 0 = flat out. */
  rate: number;
  /** Messages in flight per connection. */
  pipeline: number;
  framing: 'raw' | 'line' | 'length';
  tls: boolean;
  /** Report KB per connection (the idle case). */
  memory?: boolean;
  /** The CLI flag A needs; the case is skipped (loudly) when `tcpserver echo --help` lacks it. */
  needs?: CliFeature;
  /** Pinning for this case, whatever --pin says (the multi-core cases). */
  pin?: 'split' | 'none';
  /** Multi-core case: a scaling table in the report. */
  multicore?: boolean;
  sides: SideDef[];
}

const A = (flags = '', name = 'tcpserver echo'): SideDef => ({ key: 'A', name, tcpserv: true, flags, workers: 0 });
const B = (peer: PeerName, name: string, workers = 0): SideDef => ({ key: 'B', name, tcpserv: false, peer, workers });

/** The multi-core trio: 2 workers, 1 worker, and node:cluster with 2 workers. */
function multicoreSides(): SideDef[] {
  return [
    { key: 'A', name: 'tcpserver echo --workers 2', tcpserv: true, flags: '--workers 2', workers: 2 },
    { key: 'A1', name: 'tcpserver echo --workers 1', tcpserv: true, flags: '--workers 1', workers: 1 },
    B('cluster', 'node:cluster pipe() × 2 workers', 2),
  ];
}

const raw = { rate: 0, pipeline: 1, framing: 'raw', tls: false } as const;

export const CASES: readonly CaseDef[] = [
  { name: 'pp1', label: 'ping-pong 1 × 64 B', conns: 1, size: 64, ...raw, sides: [A(), B('pipe', 'node:net pipe')] },
  { name: 'pp100', label: 'ping-pong 100 × 64 B', conns: 100, size: 64, ...raw, sides: [A(), B('pipe', 'node:net pipe')] },
  { name: 'pp1000', label: 'ping-pong 1000 × 64 B', conns: 1000, size: 64, ...raw, sides: [A(), B('pipe', 'node:net pipe')] },
  { name: 'big50', label: 'ping-pong 50 × 16 KiB', conns: 50, size: 16384, ...raw, sides: [A(), B('pipe', 'node:net pipe')] },
  {
    name: 'idle10k', label: 'idle 10000 × 64 B @ 1/s', conns: 10000, size: 64, ...raw, rate: 1, memory: true,
    sides: [A(), B('pipe', 'node:net pipe')],
  },
  {
    name: 'line100p16', label: 'lines 100 × 16 in flight × 64 B', conns: 100, size: 64, rate: 0, pipeline: 16, framing: 'line', tls: false,
    needs: '--framing', sides: [A('--framing line', 'tcpserver echo --framing line'), B('line', 'node:net + readline')],
  },
  {
    name: 'len100p16', label: 'length:4 100 × 16 in flight × 1 KiB', conns: 100, size: 1024 + 4, rate: 0, pipeline: 16, framing: 'length', tls: false,
    needs: '--framing', sides: [A('--framing length:4', 'tcpserver echo --framing length:4'), B('len', 'node:net length parser')],
  },
  {
    name: 'tls100', label: 'TLS 1.3 ping-pong 100 × 1 KiB', conns: 100, size: 1024, rate: 0, pipeline: 1, framing: 'raw', tls: true,
    needs: '--tls-cert', sides: [A('--tls-cert {cert} --tls-key {key}', 'tcpserver echo --tls-…'), B('tls', 'node:tls pipe')],
  },
  {
    name: 'mc100', label: 'multi-core 100 × 64 B, unpinned', conns: 100, size: 64, ...raw, needs: '--workers', pin: 'none', multicore: true,
    sides: multicoreSides(),
  },
  {
    name: 'mc100pin', label: 'multi-core 100 × 64 B, servers on 1 CPU, loadgen on the other', conns: 100, size: 64, ...raw,
    needs: '--workers', pin: 'split', multicore: true, sides: multicoreSides(),
  },
];
