/**
 * Fuzzing the binding.
 *
 * 1. With the socket double and fast-check's scheduler: peers' events (data, FIN, reset, reading
 *    our bytes) and the socket's own later events (write callbacks, 'drain', 'finish', 'close')
 *    are released in an order the scheduler picks, interleaved with API calls (accept, recv with
 *    timeouts 0 / short / forever, tryRecv, send, close, abort, destroy, setNotifyCallback,
 *    sends of detached buffers and recvs whose buffer is detached while they wait).
 * 2. With real sockets: random writes, pauses, FINs and resets from several peers against an
 *    echo loop.
 *
 * Invariants: every promise settles with an outcome the DESIGN's table allows; one CONNECT and at
 * most one DISCONNECT per client (exactly one once its socket closed); the app reads a prefix of
 * what the peer sent, in order — all of it once recv says end of stream; the socket gets exactly
 * the bytes each send reports; a send resolves only once the "kernel" took every byte of it and
 * a ClientClosedError's bytesSent never exceeds what the kernel took; a detached buffer is an
 * InvalidArgumentError that moves no byte; stats().live matches the clients not disconnected; the table is
 * empty after destroy.
 *
 * HARDENING_FUZZ_RUNS raises the number of runs (default 300 with the double — about a second —
 * and a tenth of it, at least 5, with real sockets).
 */
import fc from 'fast-check';
import { afterEach, describe, it } from 'vitest';
import {
  ClientClosedError, InvalidArgumentError, SendTimeoutError, ServerDestroyedError, TcpEvent, WAIT_FOREVER,
  createServer, type Client, type NotifyCallback, type TcpServer,
} from '../src/index.js';
import { adoptSocket } from '../src/server.js';
import { cleanUp } from './support/cleanup.js';
import { delay, randomBytes, sha256, waitFor } from './support/helpers.js';
import { openPeer, startEchoServer } from './support/peers.js';
import { FakeSocket, type Defer } from './support/socket-double.js';

const RUNS = Number(process.env.HARDENING_FUZZ_RUNS ?? 300);
const REAL_RUNS = Math.max(5, Math.ceil(RUNS / 10));

afterEach(cleanUp);

// ── Scenarios ────────────────────────────────────────────────────────────────────────────

type Timeout = 0 | 2 | -1;
type Variant = 'record' | 'drain' | 'throw' | 'async' | null;
type PeerStep =
  | { kind: 'send'; size: number }
  | { kind: 'end' }
  | { kind: 'reset' }
  | { kind: 'read'; n: number };
type AppStep =
  | { kind: 'accept'; timeout: Timeout }
  | { kind: 'recv'; peer: number; size: number; timeout: Timeout }
  | { kind: 'tryRecv'; peer: number; size: number }
  | { kind: 'send'; peer: number; size: number; timeout: Timeout }
  | { kind: 'sendDetached'; peer: number; size: number }
  | { kind: 'recvDetached'; peer: number; size: number }
  | { kind: 'close'; peer: number }
  | { kind: 'abort'; peer: number }
  | { kind: 'destroy' }
  | { kind: 'notify'; variant: Variant };

interface Scenario {
  maxClients: number;
  rxBufferSize: number;
  rejectMessage: boolean;
  allowHalfOpen: boolean;
  notify: Variant;
  peers: Array<{ kernelCapacity: number; steps: PeerStep[] }>;
  app: AppStep[];
}

const timeoutArb = fc.constantFrom<Timeout>(0, 2, WAIT_FOREVER as -1);
const variantArb = fc.constantFrom<Variant>('record', 'drain', 'throw', 'async', null);
const peerIndexArb = fc.integer({ min: 0, max: 2 });

const peerStepArb: fc.Arbitrary<PeerStep> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('send' as const), size: fc.integer({ min: 1, max: 300 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'end' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), n: fc.integer({ min: 1, max: 4000 }) }) },
);

