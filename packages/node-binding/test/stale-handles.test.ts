/**
 * Bad API use, as a table: stale clients (their slot reused by another client), calls after
 * destroy, repeated close/abort/destroy. Each call gets a typed error with a stable code and a
 * message naming the argument and the rule — only close, abort and destroy may be no-ops when
 * repeated — and nothing about the server or the other clients changes.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientClosedError, InvalidArgumentError, ServerDestroyedError, TcpServError, type Client, type TcpServer,
} from '../src/index.js';
import { delay, destroyAll, dial, readExactly, startServer, waitFor } from './support/helpers.js';

// A client whose socket never closes (see the same-tick abort tests) would hang destroy():
// give up after a while so one failure does not take the rest of the file with it.
afterEach(() => Promise.race([destroyAll(), delay(2000)]));

const TIMEOUT_RULE = 'WAIT_FOREVER (-1) or an integer from 0 to 2147483647 (milliseconds)';
const BUF_RULE = 'a non-empty Buffer or Uint8Array (not detached)';
const DATA_RULE = 'a Buffer, a Uint8Array or a string (not detached)';

type ErrorClass = new (...args: never[]) => TcpServError;
type Expectation =
  | { throws: ErrorClass; code: string; message: string }
  | { rejects: ErrorClass; code: string; message: string }
  | { resolves: unknown }
  | { returns: unknown };
type Row = [label: string, call: () => unknown, expectation: Expectation];

const invalid = (message: string): Expectation => ({ throws: InvalidArgumentError, code: 'ERR_TCPSERV_INVALID_ARGUMENT', message });
const closedReject = (id: number): Expectation => ({ rejects: ClientClosedError, code: 'ERR_TCPSERV_CLIENT_CLOSED', message: `client ${id} is closed` });
const closedThrow = (id: number): Expectation => ({ throws: ClientClosedError, code: 'ERR_TCPSERV_CLIENT_CLOSED', message: `client ${id} is closed` });
const destroyedReject = (name: string): Expectation => ({ rejects: ServerDestroyedError, code: 'ERR_TCPSERV_SERVER_DESTROYED', message: `server "${name}" has been destroyed` });
const destroyedThrow = (name: string): Expectation => ({ throws: ServerDestroyedError, code: 'ERR_TCPSERV_SERVER_DESTROYED', message: `server "${name}" has been destroyed` });

/** Runs each row; collects every mismatch so one run reports them all. */
async function runTable(rows: Row[]): Promise<string[]> {
  const problems: string[] = [];
  for (const [label, call, expectation] of rows) {
    let returned: unknown;
    let thrown: unknown;
    try {
      returned = call();
    } catch (error) {
      thrown = error;
    }
    if ('throws' in expectation) {
      problems.push(...compareError(label, thrown, expectation, 'throw synchronously'));
      continue;
    }
    if (thrown !== undefined) {
      problems.push(`${label}: threw synchronously ${String(thrown)}`);
      continue;
    }
    if ('returns' in expectation) {
      if (!Object.is(returned, expectation.returns)) problems.push(`${label}: returned ${String(returned)} instead of ${String(expectation.returns)}`);
      continue;
    }
    if (!(returned instanceof Promise)) {
      problems.push(`${label}: returned ${String(returned)} instead of a promise`);
      continue;
    }
    const settled = await Promise.race([
      returned.then((value) => ({ value }), (error: unknown) => ({ error })),
      new Promise<{ pending: true }>((resolve) => setTimeout(() => resolve({ pending: true }), 2000)),
    ]);
    if ('pending' in settled) {
      problems.push(`${label}: still pending after 2 s`);
    } else if ('rejects' in expectation) {
      if (!('error' in settled)) problems.push(`${label}: resolved ${String(settled.value)} instead of rejecting`);
      else problems.push(...compareError(label, settled.error, { ...expectation, throws: expectation.rejects }, 'reject'));
    } else if ('error' in settled) {
      problems.push(`${label}: rejected with ${String(settled.error)} instead of resolving`);
    } else if ('resolves' in expectation && !Object.is(settled.value, expectation.resolves)) {
      problems.push(`${label}: resolved ${String(settled.value)} instead of ${String(expectation.resolves)}`);
    }
  }
  return problems;
}

