import { afterEach, expect, it } from 'vitest';
import { connect, killAll, lineReader, spawnExample } from './helpers.js';

afterEach(killAll);

it('broadcasts each line to every other client, whole lines only, and stops on SIGINT', async () => {
  const server = spawnExample('chat');
  const port = await server.listeningPort();
  const join = async (): Promise<{ socket: Awaited<ReturnType<typeof connect>>; next: ReturnType<typeof lineReader> }> => {
    const socket = await connect(port);
    return { socket, next: lineReader(socket) };
  };

  const a = await join();
  expect(await a.next()).toBe('* you are 1; 0 other(s) here');
  const b = await join();
  expect(await b.next()).toBe('* you are 2; 1 other(s) here');
  expect(await a.next()).toBe('* 2 joined');
  const c = await join();
  expect(await c.next()).toBe('* you are 3; 2 other(s) here');
  expect(await a.next()).toBe('* 3 joined');
  expect(await b.next()).toBe('* 3 joined');

  // A line split over two writes, then two lines in one write.
  a.socket.write('hel');
  await new Promise((resolve) => setTimeout(resolve, 50));
  a.socket.write('lo\nsecond line\n');
  for (const other of [b, c]) {
    expect(await other.next()).toBe('1: hello');
    expect(await other.next()).toBe('1: second line');
  }
  b.socket.write('hi from 2\r\n');
  expect(await c.next()).toBe('2: hi from 2');
  // A got no echo of its own lines: the next thing it sees is B's line.
  expect(await a.next()).toBe('2: hi from 2');

  c.socket.end();
  expect(await a.next()).toBe('* 3 left');
  expect(await b.next()).toBe('* 3 left');

  server.signal('SIGINT');
  expect(await server.waitForExit()).toEqual({ code: 0, signal: null });
});
