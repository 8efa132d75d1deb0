/**
 * clients() and the counters: stats() of the server and of each client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp } from './support/cleanup.js';
import { dial, readExactly, startServer } from './support/helpers.js';

afterEach(cleanUp);

describe('#clients and #stats', () => {
  it('lists connected clients and counts bytes both ways', async () => {
    const server = await startServer();
    const socket = await dial(server);
    const client = (await server.accept(2000))!;
    socket.write('12345');
    const buf = Buffer.alloc(16);
    expect(await client.recv(buf, 2000)).toBe(5);
    await client.send('abc');
    await readExactly(socket, 3);
    expect([...server.clients()].map((c) => c.id)).toEqual([1]);
    expect(server.stats()).toMatchObject({ live: 1, opened: 1, bytesIn: 5, bytesOut: 3 });
    expect(client.stats).toMatchObject({ bytesIn: 5, bytesOut: 3, rxBuffered: 0, paused: false });
  });
});
