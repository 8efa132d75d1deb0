// The memory layout of the WASM core (the reference model has none): the layoutBytes
// formula, the size refusal, and the memory a core actually holds.

import { describe, expect, it } from 'vitest';
import { constants as K, CoreConfigError, createCore, describeConfigStatus, layoutBytes, resolveCoreConfig } from '@tcpserv/core-wasm';

const alignUp = (n: number): number => Math.ceil(n / 64) * 64;
/** Bytes of one client-table slot (state, ring positions, counters, framing and its delimiter), whole cache lines. */
const SLOT_BYTES = 128;
const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(n));

describe('layoutBytes', () => {
  const rxBufferSize = 256;
  const stagingSize = 2048;
  const bytesFor = (maxSockets: number): number => layoutBytes({ maxSockets, rxBufferSize, stagingSize });
  // base + header: what remains of a one-slot layout after its slot, ring, events and staging.
  const fixed = bytesFor(1) - (SLOT_BYTES + rxBufferSize) - alignUp(8 * 4) - stagingSize;

  it('has a fixed part (static data and header) that is 64-byte aligned', () => {
    expect(fixed).toBeGreaterThan(0);
    expect(fixed % 64).toBe(0);
  });

  it.each([1, 2, 3, 5, 8, 100, 1000, 4097])(
    'is base + header + maxSockets × (128 + rxBufferSize) + 8 × nextPow2(4 × maxSockets) + stagingSize for %i sockets',
    (maxSockets) => {
      expect(bytesFor(maxSockets)).toBe(
        fixed + maxSockets * (SLOT_BYTES + rxBufferSize) + alignUp(8 * nextPow2(4 * maxSockets)) + stagingSize,
      );
    },
  );

  it('grows by exactly 128 + rxBufferSize per socket while the event queue keeps its size', () => {
    // 4·maxSockets in 17..32 for 5..8 sockets: the event queue stays at 32 entries.
    for (let maxSockets = 5; maxSockets < 8; maxSockets++) {
      expect(bytesFor(maxSockets + 1) - bytesFor(maxSockets)).toBe(SLOT_BYTES + rxBufferSize);
    }
  });

  it('grows with the ring size and the staging size byte for byte', () => {
    const base = layoutBytes({ maxSockets: 10, rxBufferSize: 1024, stagingSize: 4096 });
    expect(layoutBytes({ maxSockets: 10, rxBufferSize: 2048, stagingSize: 4096 }) - base).toBe(10 * 1024);
    expect(layoutBytes({ maxSockets: 10, rxBufferSize: 1024, stagingSize: 4112 }) - base).toBe(16);
  });

  it('refuses a layout above MAX_LAYOUT_BYTES with ERR_CONFIG_TOO_LARGE', () => {
    const config = { maxSockets: K.MAX_SOCKETS, rxBufferSize: 65536 };
    const status = K.ERR_CONFIG_TOO_LARGE;
    const expected = new CoreConfigError(status, 'maxSockets', describeConfigStatus(status, resolveCoreConfig(config)));
    expect(() => layoutBytes(config)).toThrow(expected);
    expect(() => createCore(config)).toThrow(expected);
    expect(expected.message).toBe(
      'the config needs more than 2147418112 bytes of memory (maxSockets 65536 × rxBufferSize 65536); lower one of them',
    );
  });

  it('throws the config status for settings the core refuses', () => {
    let thrown: unknown;
    try {
      layoutBytes({ maxSockets: 4, rxBufferSize: 100 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CoreConfigError);
    expect(thrown).toMatchObject({ status: K.ERR_CONFIG_RX_BUFFER, code: 'ERR_TCPSERV_CORE_CONFIG' });
  });
});

describe('WasmCore memory', () => {
  it.each([
    { maxSockets: 1, rxBufferSize: 64, stagingSize: 1024 },
    { maxSockets: 100, rxBufferSize: 4096 },
    { maxSockets: 1000, rxBufferSize: 16384, stagingSize: 1024 },
  ])('holds the layout rounded up to whole 64 KiB pages (%o)', (config) => {
    const core = createCore(config);
    const needed = layoutBytes(config);
    expect(core.memoryBytes % K.PAGE_BYTES).toBe(0);
    expect(core.memoryBytes).toBeGreaterThanOrEqual(needed);
    expect(core.memoryBytes).toBeLessThan(needed + K.PAGE_BYTES);
  });
});
