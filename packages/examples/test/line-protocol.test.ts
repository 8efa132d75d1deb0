import { afterEach, expect, it } from 'vitest';
import { connect, killAll, pythonExchange, readToEnd, spawnExample } from './helpers.js';

afterEach(killAll);

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

it('answers PING, TIME, unknown and QUIT across partial and packed lines, then closes', async () => {
  const server = spawnExample('line-protocol');
  const port = await server.listeningPort();
  // Python sends each string as its own segment: a command split in two, several per segment.
  const { received, eof } = await pythonExchange('127.0.0.1', port, ['PI', 'NG\r\nTIME\nfoo\n\nQU', 'IT\nPING\n']);
  const lines = received.split('\n');
  expect(lines[0]).toBe('PONG');
  expect(lines[1]).toMatch(ISO_TIME);
  expect(lines.slice(2)).toEqual(['ERR unknown command', 'BYE', '']); // nothing after QUIT
  expect(eof).toBe(true);
});

it('answers a client that half-closes (its unterminated last line too, as readline), then closes too', async () => {
  const server = spawnExample('line-protocol');
  const port = await server.listeningPort();
  const { received, eof } = await pythonExchange('127.0.0.1', port, ['ping\nTIME'], true);
  const lines = received.split('\n');
  expect(lines[0]).toBe('PONG');
  expect(lines[1]).toMatch(ISO_TIME);
  expect(lines.slice(2)).toEqual(['']);
  expect(eof).toBe(true);
});

it('closes a client whose line is longer than 1024 bytes (without answering it), and stops on SIGTERM', async () => {
  const server = spawnExample('line-protocol');
  const port = await server.listeningPort();
  const socket = await connect(port);
  const result = readToEnd(socket);
  socket.write('A'.repeat(2000));
  expect((await result).data.toString()).toBe('');
  server.signal('SIGTERM');
  expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
});
