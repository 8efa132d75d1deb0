/**
 * accept(): timeouts and polling, FIFO order, a client gone before it was accepted, abort
 * signals, destroy, and for await over the server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, ServerDestroyedError, WAIT_FOREVER } from '../src/index.js';
import { cleanUp } from './support/cleanup.js';
import { dial, startServer, waitFor } from './support/helpers.js';

afterEach(cleanUp);

describe('#accept', () => {
  it('resolves null after the timeout when nobody connects', async () => {
    const server = await startServer();
    expect(await server.accept(30)).toBeNull();
  });

  it('polls with timeout 0: null at once, a client once one waits', async () => {
    const server = await startServer();
    expect(await server.accept(0)).toBeNull();
    await dial(server);
    await waitFor(() => server.stats().pendingAccept === 1, 'the client to be queued');
    const client = await server.accept(0);
    expect(client?.id).toBe(1);
    expect(server.stats().pendingAccept).toBe(0);
  });

  it('waits forever until a client connects, in FIFO order', async () => {
    const server = await startServer();
    const first = server.accept(WAIT_FOREVER);
    const second = server.accept();
    await dial(server);
    await dial(server);
    expect((await first)?.id).toBe(1);
    expect((await second)?.id).toBe(2);
  });

  it('skips a client that disconnected before it was accepted', async () => {
    const server = await startServer();
    const gone = await dial(server);
    await waitFor(() => server.stats().pendingAccept === 1, 'first client queued');
    gone.resetAndDestroy(); // a FIN alone would leave it queued: the peer may still read
    await waitFor(() => server.stats().pendingAccept === 0, 'first client to leave the queue');
    await dial(server);
    expect((await server.accept(2000))?.id).toBe(2);
  });

  it('rejects with AbortError when the signal fires, and leaves the queue intact', async () => {
    const server = await startServer();
    const controller = new AbortController();
    const pending = server.accept(WAIT_FOREVER, controller.signal);
    controller.abort(new Error('stop'));
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).code).toBe('ABORT_ERR');
    await dial(server);
    expect((await server.accept(2000))?.id).toBe(1);
  });

  it('rejects pending and later accepts with ServerDestroyedError after destroy', async () => {
    const server = await startServer({ name: 'srv' });
    const pending = server.accept().catch((e: unknown) => e);
    await server.destroy();
    expect(await pending).toBeInstanceOf(ServerDestroyedError);
    await expect(server.accept(0)).rejects.toMatchObject({
      code: 'ERR_TCPSERV_SERVER_DESTROYED',
      message: 'server "srv" has been destroyed',
    });
  });

  it('iterates clients with for await until the server is destroyed', async () => {
    const server = await startServer();
    const ids: number[] = [];
    const loop = (async () => {
      for await (const client of server) {
        ids.push(client.id);
        if (ids.length === 3) void server.destroy();
      }
    })();
    for (let i = 0; i < 3; i++) await dial(server);
    await loop;
    expect(ids).toEqual([1, 2, 3]);
  });
});