const appStepArb: fc.Arbitrary<AppStep> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('accept' as const), timeout: timeoutArb }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('recv' as const), peer: peerIndexArb, size: fc.integer({ min: 1, max: 200 }), timeout: timeoutArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tryRecv' as const), peer: peerIndexArb, size: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), peer: peerIndexArb, size: fc.integer({ min: 1, max: 40_000 }), timeout: timeoutArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sendDetached' as const), peer: peerIndexArb, size: fc.integer({ min: 1, max: 4000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('recvDetached' as const), peer: peerIndexArb, size: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('close' as const), peer: peerIndexArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), peer: peerIndexArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'destroy' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('notify' as const), variant: variantArb }) },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  maxClients: fc.integer({ min: 1, max: 3 }),
  rxBufferSize: fc.constantFrom(64, 64, 128, 4096),
  rejectMessage: fc.boolean(),
  allowHalfOpen: fc.boolean(),
  notify: variantArb,
  peers: fc.array(fc.record({
    kernelCapacity: fc.constantFrom(16, 300, 20_000, 1_000_000),
    steps: fc.array(peerStepArb, { maxLength: 12 }),
  }), { minLength: 1, maxLength: 3 }),
  app: fc.array(appStepArb, { maxLength: 24 }),
});

// ── Running one scenario ─────────────────────────────────────────────────────────────────

interface PeerState {
  readonly index: number;
  readonly socket: FakeSocket;
  client: Client | undefined;
  adopted: 'admitted' | 'refused' | 'late' | undefined;
  accepted: boolean;
  /**
   * Every read (recv, tryRecv) in consumption order: a slot is taken when the call starts and
   * filled when it settles. That is the order the binding consumed bytes in: a recv either reads
   * at once (before anything its call may trigger, such as a RECV callback run re-entrantly) or
   * waits in a FIFO queue, and while one waits no other read takes bytes.
   */
  readonly reads: ReadSlot[];
  readonly events: TcpEvent[];
  readonly sends: Array<{ data: Buffer; outcome?: { sent: number } | { timedOut: number } | { closed: number } }>;
}

interface ReadSlot { result?: 'data' | 'zero' | 'null' | 'closed'; bytes?: Buffer }

interface Tracked { label: string; settled: boolean; problem?: string }

/** Detaches `buf`'s memory (as a transfer to a worker would): every view of it becomes empty. */
function detach(buf: Buffer): void {
  const memory = buf.buffer as ArrayBuffer; // Buffer.alloc gives each buffer its own memory
  structuredClone(memory, { transfer: [memory] });
}

/**
 * Bytes the socket must have been handed for the sends before `index` (all settled by now:
 * one send is written at a time, in order).
 */
// The kernel takes a socket's bytes in order, so once a later send claims bytes of its own, all
// of these were taken too (a claim of 0 needs no check: queued bytes lost in an abort are fine).
function bytesBefore(sends: PeerState['sends'], index: number): number {
  let n = 0;
  for (const send of sends.slice(0, index)) {
    const o = send.outcome;
    if (!o) return Number.NaN; // an earlier send has not settled: the FIFO order is broken
    n += 'sent' in o ? send.data.length : 'timedOut' in o ? o.timedOut : o.closed;
  }
  return n;
}

/** Peer bytes: position-dependent, so a reordering or a gap shows. */
function peerBytes(peer: number, offset: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = ((offset + i) * 7 + peer * 101 + ((offset + i) >> 8)) & 0xff;
  return out;
}

