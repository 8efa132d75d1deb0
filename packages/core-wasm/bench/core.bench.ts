// Throughput of the WASM core against the TypeScript reference model, in one run, plus the
// cost of creating a core (timed apart from throughput, as es-module-lexer's bench does).
// Run with `npx nx run core-wasm:bench` (builds first). Every measurement stops after a
// fixed number of rounds or its time budget, whichever comes first, so a run takes ~12 s.

import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { constants as K, createCore, type CoreApi, type CoreConfig, type Handle } from '@tcpserv/core-wasm';
import { createReferenceCore } from '@tcpserv/core-wasm/reference-model';

interface Implementation {
  readonly name: string;
  create(config: CoreConfig): CoreApi;
}

const WASM: Implementation = { name: 'wasm', create: (config) => createCore(config) };
const MODEL: Implementation = { name: 'model', create: (config) => createReferenceCore(config) };

/** nextEvent answers (slot << 3) | kind. */
const KIND_MASK = 7;

const BUDGET_MS = 1_000;
const WARMUP_MS = 200;
const MAX_ROUNDS = 100_000;

/** Collects garbage between measurements when node runs with --expose-gc. */
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => {});

/**
 * One round of a workload: `timed` does the measured work and reports how many operations
 * it did; `prepare` and `finish` (optional) run around it, off the clock.
 */
interface Round {
  prepare?(): void;
  timed(): number;
  finish?(): void;
}

/** A workload: the config of a fresh core, and how to set up rounds of work on it. */
interface Workload {
  readonly name: string;
  readonly config: CoreConfig;
  setup(core: CoreApi): Round;
}

/**
 * Runs rounds until `budgetMs` of timed work, twice that of wall time (untimed parts
 * included), or MAX_ROUNDS, whichever comes first; operations per second of timed work.
 */
function measure(round: Round, budgetMs: number): number {
  let operations = 0;
  let elapsed = 0;
  const wallStart = performance.now();
  for (let i = 0; i < MAX_ROUNDS && elapsed < budgetMs && performance.now() - wallStart < 2 * budgetMs; i++) {
    round.prepare?.();
    const start = performance.now();
    operations += round.timed();
    elapsed += performance.now() - start;
    round.finish?.();
  }
  return (operations / elapsed) * 1_000;
}

function fail(message: string): never {
  throw new Error(`bench: ${message}`);
}

function pushRead(chunkBytes: number): Workload {
  const perRound = 64;
  return {
    name: `push + read ${chunkBytes >= 1024 ? `${chunkBytes / 1024} KiB` : `${chunkBytes} B`}`,
    config: { maxSockets: 16, rxBufferSize: 16384 },
    setup(core) {
      const client = core.open(0) as Handle;
      const chunk = Uint8Array.from({ length: chunkBytes }, (_, i) => i & 0xff);
      const dst = new Uint8Array(chunkBytes);
      return {
        timed() {
          for (let i = 0; i < perRound; i++) {
            if (core.push(client, chunk, i) !== chunkBytes) fail('push took less than a chunk');
            if (core.read(client, dst) !== chunkBytes) fail('read returned less than a chunk');
          }
          return perRound;
        },
        // Drain the (coalesced) RECV as a server would, so the queue never builds up.
        finish: () => void core.nextEvent(),
      };
    },
  };
}

const openCloseCycle: Workload = {
  name: 'open + close + drain + release',
  config: { maxSockets: 1024, rxBufferSize: 4096 },
  setup(core) {
    const perRound = 64;
    return {
      timed() {
        for (let i = 0; i < perRound; i++) {
          const client = core.open(i) as Handle;
          if (client <= 0) fail(`open answered ${client}`);
          core.close(client);
          if ((core.nextEvent() & KIND_MASK) !== K.EV_CONNECT || (core.nextEvent() & KIND_MASK) !== K.EV_DISCONNECT) fail('unexpected events');
          if (core.release(client) !== K.OK) fail('release refused');
        }
        return perRound;
      },
    };
  },
};

/** Only the drain is timed; queueing the RECVs and emptying the rings happen off the clock. */
const eventDrain: Workload = {
  name: 'event drain (1024 RECVs a round)',
  config: { maxSockets: 1024, rxBufferSize: 64, stagingSize: 1024 },
  setup(core) {
    const clients = 1024;
    const handles = Array.from({ length: clients }, () => core.open(0) as Handle);
    for (let i = 0; i < clients; i++) core.nextEvent();
    const one = new Uint8Array(1);
    const dst = new Uint8Array(16);
    return {
      prepare() {
        for (const handle of handles) core.push(handle, one, 1);
      },
      timed() {
        let drained = 0;
        for (let event = core.nextEvent(); event !== K.EV_NONE && drained <= clients; event = core.nextEvent()) {
          if ((event & KIND_MASK) !== K.EV_RECV) fail(`event ${event} is no RECV`);
          drained++;
        }
        if (drained !== clients) fail(`drained ${drained} events, expected ${clients}`);
        return drained;
      },
      finish() {
        for (const handle of handles) core.read(handle, dst);
      },
    };
  },
};

function throughput(workload: Workload, impl: Implementation): number {
  collectGarbage();
  const round = workload.setup(impl.create(workload.config));
  measure(round, WARMUP_MS);
  return measure(round, BUDGET_MS);
}

/** Mean milliseconds per call of `create` over `count` calls (after one untimed call). */
function meanCreateMs(create: () => unknown, count: number): number {
  create();
  collectGarbage();
  const start = performance.now();
  for (let i = 0; i < count; i++) create();
  return (performance.now() - start) / count;
}

const format = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function main(): void {
  const started = performance.now();
  console.log(`core-wasm bench — node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown CPU'}`);
  console.log('');

  const instanceConfig: CoreConfig = { maxSockets: 1024, rxBufferSize: 16384 };
  const firstStart = performance.now();
  createCore(instanceConfig); // compiles core.wasm (once per process), instantiates, inits
  const firstMs = performance.now() - firstStart;
  const warmMs = meanCreateMs(() => createCore(instanceConfig), 20);
  const modelMs = meanCreateMs(() => createReferenceCore(instanceConfig), 20);
  console.log('instantiation (maxSockets 1024, rxBufferSize 16 KiB: 17 MiB of memory)');
  console.log(`  first createCore: compile + instantiate + init    ${format(firstMs, 2).padStart(9)} ms`);
  console.log(`  createCore, module already compiled              ${format(warmMs, 2).padStart(9)} ms`);
  console.log(`  createReferenceCore                              ${format(modelMs, 2).padStart(9)} ms`);
  console.log('');

  const workloads: Workload[] = [pushRead(64), pushRead(4096), openCloseCycle, eventDrain];
  const header = `${'operation'.padEnd(34)}${'wasm ops/s'.padStart(14)}${'model ops/s'.padStart(14)}${'wasm/model'.padStart(12)}`;
  console.log(header);
  console.log('-'.repeat(header.length));
  for (const workload of workloads) {
    const wasm = throughput(workload, WASM);
    const model = throughput(workload, MODEL);
    console.log(`${workload.name.padEnd(34)}${format(wasm).padStart(14)}${format(model).padStart(14)}${`${format(wasm / model, 2)}×`.padStart(12)}`);
  }
  console.log('');
  console.log(`(one op = one push + one read, one open…release cycle, or one event; ${format((performance.now() - started) / 1000, 1)} s)`);
}

main();