function compareError(label: string, error: unknown, expected: { throws: ErrorClass; code: string; message: string }, how: string): string[] {
  if (error === undefined) return [`${label}: did not ${how} (expected ${expected.throws.name})`];
  const problems: string[] = [];
  if (!(error instanceof expected.throws)) problems.push(`${label}: ${how} ${String(error)}, expected a ${expected.throws.name}`);
  const e = error as TcpServError;
  if (e.code !== expected.code) problems.push(`${label}: code ${e.code}, expected ${expected.code}`);
  if (e.message !== expected.message) problems.push(`${label}: message "${e.message}", expected "${expected.message}"`);
  return problems;
}

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

describe('a stale client (its slot reused by another client)', () => {
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

describe('calls after destroy', () => {
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

describe('repeated close and abort on a live client', () => {
  it('close then abort, abort then close, twice each: the same promise or a no-op, first reason kept', async () => {
    const server = await startServer({ name: 'rep' });
    await dial(server);
    await dial(server);
    const a = (await server.accept(2000))!;
    const b = (await server.accept(2000))!;
    const closing = a.close();
    expect(a.close()).toBe(closing);
    await closing;
    expect(await runTable([
      ['a.close() again', () => a.close(), { resolves: undefined }],
      ['a.abort() after close()', () => a.abort(), { resolves: undefined }],
      ['a.abort() again', () => a.abort(), { resolves: undefined }],
      ['b.abort()', () => b.abort(), { resolves: undefined }],
      ['b.abort() again', () => b.abort(), { resolves: undefined }],
      ['b.close() after abort()', () => b.close(), { resolves: undefined }],
      ['b.close() again', () => b.close(), { resolves: undefined }],
    ])).toEqual([]);
    expect(a.closeReason).toBe('close');
    expect(b.closeReason).toBe('abort');
    expect(server.stats()).toMatchObject({ live: 0, usedSlots: 0, closed: 2 });
  });

  // close() sends FIN at once when nothing is queued; an abort() in the same tick must still
  // end the connection (RST or not), settle both promises and free the slot.
  it('abort() in the same tick as close() resolves, disconnects the client and frees its slot', async () => {
    const server = await startServer({ name: 'rep' });
    const peer = await dial(server);
    const client = (await server.accept(2000))!;
    peer.resume();
    const closing = client.close();
    const aborting = client.abort();
    expect(await runTable([
      ['close()', () => closing, { resolves: undefined }],
      ['abort() in the same tick', () => aborting, { resolves: undefined }],
    ])).toEqual([]);
    expect(client.disconnected).toBe(true);
    expect(server.stats()).toMatchObject({ live: 0, usedSlots: 0, closed: 1 });
    await waitFor(() => peer.readableEnded || peer.destroyed, 'the peer to see the connection end');
  });

  // Default half-close policy: reading end of stream makes the server send its FIN at once.
  // An app that then aborts (same tick, right after recv resolved null) must not hang.
  it('abort() right after recv() returned end of stream resolves, disconnects the client and frees its slot', async () => {
    const server = await startServer({ name: 'rep' });
    const peer = await dial(server);
    const client = (await server.accept(2000))!;
    peer.end();
    expect(await client.recv(Buffer.alloc(8), 2000)).toBeNull();
    const aborting = client.abort();
    expect(await runTable([['abort() after end of stream', () => aborting, { resolves: undefined }]])).toEqual([]);
    expect(client.disconnected).toBe(true);
    expect(server.stats()).toMatchObject({ live: 0, usedSlots: 0, closed: 1 });
  });
});