async function runScenario(s: fc.Scheduler, sc: Scenario): Promise<void> {
  const problems: string[] = [];
  const onErrors: unknown[] = [];
  const crashes: unknown[] = [];
  const server: TcpServer = await createServer({
    host: '127.0.0.1', port: 0, maxSockets: 3, maxClients: sc.maxClients, rxBufferSize: sc.rxBufferSize,
    closeTimeout: 5, allowHalfOpen: sc.allowHalfOpen, rejectMessage: sc.rejectMessage ? 'full\n' : undefined,
    onError: (error) => onErrors.push(error),
  });
  try {
    const defer: Defer = (run, label) => {
      void s.schedule(Promise.resolve(), label).then(run).catch((error: unknown) => crashes.push(error));
    };
    const peers: PeerState[] = sc.peers.map((p, index) => ({
      index,
      socket: new FakeSocket({ defer, kernelCapacity: p.kernelCapacity, name: `peer${index}` }),
      client: undefined, adopted: undefined, accepted: false, reads: [], events: [], sends: [],
    }));
    const byPort = new Map(peers.map((p) => [p.socket.remotePort, p]));
    const tracked: Tracked[] = [];
    let notifyGap = sc.notify === null;

    const track = (label: string, promise: Promise<unknown>, check: (result: { value?: unknown; error?: unknown }) => string | undefined): void => {
      const entry: Tracked = { label, settled: false };
      tracked.push(entry);
      promise.then(
        (value) => { entry.settled = true; entry.problem = check({ value }); },
        (error: unknown) => { entry.settled = true; entry.problem = check({ error }); },
      );
    };

    const fill = (slot: ReadSlot, buf: Uint8Array, result: number | null | 'closed'): void => {
      if (result === 'closed') slot.result = 'closed';
      else if (result === null) slot.result = 'null';
      else if (result === 0) slot.result = 'zero';
      else {
        slot.result = 'data';
        slot.bytes = Buffer.from(buf.subarray(0, result));
      }
    };

    const tryRecv = (peer: PeerState, client: Client, size: number, label: string): number | null | undefined => {
      const buf = Buffer.alloc(size);
      const slot: ReadSlot = {};
      peer.reads.push(slot);
      try {
        const n = client.tryRecv(buf);
        fill(slot, buf, n);
        return n;
      } catch (error) {
        fill(slot, buf, 'closed');
        if (!(error instanceof ClientClosedError)) problems.push(`${label}: tryRecv threw ${String(error)}`);
        return undefined;
      }
    };

    const notifyFor = (variant: Variant): NotifyCallback | null => {
      if (variant === null) return null;
      return (client, event) => {
        const peer = byPort.get(client.remotePort);
        if (!peer) {
          problems.push(`notify ${event} for an unknown client ${client.remotePort}`);
          return undefined;
        }
        peer.events.push(event);
        if (variant === 'drain' && event === TcpEvent.RECV) {
          for (let i = 0; i < 200 && tryRecv(peer, client, 64, 'notify drain'); i++);
        }
        if (variant === 'throw') throw new Error('callback boom');
        if (variant === 'async') {
          return s.schedule(Promise.resolve(), `async callback ${event}`).then(() => {
            if (event === TcpEvent.DISCONNECT) for (let i = 0; i < 200 && tryRecv(peer, client, 64, 'notify leftover'); i++);
          });
        }
        return undefined;
      };
    };
    server.setNotifyCallback(notifyFor(sc.notify));

    const adopt = (peer: PeerState): void => {
      const late = server.destroyed;
      server[adoptSocket](peer.socket as never);
      for (const c of server.clients()) if (c.remotePort === peer.socket.remotePort) peer.client = c;
      peer.adopted = late ? 'late' : peer.client ? 'admitted' : 'refused';
    };

    const peerStep = (peer: PeerState, step: PeerStep, sentSoFar: { n: number }): void => {
      switch (step.kind) {
        case 'send':
          peer.socket.peerSend(peerBytes(peer.index, sentSoFar.n, step.size));
          sentSoFar.n += step.size;
          return;
        case 'end':
          peer.socket.peerEnd();
          return;
        case 'reset':
          peer.socket.peerReset();
          return;
        case 'read':
          peer.socket.peerRead(step.n);
          return;
      }
    };

    let sendSerial = 0;
    const appStep = (step: AppStep): void => {
      const peer = 'peer' in step ? peers[step.peer % peers.length]! : undefined;
      const client = peer?.client;
      const label = JSON.stringify(step);
      switch (step.kind) {
        case 'accept':
          track(label, server.accept(step.timeout), ({ value, error }) => {
            if (error) return error instanceof ServerDestroyedError ? undefined : `rejected with ${String(error)}`;
            if (value === null) return step.timeout === WAIT_FOREVER ? 'WAIT_FOREVER accept resolved null' : undefined;
            const owner = byPort.get((value as Client).remotePort);
            if (!owner) return 'accepted an unknown client';
            if (owner.accepted) return `client of peer ${owner.index} accepted twice`;
            owner.accepted = true;
            return undefined;
          });
          return;
        case 'recv': {
          if (!peer || !client) return;
          const buf = Buffer.alloc(step.size);
          const slot: ReadSlot = {};
          peer.reads.push(slot);
          track(label, client.recv(buf, step.timeout).then((n) => {
            fill(slot, buf, n);
            return n;
          }, (error: unknown) => {
            fill(slot, buf, 'closed');
            throw error;
          }), ({ value, error }) => {
            if (error) return error instanceof ClientClosedError ? undefined : `rejected with ${String(error)}`;
            if (value === 0 && step.timeout === WAIT_FOREVER) return 'WAIT_FOREVER recv resolved 0';
            if (value !== null && (typeof value !== 'number' || value < 0 || value > step.size)) return `resolved ${String(value)}`;
            return undefined;
          });
          return;
        }
        case 'tryRecv':
          if (peer && client) tryRecv(peer, client, step.size, label);
          return;
        case 'send': {
          if (!peer || !client) return;
          const serial = ++sendSerial;
          const data = Buffer.alloc(step.size, serial & 0xff); // each send its own fill byte
          const record: PeerState['sends'][number] = { data };
          const index = peer.sends.push(record) - 1;
          const socket = peer.socket;
          track(label, client.send(data, step.timeout), ({ value, error }) => {
            // Only a send that claims bytes must come after every earlier one: a later send that
            // times out or fails without sending a byte may settle first.
            const before = bytesBefore(peer.sends, index);
            const claimed = error instanceof SendTimeoutError || error instanceof ClientClosedError ? error.bytesSent : error ? 0 : data.length;
            if (claimed > 0 && Number.isNaN(before)) return `claimed ${claimed} bytes before an earlier send settled`;
            if (error instanceof SendTimeoutError) {
              record.outcome = { timedOut: error.bytesSent + error.bytesQueued }; // both reach the socket
              if (step.timeout === WAIT_FOREVER) return 'WAIT_FOREVER send timed out';
              if (error.bytesSent < 0 || error.bytesSent >= data.length) return `bytesSent ${error.bytesSent} of ${data.length}`;
              if (error.bytesSent > 0 && socket.takenTotal < before + error.bytesSent) return `bytesSent ${error.bytesSent} but the kernel took ${socket.takenTotal - before}`;
              return undefined;
            }
            if (error) {
              if (!(error instanceof ClientClosedError)) return `rejected with ${String(error)}`;
              record.outcome = { closed: error.bytesSent };
              if (error.bytesSent < 0 || error.bytesSent > data.length) return `bytesSent ${error.bytesSent} of ${data.length}`;
              if (error.bytesSent > 0 && socket.takenTotal < before + error.bytesSent) return `ClientClosedError bytesSent ${error.bytesSent} but the kernel took ${socket.takenTotal - before}`;
              return undefined;
            }
            record.outcome = { sent: value as number };
            if (value !== data.length) return `resolved ${String(value)} for ${data.length} bytes`;
            // Confirmed means handed to the kernel, not just queued in the socket.
            if (socket.takenTotal < before + data.length) return `resolved with ${before + data.length - socket.takenTotal} bytes still queued in the socket`;
            return undefined;
          });
          return;
        }
        case 'sendDetached': {
          if (!client) return;
          const data = Buffer.alloc(step.size, 0xee);
          detach(data);
          let outcome: Promise<unknown>;
          try {
            outcome = client.send(data, 0);
          } catch (error) {
            outcome = Promise.reject(error);
          }
          // No byte of it may reach the socket: the "sends account for every written byte"
          // invariant below checks that.
          track(label, outcome, ({ error }) => (error instanceof InvalidArgumentError || error instanceof ClientClosedError
            ? undefined : `expected InvalidArgumentError, got ${String(error ?? 'a resolved send')}`));
          return;
        }
        case 'recvDetached': {
          if (!peer || !client) return;
          const buf = Buffer.alloc(step.size);
          const slot: ReadSlot = {};
          peer.reads.push(slot);
          const waiting = client.recv(buf, WAIT_FOREVER);
          // A recv that found bytes read them synchronously, before the detach: keep what it got.
          const before = Buffer.from(buf);
          detach(buf);
          track(label, waiting.then((n) => {
            fill(slot, before, n);
            return n;
          }, (error: unknown) => {
            fill(slot, before, 'closed');
            throw error;
          }), ({ error }) => (!error || error instanceof InvalidArgumentError || error instanceof ClientClosedError
            ? undefined : `rejected with ${String(error)}`));
          return;
        }
        case 'close':
          if (client) track(label, client.close(), ({ value, error }) => (error || value !== undefined ? `settled with ${String(error ?? value)}` : undefined));
          return;
        case 'abort':
          if (client) track(label, client.abort(), ({ value, error }) => (error || value !== undefined ? `settled with ${String(error ?? value)}` : undefined));
          return;
        case 'destroy':
          track(label, server.destroy(), ({ error }) => (error ? `rejected with ${String(error)}` : undefined));
          return;
        case 'notify':
          if (step.variant === null) notifyGap = true;
          server.setNotifyCallback(notifyFor(step.variant));
          return;
      }
    };

    // Each peer's steps in order (adopted first); app steps in order; interleaved by the scheduler.
    for (const [i, peer] of peers.entries()) {
      const sentSoFar = { n: 0 };
      s.scheduleSequence([
        { label: `adopt peer${i}`, builder: async () => adopt(peer) },
        ...sc.peers[i]!.steps.map((step) => ({ label: `peer${i} ${JSON.stringify(step)}`, builder: async () => peerStep(peer, step, sentSoFar) })),
      ]);
    }
    s.scheduleSequence(sc.app.map((step) => ({ label: `app ${JSON.stringify(step)}`, builder: async () => appStep(step) })));
    await s.waitIdle();

    // Quiescent (only real timers may still fire): the core's count matches the clients.
    if (!server.destroyed) {
      const admitted = peers.filter((p) => p.client);
      const live = admitted.filter((p) => !p.client!.disconnected).length;
      if (server.stats().live !== live) problems.push(`stats().live ${server.stats().live}, clients not disconnected ${live}`);
      if ([...server.clients()].length !== live) problems.push(`clients() lists ${[...server.clients()].length}, expected ${live}`);
      const refused = peers.filter((p) => p.adopted === 'refused').length;
      if (server.stats().rejected !== refused) problems.push(`stats().rejected ${server.stats().rejected}, refused ${refused}`);
    }

    // End of stream is answered again on every later call (until the app closes the client).
    for (const peer of peers) {
      const { client } = peer;
      if (!client || client.closed || !peer.reads.some((r) => r.result === 'null')) continue;
      const probe = Buffer.alloc(8);
      const again = client.tryRecv(probe);
      const againRecv = await client.recv(probe, 0);
      if (again !== null || againRecv !== null) problems.push(`peer${peer.index}: after end of stream tryRecv ${again}, recv(buf, 0) ${againRecv}`);
    }

    // Destroy, then let real timers (short timeouts, closeTimeout) and socket events run out.
    track('final destroy', server.destroy(), ({ error }) => (error ? `rejected with ${String(error)}` : undefined));
    for (let i = 0; i < 100 && tracked.some((t) => !t.settled); i++) {
      await s.waitIdle();
      await delay(2);
    }
    await s.waitIdle();

    // ── Invariants ──
    for (const t of tracked) {
      if (!t.settled) problems.push(`${t.label}: never settled`);
      else if (t.problem) problems.push(`${t.label}: ${t.problem}`);
    }
    const stats = server.stats();
    if (stats.live !== 0 || stats.usedSlots !== 0) problems.push(`after destroy: live ${stats.live}, usedSlots ${stats.usedSlots}`);
    for (const peer of peers) {
      const { socket } = peer;
      const name = `peer${peer.index}`;
      if (!socket.destroyed) problems.push(`${name}: socket not destroyed after server.destroy()`);
      if (socket.leaked) problems.push(`${name}: socket reset while its FIN was in progress: destroyed, never closed (handle leaked)`);
      else if (peer.adopted && !socket.closeEmitted) problems.push(`${name}: 'close' never emitted`);
      if (socket.misuse.length > 0) problems.push(`${name}: socket misuse ${socket.misuse.join(', ')}`);
      if (!peer.client) continue;
      if (!peer.client.disconnected) problems.push(`${name}: client not disconnected after destroy`);

      // Events: CONNECT first and once, DISCONNECT last and at most once (once, if never unobserved).
      const connects = peer.events.filter((e) => e === TcpEvent.CONNECT).length;
      const disconnects = peer.events.filter((e) => e === TcpEvent.DISCONNECT).length;
      if (connects > 1 || disconnects > 1) problems.push(`${name}: ${connects} CONNECT, ${disconnects} DISCONNECT`);
      if (connects === 1 && peer.events[0] !== TcpEvent.CONNECT) problems.push(`${name}: ${peer.events[0]} before CONNECT`);
      if (disconnects === 1 && peer.events.at(-1) !== TcpEvent.DISCONNECT) problems.push(`${name}: ${peer.events.at(-1)} after DISCONNECT`);
      if (!notifyGap && (connects !== 1 || disconnects !== 1)) problems.push(`${name}: ${connects} CONNECT, ${disconnects} DISCONNECT with the callback always set`);

      // Reads: a prefix of what the socket delivered; all of it once an accepted client saw end
      // of stream; nothing but end of stream (or closed) after that.
      const app = Buffer.concat(peer.reads.flatMap((r) => (r.bytes ? [r.bytes] : [])));
      const emitted = socket.emittedBytes();
      if (!emitted.subarray(0, app.length).equals(app) || app.length > emitted.length) {
        problems.push(`${name}: the app read ${app.length} bytes that are not a prefix of the ${emitted.length} delivered`);
      }
      if (!socket.sentBytes().subarray(0, emitted.length).equals(emitted)) problems.push(`${name}: the socket delivered bytes the peer never sent`);
      const firstNull = peer.reads.findIndex((r) => r.result === 'null');
      if (firstNull >= 0) {
        // In consumption order no bytes follow end of stream.
        const bytesAfter = peer.reads.slice(firstNull).filter((r) => r.result === 'data');
        if (bytesAfter.length > 0) problems.push(`${name}: ${bytesAfter.length} reads got bytes after end of stream`);
        if (peer.accepted && app.length !== emitted.length) {
          problems.push(`${name}: end of stream after ${app.length} of ${emitted.length} delivered bytes (${emitted.length - app.length} lost)`);
        }
      }

      // Sends: the socket got each send's reported bytes, in call order, and nothing else.
      const written = socket.writtenBytes();
      let at = 0;
      for (const [i, send] of peer.sends.entries()) {
        const o = send.outcome;
        // A send that failed with ClientClosedError may have had more bytes in the socket than
        // the kernel confirmed (bytesSent): those were written, then lost with the socket.
        const n = !o ? 0 : 'sent' in o ? send.data.length : 'timedOut' in o ? o.timedOut : Math.min(send.data.length, written.length - at);
        if (!written.subarray(at, at + n).equals(send.data.subarray(0, n))) {
          problems.push(`${name}: send ${i} (${JSON.stringify(o)}) does not match the socket's bytes at ${at}`);
          break;
        }
        at += n;
      }
      if (at !== written.length) problems.push(`${name}: the socket got ${written.length} bytes, the sends account for ${at}`);
    }
    for (const error of onErrors) {
      if (!(error instanceof Error) || error.message !== 'callback boom') problems.push(`onError got ${String(error)}`);
    }
    for (const error of crashes) problems.push(`an event handler threw: ${String((error as Error)?.stack ?? error)}`);
    if (problems.length > 0) throw new Error(`${problems.join('\n')}\nscheduler:\n${String(s)}`);
  } finally {
    await Promise.race([server.destroy(), delay(100)]);
  }
}

