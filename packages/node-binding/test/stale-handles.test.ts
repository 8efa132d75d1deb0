/**
 * Stale handles: a Client whose slot another client now uses, a client closed by the app or
 * disconnected by its peer, a destroyed server and its clients. Each call gets a typed error
 * with a stable code and a message naming the argument and the rule — only close, abort and
 * destroy may be no-ops when repeated — and nothing about the server or the other clients
 * changes.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientClosedError, ServerDestroyedError, type Client, type TcpServer } from '../src/index.js';
import {
  BUF_RULE, DATA_RULE, TIMEOUT_RULE, closedReject, closedThrow, destroyedReject, destroyedThrow, invalid, runTable, type Row,
} from './support/call-table.js';
import { cleanUp } from './support/cleanup.js';
import { destroyAllWithin, dial, pair, readExactly, startServer, waitFor } from './support/helpers.js';

/** Rows every closed client (closed by the app, or destroyed with its server) must satisfy. */
function closedClientRows(client: Client, id: number): Row[] {
  const buf = Buffer.alloc(16);
  const signal = new AbortController().signal;
  return [
    ['recv(buf)', () => client.recv(buf), closedReject(id)],
    ['recv(buf, 0)', () => client.recv(buf, 0), closedReject(id)],
    ['recv(buf, 10, signal)', () => client.recv(buf, 10, signal), closedReject(id)],
    ['tryRecv(buf)', () => client.tryRecv(buf), closedThrow(id)],
    ['send("x")', () => client.send('x'), closedReject(id)],
    ['send(empty)', () => client.send(Buffer.alloc(0)), closedReject(id)],
    ['send(bytes, 0, signal)', () => client.send(new Uint8Array(3), 0, signal), closedReject(id)],
    ['recv("x")', () => client.recv('x' as never), invalid(`buf must be ${BUF_RULE} (got "x")`)],
    ['recv(Uint16Array)', () => client.recv(new Uint16Array(4) as never), invalid(`buf must be ${BUF_RULE} (got a Uint16Array)`)],
    ['recv(buf, 1.5)', () => client.recv(buf, 1.5), invalid(`timeout must be ${TIMEOUT_RULE} (got 1.5)`)],
    ['recv(buf, 0, {})', () => client.recv(buf, 0, {} as never), invalid('signal must be an AbortSignal or undefined (got an object (Object))')],
    ['tryRecv(empty)', () => client.tryRecv(new Uint8Array(0)), invalid(`buf must be ${BUF_RULE} (got a Uint8Array)`)],
    ['send(5)', () => client.send(5 as never), invalid(`data must be ${DATA_RULE} (got 5)`)],
    ['send(ArrayBuffer)', () => client.send(new ArrayBuffer(4) as never), invalid(`data must be ${DATA_RULE} (got an object (ArrayBuffer))`)],
    ['send(DataView)', () => client.send(new DataView(new ArrayBuffer(4)) as never), invalid(`data must be ${DATA_RULE} (got a DataView)`)],
    ['send("x", -2)', () => client.send('x', -2), invalid(`timeout must be ${TIMEOUT_RULE} (got -2)`)],
    ['close()', () => client.close(), { resolves: undefined }],
    ['close() again', () => client.close(), { resolves: undefined }],
    ['abort()', () => client.abort(), { resolves: undefined }],
    ['abort() again', () => client.abort(), { resolves: undefined }],
  ];
}

interface Live { server: TcpServer; peer: Socket; client: Client }

/** A live client that must not be touched by anything done to the stale one. */
async function liveClient(server: TcpServer, text: string): Promise<Live> {
  const peer = await dial(server);
  const client = (await server.accept(2000))!;
  peer.write(text);
  await waitFor(() => client.stats.bytesIn === text.length, 'the live client\'s bytes');
  return { server, peer, client };
}

