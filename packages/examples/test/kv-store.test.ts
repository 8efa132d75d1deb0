import { afterEach, expect, it } from 'vitest';
import { connect, killAll, lineReader, pythonExchange, spawnExample } from './helpers.js';

afterEach(killAll);

it('stores, reads and deletes keys over lines split anywhere, CRLF or LF (Python peer)', async () => {
  const server = spawnExample('kv-store');
  const port = await server.listeningPort();
  const { received, eof } = await pythonExchange('127.0.0.1', port, ['SET a hello wo', 'rld\r\nGET a\nGE', 'T b\r\nDEL a\nDEL a\nGET a\nbogus\n'], true);
  expect(received.split('\n')).toEqual(['OK', 'hello world', 'NIL', '1', '0', 'NIL', 'ERR usage: SET k v | GET k | DEL k', '']);
  expect(eof).toBe(true);
});

it('answers a request split at every byte position, and multi-byte UTF-8 split across writes', async () => {
  const server = spawnExample('kv-store');
  const port = await server.listeningPort();
  const socket = await connect(port);
  const next = lineReader(socket);
  const request = Buffer.from('SET ключ значение ✓\n');
  for (let i = 0; i < request.length; i++) {
    socket.write(request.subarray(i, i + 1));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  expect(await next()).toBe('OK');
  socket.write(Buffer.from('GET ключ\n'));
  expect(await next()).toBe('значение ✓');
  server.signal('SIGTERM');
  expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
});

it('answers an unterminated last line at end of stream (as readline), and resets a client whose line is over 4 KiB', async () => {
  const server = spawnExample('kv-store');
  const port = await server.listeningPort();
  expect(await pythonExchange('127.0.0.1', port, ['SET k v\nGET k'], true)).toEqual({ received: 'OK\nv\n', eof: true });
  // A frame over maxFrameSize is a protocol violation: the server resets that client at once
  // (closeReason 'frame'), answering nothing.
  const big = await pythonExchange('127.0.0.1', port, [`SET k ${'x'.repeat(5000)}\n`]);
  expect(big).toEqual({ received: '', eof: false, reset: true });
  // Other clients are not affected.
  expect(await pythonExchange('127.0.0.1', port, ['GET k\n'], true)).toEqual({ received: 'v\n', eof: true });
});