describe('binding fuzz with the socket double and fast-check\'s scheduler', () => {
  it(`keeps every invariant under reordered socket events and API calls (${RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(fc.scheduler(), scenarioArb, runScenario), { numRuns: RUNS });
  }, 600_000);
});

// ── Real sockets ─────────────────────────────────────────────────────────────────────────

type RealStep = { kind: 'write'; size: number } | { kind: 'pause'; ms: number };
interface RealPeer { steps: RealStep[]; finish: 'end' | 'reset' | 'resetAfterEcho' }

const realScenarioArb = fc.record({
  rxBufferSize: fc.constantFrom(64, 1024, 16384),
  recvSize: fc.constantFrom(1, 7, 1000, 65536),
  peers: fc.array(fc.record({
    steps: fc.array(fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('write' as const), size: fc.integer({ min: 1, max: 70_000 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 15 }) }) },
    ), { minLength: 1, maxLength: 6 }),
    finish: fc.constantFrom<RealPeer['finish']>('end', 'end', 'reset', 'resetAfterEcho'),
  }), { minLength: 2, maxLength: 4 }),
});

describe('binding fuzz with real sockets', () => {
  it(`echoes every peer's bytes and cleans up under random writes, pauses, FINs and resets (${REAL_RUNS} runs)`, async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(realScenarioArb, async (sc) => {
      run++;
      const problems: string[] = [];
      const { server, port, loops, tracker } = await startEchoServer({ rxBufferSize: sc.rxBufferSize }, { recvSize: () => sc.recvSize });
      const events = new Map<number, TcpEvent[]>();
      server.setNotifyCallback((client, event) => {
        events.set(client.id, [...(events.get(client.id) ?? []), event]);
      });
      try {
        await Promise.all(sc.peers.map(async (spec, i) => {
          const peer = await openPeer(port);
          const sent: Buffer[] = [];
          for (const step of spec.steps) {
            if (step.kind === 'pause') await delay(step.ms);
            else {
              const bytes = randomBytes(step.size, run * 1000 + i * 10 + sent.length + 1);
              sent.push(bytes);
              if (!peer.socket.write(bytes)) await new Promise((resolve) => peer.socket.once('drain', resolve));
            }
          }
          const all = Buffer.concat(sent);
          if (spec.finish === 'resetAfterEcho') {
            await waitFor(() => peer.received().length >= all.length, `peer ${i}: its echo`, 10_000)
              .catch((error: Error) => problems.push(error.message));
          }
          if (spec.finish === 'end') peer.socket.end();
          else peer.socket.resetAndDestroy();
          const { fin } = await Promise.race([peer.closed, delay(10_000).then(() => ({ fin: 'timeout' as const }))]);
          const got = peer.received();
          if (fin === 'timeout') problems.push(`peer ${i}: not closed after 10 s (${got.length} of ${all.length} bytes echoed)`);
          if (spec.finish === 'end' && (fin !== true || got.length !== all.length || sha256(got) !== sha256(all))) {
            problems.push(`peer ${i} (${spec.finish}): got ${got.length} of ${all.length} bytes, fin ${String(fin)}, same ${sha256(got) === sha256(all)}`);
          }
          if (spec.finish !== 'end' && !all.subarray(0, got.length).equals(got)) problems.push(`peer ${i}: echo is not a prefix of what it sent`);
        }));
        await waitFor(() => server.stats().live === 0 && server.stats().usedSlots === 0, 'every client gone', 10_000)
          .catch((error: Error) => problems.push(`${error.message}: ${JSON.stringify(server.stats())}`));
        const ends = await Promise.race([Promise.all(loops), delay(10_000).then(() => ['echo loops did not finish'])]);
        for (const end of ends) if (end !== 'eof' && end !== 'closed') problems.push(`echo loop: ${end}`);
        const stats = server.stats();
        if (stats.opened !== sc.peers.length || stats.closed !== sc.peers.length) problems.push(`opened ${stats.opened}, closed ${stats.closed}`);
        for (const [id, list] of events) {
          const c = list.filter((e) => e === TcpEvent.CONNECT).length;
          const d = list.filter((e) => e === TcpEvent.DISCONNECT).length;
          if (c !== 1 || d !== 1 || list[0] !== TcpEvent.CONNECT || list.at(-1) !== TcpEvent.DISCONNECT) {
            problems.push(`client ${id}: events ${list.join(',')}`);
          }
        }
        if (events.size !== sc.peers.length) problems.push(`${events.size} clients notified, ${sc.peers.length} peers`);
        for (const [kind, allowed] of [['recv', ['number', 'null', 'ClientClosedError']], ['send', ['number', 'ClientClosedError']]] as const) {
          const bad = Object.keys(tracker.of(kind)).filter((o) => !(allowed as readonly string[]).includes(o));
          if (bad.length > 0) problems.push(`${kind} outcomes ${bad.join(',')}`);
        }
      } finally {
        await server.destroy();
      }
      if (tracker.pending !== 0) problems.push(`${tracker.pending} calls never settled`);
      if (problems.length > 0) throw new Error(problems.join('\n'));
    }), { numRuns: REAL_RUNS, endOnFailure: true }); // real timing: shrinking would not replay
  }, 600_000);
});