async function expectUntouched({ server, peer, client }: Live, text: string, before: unknown): Promise<void> {
  expect(server.stats()).toEqual(before);
  expect(client.closed).toBe(false);
  expect(client.disconnected).toBe(false);
  const buf = Buffer.alloc(64);
  expect(client.tryRecv(buf)).toBe(text.length);
  expect(buf.toString('utf8', 0, text.length)).toBe(text);
  await client.send('pong');
  expect((await readExactly(peer, 4)).toString()).toBe('pong');
}

// A client whose socket never closes (see the same-tick abort tests in close.test.ts) would
// hang destroy(): these tables give up after a while so one failure does not take the rest of
// the file with it.
describe('a stale client (its slot reused by another client)', () => {
  afterEach(() => destroyAllWithin(2000));

  it('closed by the app: every call gets a typed error or is a no-op, and the client now in the slot is untouched', async () => {
    const server = await startServer({ maxSockets: 1, name: 'bad' });
    await dial(server);
    const stale = (await server.accept(2000))!;
    await stale.close();
    const live = await liveClient(server, 'kept for the new client');
    expect(live.client.id).toBe(2);
    expect(server.stats().usedSlots).toBe(1); // the same, single slot
    const staleStats = stale.stats;
    const before = server.stats();

    const rows: Row[] = [
      ...closedClientRows(stale, 1),
      ['for await (…) stops at once', async () => {
        for await (const chunk of stale) throw new Error(`got ${chunk.length} bytes from a stale client`);
      }, { resolves: undefined }],
    ];
    expect(await runTable(rows)).toEqual([]);
    expect(stale.stats).toEqual(staleStats);
    expect(stale.closeReason).toBe('close');
    await expectUntouched(live, 'kept for the new client', before);
  });

  it('disconnected by its peer and never closed by the app: end of stream, then typed errors once closed; the new client is untouched', async () => {
    const server = await startServer({ maxSockets: 1, name: 'bad' });
    const peer = await dial(server);
    const stale = (await server.accept(2000))!;
    peer.resetAndDestroy();
    await waitFor(() => stale.disconnected && server.stats().usedSlots === 0, 'the slot to be released');
    const live = await liveClient(server, 'for the new client only');
    const before = server.stats();
    const buf = Buffer.alloc(16);

    // Not closed by the app: recv reports end of stream (the documented outcome), send rejects.
    expect(await runTable([
      ['recv(buf)', () => stale.recv(buf), { resolves: null }],
      ['recv(buf, 0)', () => stale.recv(buf, 0), { resolves: null }],
      ['recv(buf, 50)', () => stale.recv(buf, 50), { resolves: null }],
      ['tryRecv(buf)', () => stale.tryRecv(buf), { returns: null }],
      ['send("x")', () => stale.send('x'), closedReject(1)],
      ['recv(buf, NaN)', () => stale.recv(buf, NaN), invalid(`timeout must be ${TIMEOUT_RULE} (got NaN)`)],
    ])).toEqual([]);
    // Closing it is a no-op for the connection (already gone) and must not reach the new client;
    // from then on its calls get ClientClosedError.
    await stale.close();
    expect(await runTable(closedClientRows(stale, 1))).toEqual([]);
    expect(stale.closeReason).toBe('error');
    await expectUntouched(live, 'for the new client only', before);
  });
});

describe('a stale client: #close and #abort', () => {
  afterEach(cleanUp);

  it('never lets an old client object reach the client that reuses its slot', async () => {
    const { server, client: old } = await pair({ maxSockets: 1 });
    await old.close();
    const peer = await dial(server);
    const fresh = (await server.accept(2000))!;
    expect(fresh.id).toBe(2);
    peer.write('for the new client');
    await waitFor(() => server.stats().bytesIn === 18, 'the bytes');
    expect(() => old.tryRecv(Buffer.alloc(32))).toThrow(ClientClosedError);
    await expect(old.send('x')).rejects.toBeInstanceOf(ClientClosedError);
    expect(old.stats.bytesIn).toBe(0);
    expect(fresh.tryRecv(Buffer.alloc(32))).toBe(18);
  });
});

