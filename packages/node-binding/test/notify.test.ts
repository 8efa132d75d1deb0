/**
 * The notify callback: CONNECT, RECV and DISCONNECT once each and in order, beside accept(),
 * a throwing or rejecting callback reported to onError, and leftover bytes readable during
 * DISCONNECT.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TcpEvent } from '../src/index.js';
import { cleanUp } from './support/cleanup.js';
import { delay, dial, startServer, waitFor } from './support/helpers.js';

afterEach(cleanUp);

describe('#setNotifyCallback', () => {
  it('delivers CONNECT once, RECV for data and DISCONNECT once, in order', async () => {
    const server = await startServer();
    const events: string[] = [];
    const received: string[] = [];
    const buf = Buffer.alloc(64);
    server.setNotifyCallback((client, event) => {
      events.push(`${client.id}:${event}`);
      if (event === TcpEvent.RECV) {
        for (let n = client.tryRecv(buf); n; n = client.tryRecv(buf)) received.push(buf.toString('utf8', 0, n));
      }
    });
    const socket = await dial(server);
    socket.write('hello');
    await waitFor(() => received.join('') === 'hello', 'the bytes');
    socket.destroy();
    await waitFor(() => events.includes('1:DISCONNECT'), 'DISCONNECT');
    await delay(20);
    expect(events[0]).toBe('1:CONNECT');
    expect(events.at(-1)).toBe('1:DISCONNECT');
    expect(events.filter((e) => e === '1:CONNECT')).toHaveLength(1);
    expect(events.filter((e) => e === '1:DISCONNECT')).toHaveLength(1);
  });

  it('works alongside accept on the same server', async () => {
    const server = await startServer();
    const connected: number[] = [];
    server.setNotifyCallback((client, event) => {
      if (event === TcpEvent.CONNECT) connected.push(client.id);
    });
    await dial(server);
    const client = await server.accept(2000);
    expect(client?.id).toBe(1);
    expect(connected).toEqual([1]);
  });

  it('passes a throwing or rejecting callback to onError and keeps serving', async () => {
    const errors: unknown[] = [];
    const server = await startServer({ onError: (error) => errors.push(error) });
    server.setNotifyCallback((_client, event) => {
      if (event === TcpEvent.CONNECT) throw new Error('sync boom');
      if (event === TcpEvent.RECV) return Promise.reject(new Error('async boom'));
      return undefined;
    });
    const socket = await dial(server);
    socket.write('x');
    await waitFor(() => errors.length === 2, 'both errors');
    expect((errors as Error[]).map((e) => e.message).sort()).toEqual(['async boom', 'sync boom']);
    expect(server.stats().live).toBe(1);
  });

  it('keeps an unaccepted client\'s leftover bytes readable inside its DISCONNECT callback', async () => {
    const server = await startServer();
    let leftover = '';
    server.setNotifyCallback(async (client, event) => {
      if (event !== TcpEvent.DISCONNECT) return;
      const buf = Buffer.alloc(3);
      for (let n = await client.recv(buf, 0); n; n = await client.recv(buf, 0)) leftover += buf.toString('utf8', 0, n);
    });
    const socket = await dial(server);
    socket.write('bytes before the end');
    await waitFor(() => server.stats().bytesIn === 20, 'the bytes to arrive');
    socket.resetAndDestroy();
    await waitFor(() => server.stats().closed === 1, 'the disconnect');
    // The client was never accepted and the callback read during DISCONNECT only.
    await waitFor(() => leftover === 'bytes before the end', 'the leftover bytes');
    await waitFor(() => server.stats().usedSlots === 0, 'the slot to be released');
  });
});
