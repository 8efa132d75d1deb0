// Behaviour of every CoreApi operation and status code. Each case runs against the
// implementations CORE_IMPL selects (default: the WASM core and the reference model).

import { describe, expect, it } from 'vitest';
import {
  constants as K, CoreConfigError, describeConfigStatus, resolveCoreConfig, type CoreApi, type CoreConfig, type Handle,
} from '@tcpserv/core-wasm';
import { selectedImplementations } from './implementations.js';
import { asHandle, countingBytes, drainEvents, events, info, open, packedEvent, readExactly } from './helpers.js';

/** 4 slots (slotBits 2, so handles are generation·4 + slot), 64-byte rings. */
const SMALL: CoreConfig = { maxSockets: 4, rxBufferSize: 64, highWatermark: 48, lowWatermark: 16, stagingSize: 1024 };
const T0 = 1_000;

describe.each(selectedImplementations().map((impl) => [impl.name, impl] as const))('%s core', (_, impl) => {
  const make = (overrides: Partial<CoreConfig> = {}): CoreApi => impl.create({ ...SMALL, ...overrides });

  /** A core with one open client, its CONNECT drained and the client accepted. */
  function withClient(overrides: Partial<CoreConfig> = {}): { core: CoreApi; client: Handle } {
    const core = make(overrides);
    const client = open(core, T0);
    core.accept();
    drainEvents(core);
    return { core, client };
  }

  describe('config', () => {
    const refusals: Array<[string, Partial<CoreConfig>, number]> = [
      ['maxSockets 0', { maxSockets: 0 }, K.ERR_CONFIG_MAX_SOCKETS],
      ['maxSockets above 65536', { maxSockets: K.MAX_SOCKETS + 1, maxClients: 1 }, K.ERR_CONFIG_MAX_SOCKETS],
      ['maxClients 0', { maxClients: 0 }, K.ERR_CONFIG_MAX_CLIENTS],
      ['maxClients above maxSockets', { maxClients: 5 }, K.ERR_CONFIG_MAX_CLIENTS],
      ['rxBufferSize not a power of two', { rxBufferSize: 96, highWatermark: 48, lowWatermark: 16 }, K.ERR_CONFIG_RX_BUFFER],
      ['rxBufferSize below 64', { rxBufferSize: 32, highWatermark: 24, lowWatermark: 8 }, K.ERR_CONFIG_RX_BUFFER],
      ['rxBufferSize above 64 MiB', { rxBufferSize: 2 * K.MAX_RX_BUFFER }, K.ERR_CONFIG_RX_BUFFER],
      ['lowWatermark negative', { lowWatermark: -1 }, K.ERR_CONFIG_WATERMARKS],
      ['lowWatermark equal to highWatermark', { lowWatermark: 48 }, K.ERR_CONFIG_WATERMARKS],
      ['highWatermark above rxBufferSize', { highWatermark: 65 }, K.ERR_CONFIG_WATERMARKS],
      ['stagingSize below 1 KiB', { stagingSize: 1008 }, K.ERR_CONFIG_STAGING],
      ['stagingSize not a multiple of 16', { stagingSize: 1030 }, K.ERR_CONFIG_STAGING],
      ['stagingSize above 16 MiB', { stagingSize: K.MAX_STAGING + 16 }, K.ERR_CONFIG_STAGING],
    ];

    it.each(refusals)('refuses %s with CoreConfigError and the described status', (_, overrides, status) => {
      const config = { ...SMALL, ...overrides };
      let thrown: unknown;
      try {
        impl.create(config);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CoreConfigError);
      expect(thrown).toMatchObject({
        name: 'CoreConfigError',
        code: 'ERR_TCPSERV_CORE_CONFIG',
        status,
        message: describeConfigStatus(status, resolveCoreConfig(config)),
      });
    });

    it('names the offending setting and the rule in each message', () => {
      const config = resolveCoreConfig({ ...SMALL, rxBufferSize: 96 });
      expect(describeConfigStatus(K.ERR_CONFIG_RX_BUFFER, config))
        .toBe('rxBufferSize must be a power of two from 64 to 67108864 (got 96)');
      expect(() => make({ maxSockets: 1.5 })).toThrow(new CoreConfigError(K.ERR_CONFIG_MAX_SOCKETS, 'maxSockets', 'maxSockets must be an integer from 1 to 65536 (got 1.5)'));
      expect(() => make({ ringOrigin: -1 })).toThrow('ringOrigin must be an integer from 0 to 4294967295 (got -1)');
    });

    it('defaults maxClients to maxSockets and the watermarks to 3/4 and 1/4 of the ring', () => {
      const core = impl.create({ maxSockets: 3, rxBufferSize: 128 });
      expect(core.config).toEqual({
        maxSockets: 3, maxClients: 3, rxBufferSize: 128, highWatermark: 96, lowWatermark: 32,
        stagingSize: 65536, ringOrigin: 0, debug: resolveCoreConfig({ maxSockets: 3 }).debug,
      });
      expect(core.stats().maxClients).toBe(3);
    });

    it('accepts the extreme legal settings', () => {
      expect(() => impl.create({ maxSockets: 1, rxBufferSize: 64, highWatermark: 64, lowWatermark: 0, stagingSize: 1024 })).not.toThrow();
      expect(() => impl.create({ maxSockets: 2, rxBufferSize: 64, highWatermark: 1, lowWatermark: 0, stagingSize: K.MAX_STAGING })).not.toThrow();
    });

    it('starts empty', () => {
      const core = make();
      expect(core.stats()).toEqual({
        live: 0, usedSlots: 0, pendingAccept: 0, paused: 0, queuedEvents: 0, maxClients: 4,
        opened: 0, rejected: 0, closed: 0, bytesIn: 0, bytesOut: 0,
      });
      expect(core.accept()).toBe(0);
      expect(core.nextEvent()).toBe(K.EV_NONE);
    });
  });

  describe('#open', () => {
    it('issues generation-1 handles in slot order, with serials 1, 2, 3 and a CONNECT each', () => {
      const core = make();
      expect([open(core, T0), open(core, T0 + 1), open(core, T0 + 2)]).toEqual([4, 5, 6]);
      expect(info(core, 5)).toEqual({
        serial: 2, state: K.STATE_OPEN, flags: K.FLAG_IN_ACCEPT_QUEUE, rxUsed: 0,
        bytesIn: 0, bytesOut: 0, connectTime: T0 + 1, lastActivity: T0 + 1,
      });
      expect(core.stats()).toMatchObject({ live: 3, usedSlots: 3, pendingAccept: 3, queuedEvents: 3, opened: 3 });
      expect(drainEvents(core)).toEqual(events(core, ['CONNECT', 4], ['CONNECT', 5], ['CONNECT', 6]));
    });

    it('uses one slot bit for a one-slot table', () => {
      expect(impl.create({ ...SMALL, maxSockets: 1, maxClients: 1 }).open(T0)).toBe(2);
    });

    it('uses ceil(log2 maxSockets) slot bits', () => {
      const core = impl.create({ ...SMALL, maxSockets: 5 });
      expect(Array.from({ length: 5 }, () => open(core, T0))).toEqual([8, 9, 10, 11, 12]);
    });

    it('refuses with ERR_LIMIT once maxClients are live, counting the rejection', () => {
      const core = make({ maxClients: 2 });
      open(core, T0);
      open(core, T0);
      const before = core.stats();
      expect(open(core, T0)).toBe(K.ERR_LIMIT);
      expect(core.stats()).toEqual({ ...before, rejected: 1 });
    });

    it('refuses with ERR_TABLE_FULL when closed clients not yet freed hold the other slots', () => {
      const core = make({ maxClients: 2 });
      core.close(open(core, T0));
      core.close(open(core, T0));
      open(core, T0);
      core.close(open(core, T0));
      // Three closed clients (none released) and one open: every slot in use, one client live.
      expect(core.stats()).toMatchObject({ live: 1, usedSlots: 4, maxClients: 2 });
      expect(open(core, T0)).toBe(K.ERR_TABLE_FULL);
      expect(core.stats().rejected).toBe(1);
    });

    it('checks the admission limit before the table', () => {
      const core = make({ maxSockets: 2, maxClients: 2 });
      open(core, T0);
      open(core, T0);
      expect(open(core, T0)).toBe(K.ERR_LIMIT);
    });
  });

  describe('#close', () => {
    it('answers ERR_STALE for handles never issued', () => {
      const core = make();
      open(core, T0);
      for (const handle of [0, -1, 1, 3, 5, 8, 2 ** 31 - 1, -(2 ** 31)]) expect(core.close(asHandle(handle))).toBe(K.ERR_STALE);
    });

    it('closes once: DISCONNECT queued, live down, closed up; then ERR_CLOSED', () => {
      const { core, client } = withClient();
      expect(core.close(client)).toBe(K.OK);
      expect(core.stats()).toMatchObject({ live: 0, usedSlots: 1, closed: 1, queuedEvents: 1 });
      expect(info(core, client).state).toBe(K.STATE_CLOSED);
      expect(core.close(client)).toBe(K.ERR_CLOSED);
      expect(core.stats().closed).toBe(1);
      expect(drainEvents(core)).toEqual(events(core, ['DISCONNECT', client]));
    });

    it('takes the client out of the accept queue', () => {
      const core = make();
      const [a, b, c] = [open(core, T0), open(core, T0), open(core, T0)];
      core.close(b!);
      expect(core.stats().pendingAccept).toBe(2);
      expect(info(core, b!).flags & K.FLAG_IN_ACCEPT_QUEUE).toBe(0);
      expect([core.accept(), core.accept(), core.accept()]).toEqual([a, c, 0]);
    });

    it('keeps buffered bytes readable, then answers END_OF_STREAM', () => {
      const { core, client } = withClient();
      core.push(client, countingBytes(10), T0);
      core.close(client);
      expect(readExactly(core, client, 10)).toEqual(countingBytes(10));
      expect(core.read(client, new Uint8Array(4))).toBe(K.END_OF_STREAM);
    });
  });

  describe('#release', () => {
    it('answers ERR_OPEN for an open client and ERR_STALE for one never issued', () => {
      const { core, client } = withClient();
      expect(core.release(client)).toBe(K.ERR_OPEN);
      expect(core.release(asHandle(client + 1))).toBe(K.ERR_STALE);
      expect(core.release(asHandle(0))).toBe(K.ERR_STALE);
    });

    it('before DISCONNECT is drained: marks the client and frees the slot when DISCONNECT is drained', () => {
      const { core, client } = withClient();
      core.push(client, countingBytes(5), T0);
      core.close(client);
      expect(core.release(client)).toBe(K.OK);
      expect(core.stats().usedSlots).toBe(1);
      expect(info(core, client).flags & (K.FLAG_RELEASED | K.FLAG_DISCONNECT_DRAINED)).toBe(K.FLAG_RELEASED);
      expect(core.release(client)).toBe(K.OK);
      expect(readExactly(core, client, 2)).toEqual(countingBytes(2));
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client], ['DISCONNECT', client]));
      expect(core.stats().usedSlots).toBe(0);
      expect(core.inspect(client)).toBeUndefined();
      expect(core.release(client)).toBe(K.ERR_STALE);
    });

    it('after DISCONNECT was drained: frees the slot at once', () => {
      const { core, client } = withClient();
      core.close(client);
      drainEvents(core);
      expect(info(core, client).flags & K.FLAG_DISCONNECT_DRAINED).toBe(K.FLAG_DISCONNECT_DRAINED);
      expect(core.stats().usedSlots).toBe(1);
      expect(core.release(client)).toBe(K.OK);
      expect(core.stats().usedSlots).toBe(0);
      expect(core.inspect(client)).toBeUndefined();
    });

    it('makes the old handle stale for every operation once its slot is reused', () => {
      const core = make({ maxSockets: 1, maxClients: 1 });
      const old = open(core, T0);
      core.close(old);
      core.release(old);
      drainEvents(core);
      const reused = open(core, T0 + 5);
      expect(reused).toBe(4); // slot 0, generation 2, one slot bit
      expect(old).toBe(2);
      expect([
        core.close(old), core.release(old), core.eof(old), core.recordSent(old, 1, T0),
        core.push(old, countingBytes(1), T0), core.read(old, new Uint8Array(1)), core.receiveWindow(old),
        core.readView(old), core.consume(old, 1),
      ]).toEqual(Array(9).fill(K.ERR_STALE));
      expect(core.inspect(old)).toBeUndefined();
      expect(info(core, reused)).toMatchObject({ serial: 2, state: K.STATE_OPEN, rxUsed: 0, bytesIn: 0, connectTime: T0 + 5 });
    });

    it('reuses free slots in the order they were freed', () => {
      const core = make();
      const [a, b, c, d] = [open(core, T0), open(core, T0), open(core, T0), open(core, T0)];
      for (const handle of [c!, a!, d!, b!]) core.close(handle);
      drainEvents(core);
      for (const handle of [c!, a!, d!, b!]) core.release(handle);
      // Slots 2, 0, 3, 1 at generation 2 (handle = 2·4 + slot).
      expect([open(core, T0), open(core, T0), open(core, T0), open(core, T0)]).toEqual([10, 8, 11, 9]);
    });
  });

  describe('#eof', () => {
    it('answers ERR_STALE and ERR_CLOSED', () => {
      const { core, client } = withClient();
      expect(core.eof(asHandle(client + 1))).toBe(K.ERR_STALE);
      core.close(client);
      expect(core.eof(client)).toBe(K.ERR_CLOSED);
    });

    it('marks the end, queues one RECV, and is idempotent', () => {
      const { core, client } = withClient();
      expect(core.eof(client)).toBe(K.OK);
      expect(core.eof(client)).toBe(K.OK);
      expect(info(core, client).flags).toBe(K.FLAG_EOF | K.FLAG_RECV_PENDING);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
      expect(core.eof(client)).toBe(K.OK);
      expect(core.stats().queuedEvents).toBe(0);
    });

    it('shares the RECV already pending for bytes', () => {
      const { core, client } = withClient();
      core.push(client, countingBytes(3), T0);
      core.eof(client);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
    });

    it('refuses further bytes; reads drain the ring, then END_OF_STREAM', () => {
      const { core, client } = withClient();
      core.push(client, countingBytes(3), T0);
      core.eof(client);
      expect(core.push(client, countingBytes(1), T0)).toBe(K.ERR_CLOSED);
      expect(readExactly(core, client, 3)).toEqual(countingBytes(3));
      expect(core.read(client, new Uint8Array(8))).toBe(K.END_OF_STREAM);
      expect(core.stats().live).toBe(1);
    });
  });

  describe('#recordSent', () => {
    it('answers ERR_STALE, then ERR_RANGE for negative counts, then ERR_CLOSED', () => {
      const { core, client } = withClient();
      expect(core.recordSent(asHandle(client + 1), -1, T0)).toBe(K.ERR_STALE);
      expect(core.recordSent(client, -1, T0)).toBe(K.ERR_RANGE);
      core.close(client);
      expect(core.recordSent(client, -1, T0)).toBe(K.ERR_RANGE);
      expect(core.recordSent(client, 1, T0)).toBe(K.ERR_CLOSED);
      expect(core.stats().bytesOut).toBe(0);
    });

    it('counts bytes out for the client and the server and refreshes lastActivity', () => {
      const { core, client } = withClient();
      const other = open(core, T0);
      expect(core.recordSent(client, 100, T0 + 7)).toBe(K.OK);
      expect(core.recordSent(client, 0, T0 + 9)).toBe(K.OK);
      expect(core.recordSent(other, 2 ** 31 - 1, T0)).toBe(K.OK);
      expect(info(core, client)).toMatchObject({ bytesOut: 100, lastActivity: T0 + 9, bytesIn: 0 });
      expect(core.stats().bytesOut).toBe(100 + 2 ** 31 - 1);
    });
  });

  describe('#push', () => {
    it('answers ERR_STALE, and ERR_CLOSED after close or eof', () => {
      const { core, client } = withClient();
      expect(core.push(asHandle(client + 1), countingBytes(1), T0)).toBe(K.ERR_STALE);
      expect(core.push(asHandle(0), new Uint8Array(0), T0)).toBe(K.ERR_STALE);
      core.close(client);
      expect(core.push(client, countingBytes(1), T0)).toBe(K.ERR_CLOSED);
      expect(core.push(client, new Uint8Array(0), T0)).toBe(K.ERR_CLOSED);
    });

    it('appends bytes, counts them and refreshes lastActivity', () => {
      const { core, client } = withClient();
      expect(core.push(client, countingBytes(10), T0 + 3)).toBe(10);
      expect(info(core, client)).toMatchObject({ rxUsed: 10, bytesIn: 10, lastActivity: T0 + 3, connectTime: T0 });
      expect(core.stats().bytesIn).toBe(10);
    });

    it('takes only what fits, and nothing at all from a full ring', () => {
      const { core, client } = withClient({ highWatermark: 64 });
      expect(core.push(client, countingBytes(50), T0)).toBe(50);
      expect(core.push(client, countingBytes(20, 50), T0 + 1)).toBe(14);
      drainEvents(core);
      const full = { stats: core.stats(), info: info(core, client) };
      expect(core.push(client, countingBytes(5), T0 + 2)).toBe(0);
      expect({ stats: core.stats(), info: info(core, client) }).toEqual(full);
      expect(readExactly(core, client, 64)).toEqual(countingBytes(64));
    });

    it('takes an empty chunk without queueing anything', () => {
      const { core, client } = withClient();
      expect(core.push(client, new Uint8Array(0), T0 + 1)).toBe(0);
      expect(core.stats().queuedEvents).toBe(0);
      expect(info(core, client).lastActivity).toBe(T0);
    });

    it('queues one RECV until it is drained', () => {
      const { core, client } = withClient();
      core.push(client, countingBytes(1), T0);
      core.push(client, countingBytes(1), T0);
      expect(info(core, client).flags & K.FLAG_RECV_PENDING).toBe(K.FLAG_RECV_PENDING);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
      core.push(client, countingBytes(1), T0);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
    });

    it('takes chunks larger than the staging area', () => {
      const { core, client } = withClient({ rxBufferSize: 4096, highWatermark: 4096, lowWatermark: 0, stagingSize: 1024 });
      const data = countingBytes(3000, 7);
      expect(core.push(client, data, T0)).toBe(3000);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
      const big = new Uint8Array(4096);
      // A read copies straight from the ring into the caller's buffer: not limited by staging.
      expect(core.read(client, big.subarray(0, 1000))).toBe(1000);
      expect(big.subarray(0, 1000)).toEqual(data.subarray(0, 1000));
      expect(core.read(client, big)).toBe(2000);
      expect(big.subarray(0, 2000)).toEqual(data.subarray(1000));
      expect(core.read(client, big)).toBe(0);
    });
  });

  describe('#receiveWindow and #received', () => {
    /** One client on an 8 KiB ring (two MIN_WINDOWs) with a 1 KiB staging area. */
    const RING = { rxBufferSize: 8192, highWatermark: 8192, lowWatermark: 0, stagingSize: 1024 };

    it('gives the free span at the tail, takes what was written there, and counts it as pushed bytes', () => {
      const { core, client } = withClient(RING);
      const window = core.receiveWindow(client) as Uint8Array;
      expect(window.length).toBe(8192);
      window.set(countingBytes(100));
      expect(core.received(client, window, 100, T0 + 4)).toBe(100);
      expect(info(core, client)).toMatchObject({ rxUsed: 100, bytesIn: 100, lastActivity: T0 + 4 });
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
      expect(readExactly(core, client, 100)).toEqual(countingBytes(100));
    });

    it('gives the staging area, sized to the room, when the span before the ring\'s end is short', () => {
      const { core, client } = withClient(RING);
      core.push(client, new Uint8Array(6000), T0);
      readExactly(core, client, 6000);
      // 2192 bytes to the ring's end (< MIN_WINDOW) but 8192 free: a staging window of 1 KiB.
      const window = core.receiveWindow(client) as Uint8Array;
      expect(window.length).toBe(1024);
      window.set(countingBytes(1024, 3));
      expect(core.received(client, window, 1024, T0)).toBe(1024);
      expect(readExactly(core, client, 1024)).toEqual(countingBytes(1024, 3));
    });

    it('gives the whole room when that is all there is, and 0 for a full ring', () => {
      const { core, client } = withClient(RING);
      core.push(client, new Uint8Array(8000), T0);
      expect((core.receiveWindow(client) as Uint8Array).length).toBe(192);
      core.push(client, new Uint8Array(192), T0);
      expect(core.receiveWindow(client)).toBe(0);
    });

    it('refuses a count above the window, a buffer that is no window, and a closed or stale client', () => {
      const { core, client } = withClient(RING);
      const window = core.receiveWindow(client) as Uint8Array;
      expect(core.received(client, window, window.length + 1, T0)).toBe(K.ERR_RANGE);
      expect(core.received(client, window, -1, T0)).toBe(K.ERR_RANGE);
      expect(core.received(client, new Uint8Array(16), 1, T0)).toBe(K.ERR_RANGE);
      expect(info(core, client).rxUsed).toBe(0);
      expect(core.receiveWindow(asHandle(client + 1))).toBe(K.ERR_STALE);
      core.eof(client);
      expect(core.receiveWindow(client)).toBe(K.ERR_CLOSED);
      expect(core.received(client, window, 1, T0)).toBe(K.ERR_CLOSED);
    });

    it('gives at most 2 MiB at a time, even from a larger ring', () => {
      const { core, client } = withClient({ maxSockets: 1, maxClients: 1, rxBufferSize: 4 * 1024 * 1024, highWatermark: 4 * 1024 * 1024, lowWatermark: 0 });
      expect((core.receiveWindow(client) as Uint8Array).length).toBe(2 * 1024 * 1024);
    });
  });

  describe('#readView and #consume', () => {
    it('shows the readable bytes up to the ring\'s end, and consume drops 1 … that many', () => {
      const { core, client } = withClient({ highWatermark: 64 });
      core.push(client, new Uint8Array(40), T0);
      readExactly(core, client, 40);
      core.push(client, countingBytes(30), T0);
      // 24 bytes before the ring's end, 6 after it.
      expect([...(core.readView(client) as Buffer)]).toEqual([...countingBytes(24)]);
      expect(core.consume(client, 0)).toBe(K.ERR_RANGE);
      expect(core.consume(client, 25)).toBe(K.ERR_RANGE);
      expect(core.consume(client, 24)).toBe(24);
      expect([...(core.readView(client) as Buffer)]).toEqual([...countingBytes(6, 24)]);
      expect(core.consume(client, 6)).toBe(6);
      expect(core.readView(client)).toBe(0);
      expect(core.consume(client, 1)).toBe(K.ERR_RANGE);
      core.close(client);
      expect(core.readView(client)).toBe(K.END_OF_STREAM);
    });

    it('resumes a paused client when consume drains it to lowWatermark', () => {
      const { core, client } = withClient();
      core.push(client, new Uint8Array(48), T0);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client], ['PAUSE', client]));
      expect(core.consume(client, 32)).toBe(32);
      expect(drainEvents(core)).toEqual(events(core, ['RESUME', client]));
    });
  });

  describe('#read', () => {
    it('answers ERR_RANGE for an empty destination, before checking the handle', () => {
      const { core, client } = withClient();
      expect(core.read(client, new Uint8Array(0))).toBe(K.ERR_RANGE);
      expect(core.read(asHandle(client + 1), new Uint8Array(0))).toBe(K.ERR_RANGE);
      expect(core.read(asHandle(client + 1), new Uint8Array(1))).toBe(K.ERR_STALE);
    });

    it('answers 0 while an open ring is empty', () => {
      const { core, client } = withClient();
      expect(core.read(client, new Uint8Array(4))).toBe(0);
    });

    it('returns the oldest bytes, at most dst.length at a time', () => {
      const { core, client } = withClient();
      core.push(client, countingBytes(10), T0);
      core.push(client, countingBytes(10, 10), T0);
      const dst = new Uint8Array(8).fill(0xee);
      expect(core.read(client, dst)).toBe(8);
      expect(dst).toEqual(countingBytes(8));
      const rest = new Uint8Array(30).fill(0xee);
      expect(core.read(client, rest)).toBe(12);
      expect(rest.subarray(0, 12)).toEqual(countingBytes(12, 8));
      expect(rest[12]).toBe(0xee);
      expect(info(core, client).rxUsed).toBe(0);
    });

    it('keeps bytes in order when they cross the end of the ring', () => {
      const { core, client } = withClient({ highWatermark: 64 });
      core.push(client, countingBytes(40), T0);
      readExactly(core, client, 40);
      // Positions 40..99: the ring ends at 64, so this chunk wraps to its start.
      expect(core.push(client, countingBytes(60, 100), T0)).toBe(60);
      expect(readExactly(core, client, 60)).toEqual(countingBytes(60, 100));
    });
  });

  describe.each([0, 0xffff_ff00, 0xffff_ffc0, 0xffff_ffff])('ring positions starting at %i', (ringOrigin) => {
    it('stream bytes through the 32-bit wrap unchanged, detecting full and empty rings', () => {
      const { core, client } = withClient({ ringOrigin, highWatermark: 64 });
      let written = 0;
      let readSoFar = 0;
      // 37 and 23 are prime to 64, so chunks cross the ring end and the 2^32 wrap at every offset.
      for (let round = 0; round < 40; round++) {
        written += core.push(client, countingBytes(37, written), T0);
        if (round % 3 === 2) {
          expect(core.push(client, countingBytes(64, written), T0)).toBe(64 - (written - readSoFar));
          written = readSoFar + 64;
          expect(core.push(client, countingBytes(1), T0)).toBe(0);
          expect(info(core, client).rxUsed).toBe(64);
        }
        const n = Math.min(23, written - readSoFar);
        expect(readExactly(core, client, n)).toEqual(countingBytes(n, readSoFar));
        readSoFar += n;
      }
      const rest = written - readSoFar;
      expect(readExactly(core, client, rest)).toEqual(countingBytes(rest, readSoFar));
      expect(core.read(client, new Uint8Array(1))).toBe(0);
      expect(info(core, client)).toMatchObject({ rxUsed: 0, bytesIn: written });
    });
  });

  describe('watermarks', () => {
    it('pauses when the ring reaches highWatermark and resumes when it drains to lowWatermark', () => {
      const { core, client } = withClient();
      core.push(client, countingBytes(47), T0);
      expect(core.stats().paused).toBe(0);
      core.push(client, countingBytes(1), T0);
      expect(core.stats().paused).toBe(1);
      expect(info(core, client).flags & K.FLAG_PAUSED).toBe(K.FLAG_PAUSED);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client], ['PAUSE', client]));
      core.push(client, countingBytes(10), T0);
      readExactly(core, client, 41); // 58 → 17: still above lowWatermark
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
      readExactly(core, client, 1); // 17 → 16
      expect(core.stats().paused).toBe(0);
      expect(drainEvents(core)).toEqual(events(core, ['RESUME', client]));
      readExactly(core, client, 16);
      expect(drainEvents(core)).toEqual([]);
    });

    it('pauses on a push that crosses highWatermark in one step', () => {
      const { core, client } = withClient();
      core.push(client, countingBytes(64), T0);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client], ['PAUSE', client]));
    });

    it('coalesces PAUSE and RESUME: one entry, reporting the state when drained', () => {
      const { core, client } = withClient();
      core.push(client, countingBytes(60), T0);
      readExactly(core, client, 50);
      expect(core.stats()).toMatchObject({ paused: 0, queuedEvents: 2 });
      expect(info(core, client).flags & K.FLAG_FLOW_PENDING).toBe(K.FLAG_FLOW_PENDING);
      core.push(client, countingBytes(40), T0);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client], ['PAUSE', client]));
    });

    it('drops a pending PAUSE of a client closed before it was drained', () => {
      const { core, client } = withClient();
      const other = open(core, T0);
      core.accept();
      drainEvents(core);
      core.push(client, countingBytes(60), T0);
      core.push(other, countingBytes(1), T0);
      core.close(client);
      expect(core.stats()).toMatchObject({ paused: 0, queuedEvents: 4 });
      expect(info(core, client).flags & K.FLAG_PAUSED).toBe(0);
      expect(core.nextEvent()).toBe(packedEvent(core, K.EV_RECV, client));
      // The FLOW entry is skipped: the next event is the other client's RECV, with its slot.
      expect(core.nextEvent()).toBe(packedEvent(core, K.EV_RECV, other));
      expect(core.stats().queuedEvents).toBe(1);
      expect(core.nextEvent()).toBe(packedEvent(core, K.EV_DISCONNECT, client));
      expect(core.nextEvent()).toBe(K.EV_NONE);
    });

    it('drops a pending RESUME of a client closed before it was drained', () => {
      const { core, client } = withClient();
      core.push(client, countingBytes(60), T0);
      drainEvents(core);
      readExactly(core, client, 60);
      expect(info(core, client).flags & K.FLAG_FLOW_PENDING).toBe(K.FLAG_FLOW_PENDING);
      core.close(client);
      expect(drainEvents(core)).toEqual(events(core, ['DISCONNECT', client]));
    });

    it('does not resume on reads of a closed client', () => {
      const { core, client } = withClient();
      core.push(client, countingBytes(60), T0);
      drainEvents(core);
      core.close(client);
      readExactly(core, client, 60);
      expect(drainEvents(core)).toEqual(events(core, ['DISCONNECT', client]));
    });

    it('handles highWatermark equal to the ring size and lowWatermark 0', () => {
      const { core, client } = withClient({ highWatermark: 64, lowWatermark: 0 });
      core.push(client, countingBytes(63), T0);
      expect(core.stats().paused).toBe(0);
      core.push(client, countingBytes(1), T0);
      expect(core.stats().paused).toBe(1);
      readExactly(core, client, 63);
      expect(core.stats().paused).toBe(1);
      readExactly(core, client, 1);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client], ['RESUME', client]));
    });
  });

  describe('#nextEvent', () => {
    it('returns events of all clients in the order they happened', () => {
      const core = make();
      const a = open(core, T0);
      const b = open(core, T0);
      core.push(b, countingBytes(1), T0);
      core.eof(a);
      core.close(b);
      expect(drainEvents(core)).toEqual(events(core, ['CONNECT', a], ['CONNECT', b], ['RECV', b], ['RECV', a], ['DISCONNECT', b]));
    });

    it('holds all four events each client can have queued at once', () => {
      const core = make({ maxSockets: 2 });
      const [a, b] = [open(core, T0), open(core, T0)];
      for (const handle of [a, b]) core.push(handle, countingBytes(60), T0);
      for (const handle of [a, b]) core.close(handle);
      // CONNECT, RECV, PAUSE and DISCONNECT for each; the closed clients' PAUSEs are dropped.
      expect(core.stats().queuedEvents).toBe(8);
      expect(drainEvents(core)).toEqual(events(core,
        ['CONNECT', a], ['CONNECT', b], ['RECV', a], ['RECV', b], ['DISCONNECT', a], ['DISCONNECT', b],
      ));
    });

    it('queues exactly one DISCONNECT per CONNECT', () => {
      const core = make();
      const a = open(core, T0);
      core.close(a);
      core.close(a);
      core.release(a);
      expect(drainEvents(core)).toEqual(events(core, ['CONNECT', a], ['DISCONNECT', a]));
    });
  });

  describe('#accept', () => {
    it('hands out opened clients oldest first, then 0', () => {
      const core = make();
      const a = open(core, T0);
      const b = open(core, T0);
      expect(core.accept()).toBe(a);
      expect(info(core, a).flags & K.FLAG_IN_ACCEPT_QUEUE).toBe(0);
      expect(core.stats().pendingAccept).toBe(1);
      expect(core.accept()).toBe(b);
      expect(core.accept()).toBe(0);
      expect(core.stats().pendingAccept).toBe(0);
    });
  });

  describe('#setMaxClients', () => {
    it.each([0, -1, 5, 2 ** 31 - 1])('refuses %i with ERR_CONFIG_MAX_CLIENTS', (value) => {
      const core = make();
      expect(core.setMaxClients(value)).toBe(K.ERR_CONFIG_MAX_CLIENTS);
      expect(core.stats().maxClients).toBe(4);
    });

    it('lowering below the live count keeps clients open and refuses new ones until enough leave', () => {
      const core = make();
      const handles = [open(core, T0), open(core, T0), open(core, T0)];
      expect(core.setMaxClients(1)).toBe(K.OK);
      expect(core.stats()).toMatchObject({ live: 3, maxClients: 1 });
      expect(open(core, T0)).toBe(K.ERR_LIMIT);
      core.close(handles[0]!);
      core.close(handles[1]!);
      expect(open(core, T0)).toBe(K.ERR_LIMIT);
      core.close(handles[2]!);
      expect(open(core, T0)).toBeGreaterThan(0);
      expect(core.setMaxClients(4)).toBe(K.OK);
      expect(core.stats().maxClients).toBe(4);
    });
  });

  describe('#inspect', () => {
    it('answers ERR_STALE for handles never issued', () => {
      const core = make();
      expect([core.inspect(asHandle(4)), core.inspect(asHandle(0)), core.inspect(asHandle(-4))]).toEqual([undefined, undefined, undefined]);
    });

    it('reports each flag as the client goes through its life', () => {
      const core = make({ highWatermark: 8, lowWatermark: 2 });
      const client = open(core, T0);
      const flags = (): number => info(core, client).flags;
      expect(flags()).toBe(K.FLAG_IN_ACCEPT_QUEUE);
      core.accept();
      expect(flags()).toBe(0);
      core.push(client, countingBytes(9), T0);
      expect(flags()).toBe(K.FLAG_RECV_PENDING | K.FLAG_PAUSED | K.FLAG_FLOW_PENDING);
      drainEvents(core);
      expect(flags()).toBe(K.FLAG_PAUSED);
      core.eof(client);
      expect(flags()).toBe(K.FLAG_PAUSED | K.FLAG_EOF | K.FLAG_RECV_PENDING);
      core.close(client);
      expect(flags()).toBe(K.FLAG_EOF | K.FLAG_RECV_PENDING);
      drainEvents(core);
      expect(flags()).toBe(K.FLAG_EOF | K.FLAG_DISCONNECT_DRAINED);
      expect(info(core, client)).toMatchObject({ state: K.STATE_CLOSED, rxUsed: 9, bytesIn: 9 });
    });
  });

  describe('#expired', () => {
    it('lists open clients past the idle or lifetime limit, in slot order', () => {
      const core = make();
      const a = open(core, 0);
      const b = open(core, 100);
      const c = open(core, 200);
      const d = open(core, 300);
      core.close(d);
      core.push(a, countingBytes(1), 250);
      core.recordSent(b, 1, 150);
      expect(core.expired(400, 200, 0)).toEqual([b, c]); // idle since 150 and 200; a active at 250
      expect(core.expired(400, 201, 0)).toEqual([b]);
      expect(core.expired(400, 0, 400)).toEqual([a]);
      expect(core.expired(400, 0, 300)).toEqual([a, b]);
      expect(core.expired(400, 150, 400)).toEqual([a, b, c]);
      expect(core.expired(400, 0, 0)).toEqual([]);
      expect(core.expired(400, -1, -1)).toEqual([]);
    });

    it('lists reused slots in slot order, not in order of opening', () => {
      const core = make();
      const first = open(core, 0); // slot 0
      const second = open(core, 0); // slot 1
      core.close(first);
      core.release(first);
      drainEvents(core);
      const third = open(core, 0); // slot 2
      const fourth = open(core, 0); // slot 3
      const reusing = open(core, 0); // slot 0 again, generation 2
      expect(core.expired(10, 1, 0)).toEqual([reusing, second, third, fourth]);
    });
  });

  describe('#stats', () => {
    it('counts clients, rejections and bytes over the core\'s life', () => {
      const core = make({ maxClients: 2 });
      const a = open(core, T0);
      const b = open(core, T0);
      open(core, T0);
      core.push(a, countingBytes(30), T0);
      core.push(b, countingBytes(20), T0);
      core.recordSent(a, 5, T0);
      core.close(a);
      core.release(a);
      drainEvents(core);
      open(core, T0);
      expect(core.stats()).toEqual({
        live: 2, usedSlots: 2, pendingAccept: 2, paused: 0, queuedEvents: 1, maxClients: 2,
        opened: 3, rejected: 1, closed: 1, bytesIn: 50, bytesOut: 5,
      });
    });
  });

  it('wraps generations modulo 2^(31 − slotBits), skipping 0', () => {
    // 32769 slots: 16 slot bits, generations 1..32767. With every other slot held open,
    // the free list is the last slot alone, so each cycle bumps that slot's generation.
    const maxSockets = 32769;
    const core = impl.create({ maxSockets, rxBufferSize: 64, stagingSize: 1024 });
    for (let i = 0; i < maxSockets - 1; i++) open(core, T0);
    drainEvents(core);
    // Empty the accept queue (one pass) so that each close below finds it empty.
    for (let i = 0; i < maxSockets && core.accept() !== 0; i++);
    const last = maxSockets - 1;
    const handles: number[] = [];
    for (let cycle = 0; cycle < 32767; cycle++) {
      const handle = open(core, T0);
      handles.push(handle);
      core.close(handle);
      core.release(handle);
      core.nextEvent();
      core.nextEvent();
    }
    expect(handles[0]).toBe(2 ** 16 + last);
    expect(handles[32766]).toBe(32767 * 2 ** 16 + last);
    expect(handles.every((handle, i) => handle === (i + 1) * 2 ** 16 + last)).toBe(true);
    // After 32767 frees the generation would be 32768 ≡ 0, which is skipped: back to 1.
    expect(open(core, T0)).toBe(2 ** 16 + last);
  });
});
