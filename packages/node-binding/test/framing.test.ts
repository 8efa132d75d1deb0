/**
 * Framing: the core cuts each client's bytes into messages (line, delimiter, length-prefixed,
 * fixed) and the binding hands them out whole — recvFrame, tryRecvFrame in the notify
 * callback, frames() — and encodes them on the way out (sendFrame). Real sockets on loopback;
 * peers write frames split at every byte position.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import {
  FrameError, FrameTooLargeError, InvalidArgumentError, SendTimeoutError, TcpEvent, createServer,
  type Client, type Framing, type TcpServer,
} from '../src/index.js';
import { addr, delay, destroyAll, dial, pair, pairWithPausedPeer, readExactly, waitFor } from './support/helpers.js';

afterEach(destroyAll);

/** Writes `bytes` one byte per event-loop turn, so the server sees every split. */
async function trickle(peer: Socket, bytes: Uint8Array): Promise<void> {
  for (let i = 0; i < bytes.length; i++) {
    peer.write(bytes.subarray(i, i + 1));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** recvFrame until `count` frames (as utf8), failing on timeout. */
async function frames(client: Client, count: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < count) {
    const frame = await client.recvFrame(5000);
    if (frame === undefined) throw new Error(`no frame within 5 s after ${out.length}`);
    if (frame === null) throw new Error(`end of stream after ${out.length} frames`);
    out.push(frame.toString('utf8'));
  }
  return out;
}

function lengthFrame(payload: Buffer, headerBytes: 1 | 2 | 4, endian: 'be' | 'le'): Buffer {
  const header = Buffer.alloc(headerBytes);
  if (headerBytes === 1) header.writeUInt8(payload.length);
  else if (headerBytes === 2) (endian === 'be' ? header.writeUInt16BE(payload.length) : header.writeUInt16LE(payload.length));
  else (endian === 'be' ? header.writeUInt32BE(payload.length) : header.writeUInt32LE(payload.length));
  return Buffer.concat([header, payload]);
}

describe('receiving frames', () => {
  it('line: LF and CRLF, empty lines, multi-byte UTF-8, split at every byte position', async () => {
    const { peer, client } = await pair({ framing: 'line', rxBufferSize: 64 });
    const text = 'GET ключ\r\n\nzwölf ✓\nlast\r\n';
    await trickle(peer, Buffer.from(text));
    expect(await frames(client, 4)).toEqual(['GET ключ', '', 'zwölf ✓', 'last']);
    expect(client.tryRecvFrame()).toBeUndefined(); // nothing more yet
  });

  it('delimiter: a two-byte delimiter split across writes and across the ring wrap', async () => {
    const { peer, client } = await pair({ framing: { type: 'delimiter', delimiter: '||' }, rxBufferSize: 64 });
    const messages = Array.from({ length: 20 }, (_, i) => `m${i}-${'x'.repeat(i)}`);
    await trickle(peer, Buffer.from(messages.map((m) => `${m}||`).join('')));
    expect(await frames(client, messages.length)).toEqual(messages);
  });

  it.each([
    [1, 'be'], [2, 'be'], [2, 'le'], [4, 'be'], [4, 'le'],
  ] as const)('length: %i-byte %s headers, 0-byte frames, headers split across writes', async (headerBytes, endian) => {
    const { peer, client } = await pair({ framing: { type: 'length', headerBytes, endian }, rxBufferSize: 256 });
    const payloads = ['', 'a', 'hello', 'x'.repeat(200), ''].map((s) => Buffer.from(s));
    await trickle(peer, Buffer.concat(payloads.map((p) => lengthFrame(p, headerBytes, endian))));
    expect(await frames(client, payloads.length)).toEqual(payloads.map((p) => p.toString()));
  });

  it('fixed: exactly size bytes per frame', async () => {
    const { peer, client } = await pair({ framing: { type: 'fixed', size: 5 } });
    await trickle(peer, Buffer.from('abcdefghijklmno'));
    expect(await frames(client, 3)).toEqual(['abcde', 'fghij', 'klmno']);
  });

  it('big frames: 1 MiB length-prefixed frames through a 2 MiB ring, byte-exact', async () => {
    const { peer, client } = await pair({ framing: { type: 'length', headerBytes: 4 }, rxBufferSize: 2 * 1024 * 1024, maxSockets: 4 });
    const payloads = [0, 1, 2].map((seed) => Buffer.alloc(1024 * 1024, seed + 1));
    for (const p of payloads) peer.write(lengthFrame(p, 4, 'be'));
    for (const p of payloads) expect((await client.recvFrame(10_000))!.equals(p)).toBe(true);
  });
});

describe('end of stream', () => {
  it('line and delimiter: an unterminated last piece is a final frame (as readline), then null', async () => {
    const { peer, client } = await pair({ framing: 'line' });
    peer.end('one\ntwo');
    expect(await frames(client, 2)).toEqual(['one', 'two']);
    expect(await client.recvFrame(5000)).toBeNull();
    expect(client.tryRecvFrame()).toBeNull();
  });

  it.each([
    ['length', { type: 'length', headerBytes: 2 }, Buffer.from([0, 10, 1, 2, 3]), 5],
    ['fixed', { type: 'fixed', size: 8 }, Buffer.from('abc'), 3],
  ] as const)('%s: a partial frame rejects with FrameError (ERR_TCPSERV_FRAME_TRUNCATED) naming the bytes left', async (_mode, framing, partial, left) => {
    const { peer, client } = await pair({ framing: framing as Framing });
    peer.end(partial);
    const error = await client.recvFrame(5000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FrameError);
    expect((error as FrameError).code).toBe('ERR_TCPSERV_FRAME_TRUNCATED');
    expect((error as FrameError).bytesLeft).toBe(left);
  });
});

describe('frames larger than maxFrameSize', () => {
  it('close the client (closeReason frame), reject recvFrame, count in stats(); other clients go on', async () => {
    const server = await createServer({ host: '127.0.0.1', port: 0, framing: { type: 'line', maxFrameSize: 100 }, rxBufferSize: 1024 });
    const bad = await dial(server);
    bad.on('error', () => {});
    const good = await dial(server);
    const a = (await server.accept(5000))!;
    const b = (await server.accept(5000))!;
    const [badClient, goodClient] = a.remotePort === bad.localPort ? [a, b] : [b, a];
    const pending = badClient.recvFrame(5000);
    bad.write('x'.repeat(200)); // no newline: more than maxFrameSize + 1 bytes of one line
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect((error as FrameTooLargeError).code).toBe('ERR_TCPSERV_FRAME_TOO_LARGE');
    await waitFor(() => badClient.disconnected, 'the oversize client gone');
    expect(badClient.closeReason).toBe('frame');
    expect(server.stats().frameErrors).toBe(1);
    good.write('still fine\n');
    expect((await goodClient.recvFrame(5000))?.toString()).toBe('still fine');
    await server.destroy();
  });

  it('a length header announcing too much is refused before its payload arrives', async () => {
    const { server, peer, client } = await pair({ framing: { type: 'length', headerBytes: 4, maxFrameSize: 1000 } });
    peer.on('error', () => {});
    const pending = client.recvFrame(5000);
    peer.write(Buffer.from([0, 0, 0x10, 0])); // 4096 announced, nothing of it sent
    expect(await pending.catch((e: unknown) => e)).toBeInstanceOf(FrameTooLargeError);
    expect(server.stats().frameErrors).toBe(1);
  });
});

describe('the notify callback in a framed mode', () => {
  it('hears RECV only for whole frames: half a line wakes nobody', async () => {
    const got: string[] = [];
    let recvEvents = 0;
    const server = await createServer({
      host: '127.0.0.1', port: 0, framing: 'line',
      notify: (client, event) => {
        if (event !== TcpEvent.RECV) return;
        recvEvents++;
        for (let f = client.tryRecvFrame(); f; f = client.tryRecvFrame()) got.push(f.toString());
      },
    });
    const peer = await dial(server);
    await waitFor(() => server.stats().live === 1, 'the client');
    peer.write('half a li');
    await delay(100);
    expect(recvEvents).toBe(0);
    peer.write('ne\nand two\nmore\n');
    await waitFor(() => got.length === 3, 'three lines');
    expect(got).toEqual(['half a line', 'and two', 'more']);
    await server.destroy();
  });
});

describe('frames() and mixed reads', () => {
  it('frames() yields each frame; leaving the loop early closes the client', async () => {
    const { peer, client } = await pair({ framing: 'line' });
    peer.write('a\nb\nc\n');
    const seen: string[] = [];
    for await (const frame of client.frames()) {
      seen.push(frame.toString());
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['a', 'b']);
    await waitFor(() => client.closed, 'the client closed after break');
  });

  it('setFraming mid-stream reads what is buffered under the new mode; recv takes raw bytes and moves the frame position', async () => {
    const { peer, client } = await pair();
    peer.write('HELLO\nrest-of-line\n\x00\x03abc');
    await waitFor(() => client.stats.bytesIn === 24, 'all bytes in');
    const head = Buffer.alloc(6);
    expect(await client.recv(head, 1000)).toBe(6); // raw: 'HELLO\n'
    client.setFraming('line');
    expect(client.framing).toEqual({ type: 'line', maxFrameSize: 16384 });
    expect(await frames(client, 1)).toEqual(['rest-of-line']);
    client.setFraming({ type: 'length', headerBytes: 2 });
    expect(await frames(client, 1)).toEqual(['abc']);
  });
});

describe('sendFrame', () => {
  it.each([
    ['line', 'line' as Framing, Buffer.from('hi\n')],
    ['delimiter', { type: 'delimiter', delimiter: '\r\n\r\n' } as Framing, Buffer.from('hi\r\n\r\n')],
    ['length 2 le', { type: 'length', headerBytes: 2, endian: 'le' } as Framing, Buffer.from([2, 0, 0x68, 0x69])],
    ['length 4 be', { type: 'length', headerBytes: 4 } as Framing, Buffer.from([0, 0, 0, 2, 0x68, 0x69])],
    ['fixed 2', { type: 'fixed', size: 2 } as Framing, Buffer.from('hi')],
  ])('%s encodes the frame', async (_name, framing, wire) => {
    const { peer, client } = await pair({ framing });
    expect(await client.sendFrame('hi', 5000)).toBe(wire.length);
    expect(await readExactly(peer, wire.length)).toEqual(wire);
  });

  it.each([
    ['line', 'line' as Framing, Buffer.from('\n')],
    ['delimiter', { type: 'delimiter', delimiter: '||' } as Framing, Buffer.from('||')],
    ['length 2', { type: 'length', headerBytes: 2 } as Framing, Buffer.from([0, 0])],
  ])('%s: an empty frame is just its terminator or header, also batched with others', async (_name, framing, wire) => {
    const { peer, client } = await pair({ framing });
    const sends = [client.sendFrame(''), client.sendFrame(Buffer.alloc(0)), client.sendFrame('')];
    expect(await Promise.all(sends)).toEqual([wire.length, wire.length, wire.length]);
    expect(await readExactly(peer, 3 * wire.length)).toEqual(Buffer.concat([wire, wire, wire]));
  });

  it('refuses what cannot be framed: raw mode, a newline inside a line, a fixed frame of the wrong size', async () => {
    const raw = await pair();
    expect(() => raw.client.sendFrame('x')).toThrow(InvalidArgumentError);
    const line = await pair({ framing: 'line' });
    expect(() => line.client.sendFrame('a\nb')).toThrow(InvalidArgumentError);
    const fixed = await pair({ framing: { type: 'fixed', size: 4 } });
    expect(() => fixed.client.sendFrame('abc')).toThrow(InvalidArgumentError);
  });

  it('a frame that times out half sent aborts the client, and the error says it was torn', async () => {
    const { client } = await pairWithPausedPeer({ framing: { type: 'length', headerBytes: 4 }, maxSendQueue: 64 * 1024 * 1024 });
    const error = await client.sendFrame(Buffer.alloc(32 * 1024 * 1024, 7), 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendTimeoutError);
    expect((error as SendTimeoutError).torn).toBe(true);
    expect((error as SendTimeoutError).message).toMatch(/torn/);
    await waitFor(() => client.closed, 'the client aborted');
  });
});

describe('bad framing options', () => {
  it.each([
    [{ type: 'nope' }, 'options.framing.type'],
    [{ type: 'line', maxFrameSize: 0 }, 'options.framing.maxFrameSize'],
    [{ type: 'line', maxFrameSize: 20000 }, 'options.framing.maxFrameSize'],
    [{ type: 'delimiter', delimiter: '' }, 'options.framing.delimiter'],
    [{ type: 'delimiter', delimiter: 'x'.repeat(17) }, 'options.framing.delimiter'],
    [{ type: 'length', headerBytes: 3 }, 'options.framing.headerBytes'],
    [{ type: 'length', headerBytes: 2, endian: 'middle' }, 'options.framing.endian'],
    [{ type: 'fixed', size: 0 }, 'options.framing.size'],
    [{ type: 'line', extra: 1 }, 'options.framing.extra'],
    [42, 'options.framing'],
  ])('%j throws InvalidArgumentError naming %s', async (framing, argument) => {
    let error: unknown;
    try {
      await createServer({ host: '127.0.0.1', port: 0, framing: framing as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });

  it('setFraming checks the same way, naming its own argument, and leaves the mode unchanged', async () => {
    const { client } = await pair({ framing: 'line' });
    expect(() => client.setFraming({ type: 'fixed', size: -1 } as Framing)).toThrow(InvalidArgumentError);
    expect(client.framing.type).toBe('line');
  });
});

// One server reused: the servers above are per test; this checks the server-wide default
// applies to every client and a per-client change stays per client.
describe('framing is per client', () => {
  it("a client's setFraming leaves the others on the server's default", async () => {
    const server: TcpServer = await createServer({ host: '127.0.0.1', port: 0, framing: 'line' });
    const p1 = await dial(server);
    const p2 = await dial(server);
    const c1 = (await server.accept(5000))!;
    const c2 = (await server.accept(5000))!;
    c1.setFraming({ type: 'fixed', size: 2 });
    expect(c2.framing.type).toBe('line');
    const [first, second] = c1.remotePort === p1.localPort ? [p1, p2] : [p2, p1];
    first.write('abcd');
    second.write('ab\ncd\n');
    expect(await frames(c1, 2)).toEqual(['ab', 'cd']);
    expect(await frames(c2, 2)).toEqual(['ab', 'cd']);
    expect(addr(server).port).toBeGreaterThan(0);
    await server.destroy();
  });
});
