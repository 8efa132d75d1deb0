import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { connect, killAll, spawnExample } from './helpers.js';

afterEach(killAll);

function frame(payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}

/** Collects reply frames from `socket`. */
function frameReader(socket: Socket): (ms?: number) => Promise<Buffer> {
  let pending = Buffer.alloc(0);
  const ready: Buffer[] = [];
  const waiters: Array<(frame: Buffer) => void> = [];
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      const length = pending.readUInt32BE(0);
      const f = pending.subarray(4, 4 + length);
      pending = pending.subarray(4 + length);
      const waiter = waiters.shift();
      if (waiter) waiter(f);
      else ready.push(f);
    }
  });
  return (ms = 5000) => {
    const f = ready.shift();
    if (f) return Promise.resolve(f);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply frame within ${ms} ms`)), ms);
      waiters.push((got) => {
        clearTimeout(timer);
        resolve(got);
      });
    });
  };
}

it('answers ECHO, SUM and SHA256 frames, with headers and payloads split across writes', async () => {
  const server = spawnExample('binary-rpc');
  const port = await server.listeningPort();
  const socket = await connect(port);
  const next = frameReader(socket);
  const big = Buffer.alloc(300_000, 7);
  const sums = Buffer.alloc(12);
  sums.writeUInt32BE(4_000_000_000, 0);
  sums.writeUInt32BE(4_000_000_000, 4);
  sums.writeUInt32BE(5, 8);
  const wire = Buffer.concat([
    frame(Buffer.concat([Buffer.of(1), Buffer.from('hello')])),
    frame(Buffer.concat([Buffer.of(2), sums])),
    frame(Buffer.concat([Buffer.of(3), big])),
    frame(Buffer.of(9)),
  ]);
  // Split into odd pieces so headers and payloads cross write boundaries.
  for (let at = 0; at < wire.length; at += 1337) socket.write(wire.subarray(at, at + 1337));
  expect((await next()).toString('latin1')).toBe('\u0000hello');
  const sum = await next();
  expect(sum[0]).toBe(0);
  expect(sum.readBigUInt64BE(1)).toBe(8_000_000_005n);
  const digest = await next();
  expect(digest.subarray(1)).toEqual(createHash('sha256').update(big).digest());
  const unknown = await next();
  expect(unknown[0]).toBe(1);
  expect(unknown.subarray(1).toString()).toBe('unknown operation 9');
  server.signal('SIGTERM');
  expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
});