describe('calls after destroy', () => {
  afterEach(() => destroyAllWithin(2000));

  async function destroyedServer(): Promise<{ server: TcpServer; client: Client }> {
    const server = await startServer({ name: 'gone', maxClients: 7 });
    const peer = await dial(server);
    const client = (await server.accept(2000))!;
    peer.write('unread');
    await waitFor(() => client.stats.bytesIn === 6, 'the bytes');
    await server.destroy();
    return { server, client };
  }

  it('accept, shutdown, destroy and the clients\' calls: typed errors, or no-ops for destroy and close', async () => {
    const { server, client } = await destroyedServer();
    const before = server.stats();
    const signal = new AbortController().signal;
    const destroyPromise = server.destroy();
    const rows: Row[] = [
      ['accept()', () => server.accept(), destroyedReject('gone')],
      ['accept(0)', () => server.accept(0), destroyedReject('gone')],
      ['accept(10, signal)', () => server.accept(10, signal), destroyedReject('gone')],
      ['accept(1.5)', () => server.accept(1.5), invalid(`timeout must be ${TIMEOUT_RULE} (got 1.5)`)],
      ['accept(0, "s")', () => server.accept(0, 's' as never), invalid('signal must be an AbortSignal or undefined (got "s")')],
      ['setMaxClients(0)', () => server.setMaxClients(0), invalid('maxClients must be an integer from 1 to 1024 (got 0)')],
      ['setNotifyCallback(5)', () => server.setNotifyCallback(5 as never), invalid('callback must be a function (got 5)')],
      ['shutdown(1.5)', () => server.shutdown(1.5), invalid(`timeout must be ${TIMEOUT_RULE} (got 1.5)`)],
      ['shutdown()', () => server.shutdown(), { resolves: undefined }],
      ['destroy()', () => server.destroy(), { resolves: undefined }],
      ['destroy() again', () => server.destroy(), { resolves: undefined }],
      ['for await (…) ends at once', async () => {
        for await (const c of server) throw new Error(`accepted client ${c.id} after destroy`);
      }, { resolves: undefined }],
      ...closedClientRows(client, 1).map(([label, call, expectation]): Row => [`client.${label}`, call, expectation]),
    ];
    expect(await runTable(rows)).toEqual([]);
    expect(server.destroy()).toBe(destroyPromise);
    expect([...server.clients()]).toEqual([]);
    expect(server.destroyed).toBe(true);
    expect(server.stats()).toEqual(before);
    expect(client.closeReason).toBe('server');
  });

  // Nothing is bound after destroy; ServerDestroyedError is documented for "accept (or another
  // server call) after destroy()", and address() already throws it when there is no address.
  it('address() throws ServerDestroyedError', async () => {
    const { server } = await destroyedServer();
    expect(await runTable([['address()', () => server.address(), destroyedThrow('gone')]])).toEqual([]);
  });

  it('setMaxClients(n) throws ServerDestroyedError and leaves stats().maxClients unchanged', async () => {
    const { server } = await destroyedServer();
    const before = server.stats();
    expect(await runTable([['setMaxClients(5)', () => server.setMaxClients(5), destroyedThrow('gone')]])).toEqual([]);
    expect(server.stats()).toEqual(before);
  });

  it('setNotifyCallback(fn) throws ServerDestroyedError', async () => {
    const { server } = await destroyedServer();
    expect(await runTable([['setNotifyCallback(fn)', () => server.setNotifyCallback(() => {}), destroyedThrow('gone')]])).toEqual([]);
  });
});

describe('calls after destroy: bad arguments to server and client calls', () => {
  afterEach(cleanUp);

  it('reject calls after destroy with typed errors; destroy twice is a no-op', async () => {
    const server = await startServer();
    await dial(server);
    const client = (await server.accept(2000))!;
    await server.destroy();
    await server.destroy();
    await expect(server.accept(0)).rejects.toBeInstanceOf(ServerDestroyedError);
    await expect(client.recv(Buffer.alloc(1), 0)).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.send('x')).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.close()).resolves.toBeUndefined();
    await expect(client.abort()).resolves.toBeUndefined();
    expect(server.stats()).toMatchObject({ live: 0, usedSlots: 0 });
  });
});
