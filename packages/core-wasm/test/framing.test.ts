// Framing as FRAMING-SPEC.md states it, rule by rule, on every implementation CORE_IMPL
// selects (default: the WASM core and the reference model). The lockstep properties show
// the two agree; these show what they agree on is the spec.

import { describe, expect, it } from 'vitest';
import { constants as K, type CoreApi, type CoreConfig, type CoreFraming, type Handle } from '@tcpserv/core-wasm';
import { selectedImplementations } from './implementations.js';
import { asHandle, drainEvents, events, info, open, readExactly } from './helpers.js';

/** 2 slots, 64-byte rings, watermarks 48/16. */
const SMALL: CoreConfig = { maxSockets: 2, rxBufferSize: 64, highWatermark: 48, lowWatermark: 16, stagingSize: 1024 };
const T0 = 1_000;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

const LINE: CoreFraming = { mode: 'line', maxFrameSize: 64 };

describe.each(selectedImplementations().map((impl) => [impl.name, impl] as const))('%s core framing', (_, impl) => {
  /** A core with one open, accepted client, its CONNECT drained, in `framing`. */
  function withClient(framing: CoreFraming, overrides: Partial<CoreConfig> = {}): { core: CoreApi; client: Handle } {
    const core = impl.create({ ...SMALL, ...overrides });
    const client = open(core, T0);
    core.accept();
    expect(core.setFraming(client, framing)).toBe(K.OK);
    drainEvents(core);
    return { core, client };
  }

  /** Reads the next frame into a buffer of exactly its length: the payload as text, or the status. */
  function frame(core: CoreApi, client: Handle): string | number {
    const length = core.nextFrameLength(client);
    if (length < 0) return length;
    const dst = new Uint8Array(length);
    const n = core.readFrame(client, dst);
    expect(n).toBe(length);
    return text(dst);
  }

  function frames(core: CoreApi, client: Handle): Array<string | number> {
    const out: Array<string | number> = [];
    for (let i = 0; i < 100; i++) {
      const next = frame(core, client);
      out.push(next);
      if (typeof next === 'number') break;
    }
    return out;
  }

  describe('#setFraming', () => {
    const refused: Array<[string, CoreFraming]> = [
      ['maxFrameSize 0', { mode: 'line', maxFrameSize: 0 }],
      ['maxFrameSize above rxBufferSize', { mode: 'line', maxFrameSize: 65 }],
      ['an empty delimiter', { mode: 'delimiter', delimiter: new Uint8Array(0), maxFrameSize: 8 }],
      ['a 17-byte delimiter', { mode: 'delimiter', delimiter: new Uint8Array(17), maxFrameSize: 8 }],
      ['headerBytes 3', { mode: 'length', headerBytes: 3 as 1, littleEndian: false, maxFrameSize: 8 }],
      ['fixed size 0', { mode: 'fixed', size: 0 }],
      ['fixed size above rxBufferSize', { mode: 'fixed', size: 65 }],
      ['a mode outside 0..4', { mode: 'chunked' } as unknown as CoreFraming],
    ];

    it.each(refused)('refuses %s with ERR_CONFIG_FRAME and keeps the mode', (_, framing) => {
      const { core, client } = withClient(LINE);
      core.push(client, bytes('a\n'), T0);
      expect(core.setFraming(client, framing)).toBe(K.ERR_CONFIG_FRAME);
      expect(frame(core, client)).toBe('a');
    });

    it('accepts the extremes: maxFrameSize 1 and rxBufferSize, a 16-byte delimiter, fixed size rxBufferSize', () => {
      const { core, client } = withClient(LINE);
      for (const framing of [
        { mode: 'line', maxFrameSize: 1 }, { mode: 'line', maxFrameSize: 64 },
        { mode: 'delimiter', delimiter: new Uint8Array(16), maxFrameSize: 64 }, { mode: 'fixed', size: 64 },
      ] as CoreFraming[]) expect(core.setFraming(client, framing)).toBe(K.OK);
    });

    it('answers ERR_STALE for a stale handle, and is allowed on a closed client', () => {
      const { core, client } = withClient(LINE);
      expect(core.setFraming(asHandle(client + 1), LINE)).toBe(K.ERR_STALE);
      core.push(client, bytes('ab|c'), T0);
      core.close(client);
      expect(core.setFraming(client, { mode: 'delimiter', delimiter: bytes('|'), maxFrameSize: 8 })).toBe(K.OK);
      expect(frames(core, client)).toEqual(['ab', 'c', K.END_OF_STREAM]);
      // A closed client's DISCONNECT is its last event: setFraming queues nothing after it.
      expect(drainEvents(core)).toEqual(events(core, ['DISCONNECT', client]));
    });

    it('re-reads buffered bytes under the new mode from the current read position', () => {
      const { core, client } = withClient(LINE);
      core.push(client, bytes('one\ntwo|three\n'), T0);
      expect(frame(core, client)).toBe('one');
      expect(core.setFraming(client, { mode: 'delimiter', delimiter: bytes('|'), maxFrameSize: 32 })).toBe(K.OK);
      expect(frame(core, client)).toBe('two');
      expect(core.setFraming(client, { mode: 'fixed', size: 3 })).toBe(K.OK);
      expect(frames(core, client)).toEqual(['thr', 'ee\n', K.FRAME_PENDING]);
    });

    it('has no frames in RAW: nextFrameLength and readFrame answer ERR_CONFIG_FRAME', () => {
      const { core, client } = withClient({ mode: 'raw' });
      core.push(client, bytes('a\n'), T0);
      expect(core.nextFrameLength(client)).toBe(K.ERR_CONFIG_FRAME);
      expect(core.readFrame(client, new Uint8Array(8))).toBe(K.ERR_CONFIG_FRAME);
      expect(info(core, client).rxUsed).toBe(2);
    });
  });

  describe('line', () => {
    it('cuts at \\n, drops one \\r before it, and gives empty lines as 0-byte frames', () => {
      const { core, client } = withClient(LINE);
      core.push(client, bytes('GET a\r\n\nSET b 1\n\r\r\nlast'), T0);
      expect(frames(core, client)).toEqual(['GET a', '', 'SET b 1', '\r', K.FRAME_PENDING]);
      expect(info(core, client).rxUsed).toBe(4);
    });

    it('finds a line that arrives one byte at a time, CRLF split across pushes', () => {
      const { core, client } = withClient(LINE);
      for (const byte of bytes('hello\r')) core.push(client, Uint8Array.of(byte), T0);
      expect(core.nextFrameLength(client)).toBe(K.FRAME_PENDING);
      core.push(client, bytes('\n'), T0);
      expect(frame(core, client)).toBe('hello');
    });

    it('is too large when a line longer than maxFrameSize ends, or more than maxFrameSize + 1 bytes wait unended', () => {
      const { core, client } = withClient({ mode: 'line', maxFrameSize: 4 });
      core.push(client, bytes('abcd\r\nabcde\n'), T0);
      expect(frame(core, client)).toBe('abcd');
      expect(frame(core, client)).toBe(K.ERR_FRAME_TOO_LARGE);
      // Nothing is consumed, and it stays too large.
      expect(frame(core, client)).toBe(K.ERR_FRAME_TOO_LARGE);
      expect(info(core, client).rxUsed).toBe(6);

      const other = withClient({ mode: 'line', maxFrameSize: 4 });
      other.core.push(other.client, bytes('abcd\r'), T0);
      expect(other.core.nextFrameLength(other.client)).toBe(K.FRAME_PENDING);
      other.core.push(other.client, bytes('x'), T0);
      expect(other.core.nextFrameLength(other.client)).toBe(K.ERR_FRAME_TOO_LARGE);
    });

    it('at end of stream gives the unended rest as a final frame, nothing dropped', () => {
      const { core, client } = withClient(LINE);
      core.push(client, bytes('a\nrest\r'), T0);
      core.eof(client);
      expect(frames(core, client)).toEqual(['a', 'rest\r', K.END_OF_STREAM]);
    });

    it('at end of stream refuses a rest longer than maxFrameSize', () => {
      const { core, client } = withClient({ mode: 'line', maxFrameSize: 4 });
      core.push(client, bytes('abcd\r'), T0);
      core.eof(client);
      expect(frame(core, client)).toBe(K.ERR_FRAME_TOO_LARGE);
    });
  });

  describe('delimiter', () => {
    const CRLF2: CoreFraming = { mode: 'delimiter', delimiter: bytes('\r\n\r\n'), maxFrameSize: 32 };

    it('cuts before the first occurrence, non-overlapping, and consumes the delimiter', () => {
      const { core, client } = withClient({ mode: 'delimiter', delimiter: bytes('||'), maxFrameSize: 32 });
      core.push(client, bytes('a|||b||||c'), T0);
      expect(frames(core, client)).toEqual(['a', '|b', '', K.FRAME_PENDING]);
      expect(info(core, client).rxUsed).toBe(1);
    });

    it('finds a delimiter split across pushes and across the ring\'s wrap point', () => {
      const { core, client } = withClient(CRLF2, { highWatermark: 64 });
      core.push(client, new Uint8Array(60), T0);
      readExactly(core, client, 60);
      // The ring's end is 4 bytes away: the delimiter below straddles it.
      core.push(client, bytes('hi\r'), T0);
      expect(core.nextFrameLength(client)).toBe(K.FRAME_PENDING);
      core.push(client, bytes('\n\r'), T0);
      expect(core.nextFrameLength(client)).toBe(K.FRAME_PENDING);
      core.push(client, bytes('\nnext'), T0);
      expect(frames(core, client)).toEqual(['hi', K.FRAME_PENDING]);
    });

    it.each([
      ['aab', 'aaab|aab', ['a', '|', K.FRAME_PENDING]],
      ['\r\n\r\n', 'x\r\n\r\r\n\r\ny', ['x\r\n\r', K.FRAME_PENDING]],
      // 'abab' then 'c' + 'abab' (the one at 'ab|abab' is not the first), 'abx' left over.
      ['abab', 'ababcabababx', ['', 'c', K.FRAME_PENDING]],
    ] as const)('finds %j after a partial match that fails, whole or a byte a push', (delimiter, input, expected) => {
      for (const trickle of [false, true]) {
        const { core, client } = withClient({ mode: 'delimiter', delimiter: bytes(delimiter), maxFrameSize: 32 });
        const data = bytes(input);
        if (trickle) for (const byte of data) core.push(client, Uint8Array.of(byte), T0);
        else core.push(client, data, T0);
        expect(frames(core, client)).toEqual(expected);
      }
    });

    it('finds a 16-byte delimiter pushed a byte at a time across the ring\'s wrap point', () => {
      const delimiter = bytes('0123456789abcdef');
      const { core, client } = withClient({ mode: 'delimiter', delimiter, maxFrameSize: 40 }, { highWatermark: 64 });
      core.push(client, new Uint8Array(50), T0);
      readExactly(core, client, 50);
      for (const byte of bytes('frame:0123456789abcde')) core.push(client, Uint8Array.of(byte), T0);
      expect(core.nextFrameLength(client)).toBe(K.FRAME_PENDING);
      expect(drainEvents(core)).toEqual([]);
      core.push(client, bytes('f'), T0);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
      expect(frames(core, client)).toEqual(['frame:', K.FRAME_PENDING]);
    });

    it('is too large when a delimiter ends a frame longer than maxFrameSize', () => {
      const { core, client } = withClient({ mode: 'delimiter', delimiter: bytes('|'), maxFrameSize: 4 });
      core.push(client, bytes('abcd|abcde|'), T0);
      expect(frames(core, client)).toEqual(['abcd', K.ERR_FRAME_TOO_LARGE]);
      expect(info(core, client).rxUsed).toBe(6);
    });

    it('at end of stream gives the rest, a partial delimiter included, as a final frame', () => {
      const { core, client } = withClient({ mode: 'delimiter', delimiter: bytes('||'), maxFrameSize: 8 });
      core.push(client, bytes('a||b|'), T0);
      core.eof(client);
      expect(frames(core, client)).toEqual(['a', 'b|', K.END_OF_STREAM]);
    });

    it('is too large once maxFrameSize + delimiter length bytes wait without a delimiter', () => {
      const { core, client } = withClient({ mode: 'delimiter', delimiter: bytes('||'), maxFrameSize: 4 });
      core.push(client, bytes('abcd|'), T0);
      expect(core.nextFrameLength(client)).toBe(K.FRAME_PENDING);
      core.push(client, bytes('x'), T0);
      expect(core.nextFrameLength(client)).toBe(K.ERR_FRAME_TOO_LARGE);
    });
  });

  describe('length', () => {
    it.each([
      [1, false, [3]], [2, false, [0, 3]], [2, true, [3, 0]], [4, false, [0, 0, 0, 3]], [4, true, [3, 0, 0, 0]],
    ] as const)('reads a %i-byte header (little-endian %s) counting the payload only', (headerBytes, littleEndian, header) => {
      const { core, client } = withClient({ mode: 'length', headerBytes, littleEndian, maxFrameSize: 16 });
      // abc, then a 0-length frame.
      core.push(client, Uint8Array.from([...header, 0x61, 0x62, 0x63, ...header.map(() => 0)]), T0);
      expect(frames(core, client)).toEqual(['abc', '', K.FRAME_PENDING]);
    });

    it('is too large as soon as the header is in, before any of the payload', () => {
      const { core, client } = withClient({ mode: 'length', headerBytes: 2, littleEndian: false, maxFrameSize: 16 });
      core.push(client, Uint8Array.of(0), T0);
      expect(core.nextFrameLength(client)).toBe(K.FRAME_PENDING);
      expect(drainEvents(core)).toEqual([]);
      core.push(client, Uint8Array.of(17), T0);
      expect(core.nextFrameLength(client)).toBe(K.ERR_FRAME_TOO_LARGE);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
    });

    it.each([
      [[0x80, 0, 0, 0], false], [[0xff, 0xff, 0xff, 0xff], false], [[0, 0, 0, 0x80], true], [[0, 0, 0, 1], true],
    ])('reads header %j (little-endian %s) as unsigned: too large, never a negative or small length', (header, littleEndian) => {
      const { core, client } = withClient({ mode: 'length', headerBytes: 4, littleEndian, maxFrameSize: 64 });
      core.push(client, Uint8Array.from([...header, 1, 2, 3]), T0);
      expect(core.nextFrameLength(client)).toBe(K.ERR_FRAME_TOO_LARGE);
    });

    it('takes a header announcing exactly maxFrameSize, and refuses one more', () => {
      const { core, client } = withClient({ mode: 'length', headerBytes: 1, littleEndian: false, maxFrameSize: 5 });
      core.push(client, Uint8Array.from([5, 0x61, 0x62, 0x63, 0x64, 0x65, 6]), T0);
      expect(frame(core, client)).toBe('abcde');
      expect(frame(core, client)).toBe(K.ERR_FRAME_TOO_LARGE);
    });

    it('is too large when header and payload cannot fit the ring together', () => {
      const { core, client } = withClient({ mode: 'length', headerBytes: 2, littleEndian: false, maxFrameSize: 64 });
      core.push(client, Uint8Array.from([0, 63, ...new Uint8Array(50)]), T0);
      expect(core.nextFrameLength(client)).toBe(K.FRAME_PENDING);
      core.push(client, new Uint8Array(12), T0);
      expect(info(core, client).rxUsed).toBe(64);
      expect(core.nextFrameLength(client)).toBe(K.ERR_FRAME_TOO_LARGE);
    });

    it('is truncated at end of stream inside a header or a payload', () => {
      const { core, client } = withClient({ mode: 'length', headerBytes: 4, littleEndian: false, maxFrameSize: 16 });
      core.push(client, Uint8Array.of(0, 0, 0, 2, 0x61, 0x62, 0, 0), T0);
      core.eof(client);
      expect(frame(core, client)).toBe('ab');
      expect(frame(core, client)).toBe(K.ERR_FRAME_TRUNCATED);
      expect(info(core, client).rxUsed).toBe(2);
    });

    it('restarts a header that a raw read took part of', () => {
      const { core, client } = withClient({ mode: 'length', headerBytes: 2, littleEndian: false, maxFrameSize: 16 });
      core.push(client, Uint8Array.of(9, 0), T0);
      readExactly(core, client, 1);
      core.push(client, Uint8Array.of(1, 0x7a), T0);
      expect(frame(core, client)).toBe('z');
    });
  });

  describe('fixed', () => {
    it('cuts frames of exactly size bytes, truncated at end of stream', () => {
      const { core, client } = withClient({ mode: 'fixed', size: 3 });
      core.push(client, bytes('abcdefgh'), T0);
      core.eof(client);
      expect(frames(core, client)).toEqual(['abc', 'def', K.ERR_FRAME_TRUNCATED]);
      readExactly(core, client, 2);
      expect(frame(core, client)).toBe(K.END_OF_STREAM);
    });
  });

  describe('#readFrame', () => {
    it('answers ERR_RANGE for a buffer shorter than the payload, consuming nothing', () => {
      const { core, client } = withClient(LINE);
      core.push(client, bytes('abc\n'), T0);
      expect(core.readFrame(client, new Uint8Array(2))).toBe(K.ERR_RANGE);
      expect(info(core, client).rxUsed).toBe(4);
      const dst = new Uint8Array(10).fill(0xee);
      expect(core.readFrame(client, dst)).toBe(3);
      expect(text(dst.subarray(0, 3))).toBe('abc');
      expect(dst[3]).toBe(0xee);
    });

    it('reads a frame larger than the staging area', () => {
      const { core, client } = withClient({ mode: 'fixed', size: 3000 }, { rxBufferSize: 4096, highWatermark: 4096, lowWatermark: 0, stagingSize: 1024 });
      const data = Uint8Array.from({ length: 3000 }, (_, i) => i % 251);
      core.push(client, new Uint8Array(2000), T0);
      readExactly(core, client, 2000);
      // Starts 2000 bytes in, so the frame wraps the 4 KiB ring.
      expect(core.push(client, data, T0)).toBe(3000);
      const dst = new Uint8Array(3000);
      expect(core.readFrame(client, dst)).toBe(3000);
      expect(dst).toEqual(data);
    });

    it('answers ERR_STALE for a stale handle', () => {
      const { core, client } = withClient(LINE);
      expect(core.nextFrameLength(asHandle(client + 1))).toBe(K.ERR_STALE);
      expect(core.readFrame(asHandle(client + 1), new Uint8Array(4))).toBe(K.ERR_STALE);
    });

    it('delivers each byte once, in order, whichever of read and readFrame takes it', () => {
      const { core, client } = withClient(LINE);
      core.push(client, bytes('ab\ncd\nef\n'), T0);
      expect(text(readExactly(core, client, 1))).toBe('a');
      expect(frame(core, client)).toBe('b');
      expect(text(readExactly(core, client, 4))).toBe('cd\ne');
      expect(frames(core, client)).toEqual(['f', K.FRAME_PENDING]);
    });
  });

  describe('RECV in a framed mode', () => {
    it('is queued only once a whole frame is in: half a line wakes nobody', () => {
      const { core, client } = withClient(LINE);
      core.push(client, bytes('half'), T0);
      expect(drainEvents(core)).toEqual([]);
      expect(info(core, client).flags & K.FLAG_RECV_PENDING).toBe(0);
      core.push(client, bytes(' a line\nand'), T0);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
    });

    it('is queued by setFraming when the new mode has something to report, and by eof', () => {
      const { core, client } = withClient(LINE);
      core.push(client, bytes('a|b'), T0);
      expect(drainEvents(core)).toEqual([]);
      expect(core.setFraming(client, { mode: 'delimiter', delimiter: bytes('|'), maxFrameSize: 8 })).toBe(K.OK);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
      expect(core.setFraming(client, { mode: 'fixed', size: 8 })).toBe(K.OK);
      expect(drainEvents(core)).toEqual([]);
      core.eof(client);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
    });

    it('in RAW, setFraming queues RECV when any byte is buffered', () => {
      const { core, client } = withClient({ mode: 'fixed', size: 8 });
      core.push(client, bytes('abc'), T0);
      expect(drainEvents(core)).toEqual([]);
      expect(core.setFraming(client, { mode: 'raw' })).toBe(K.OK);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client]));
    });
  });

  describe('flow control in a framed mode', () => {
    it('ignores the watermarks: pauses when the ring is full, resumes when a read frees any room', () => {
      const { core, client } = withClient({ mode: 'fixed', size: 10 });
      core.push(client, new Uint8Array(63), T0);
      expect(core.stats().paused).toBe(0);
      core.push(client, new Uint8Array(1), T0);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client], ['PAUSE', client]));
      expect(frame(core, client)).toBe('\0'.repeat(10));
      expect(drainEvents(core)).toEqual(events(core, ['RESUME', client]));
    });

    it('reports a full ring without a whole frame as too large', () => {
      const { core, client } = withClient(LINE);
      core.push(client, new Uint8Array(64).fill(0x61), T0);
      expect(drainEvents(core)).toEqual(events(core, ['RECV', client], ['PAUSE', client]));
      expect(core.nextFrameLength(client)).toBe(K.ERR_FRAME_TOO_LARGE);
      // It stays too large at end of stream: nothing was consumed.
      core.eof(client);
      expect(core.nextFrameLength(client)).toBe(K.ERR_FRAME_TOO_LARGE);
    });

    it('re-evaluates on a mode switch: to RAW above highWatermark stays paused, to RAW at lowWatermark resumes', () => {
      const { core, client } = withClient({ mode: 'fixed', size: 64 });
      core.push(client, new Uint8Array(64), T0);
      drainEvents(core);
      readExactly(core, client, 10);
      expect(drainEvents(core)).toEqual(events(core, ['RESUME', client]));
      expect(core.setFraming(client, { mode: 'raw' })).toBe(K.OK);
      // 54 bytes ≥ highWatermark 48: RAW pauses.
      expect(drainEvents(core)).toEqual(events(core, ['PAUSE', client], ['RECV', client]));
      readExactly(core, client, 38);
      expect(drainEvents(core)).toEqual(events(core, ['RESUME', client]));
    });
  });
});
