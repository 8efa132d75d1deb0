/**
 * How a connection ends: close() sends FIN after queued sends flushed, abort() resets; both
 * repeated, or in the same tick, settle and free the slot once; the counters are frozen at
 * the disconnect; resets both ways in the middle of transfers settle every pending call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClientClosedError } from '../src/index.js';
import { runTable } from './support/call-table.js';
import { FixtureChild, until } from './support/child.js';
import { cleanUp } from './support/cleanup.js';
import { delay, destroyAllWithin, dial, pair, randomBytes, readAll, startServer, waitFor } from './support/helpers.js';
import { guard, openPeer } from './support/peers.js';

describe('#close and #abort', () => {
  afterEach(cleanUp);

  it('close sends FIN after queued sends flush; recv/send reject afterwards; a second close is a no-op', async () => {
    const { peer, client } = await pair();
    const ended = readAll(peer);
    const sent = client.send('goodbye');
    const closing = client.close();
    expect(client.close()).toBe(closing);
    await sent;
    await closing;
    expect((await ended).toString()).toBe('goodbye');
    await expect(client.recv(Buffer.alloc(1), 0)).rejects.toMatchObject({
      code: 'ERR_TCPSERV_CLIENT_CLOSED', message: 'client 1 is closed',
    });
    await expect(client.send('x')).rejects.toBeInstanceOf(ClientClosedError);
    expect(() => client.tryRecv(Buffer.alloc(1))).toThrow(ClientClosedError);
    expect(client.disconnected).toBe(true);
    expect(client.closeReason).toBe('close');
  });

  it('close rejects a pending recv with ClientClosedError', async () => {
    const { client } = await pair();
    const pending = client.recv(Buffer.alloc(4)).catch((e: unknown) => e);
    await client.close();
    expect(await pending).toBeInstanceOf(ClientClosedError);
  });

  it('abort resets the connection (the peer sees ECONNRESET)', async () => {
    const { peer, client } = await pair();
    const peerError = new Promise<NodeJS.ErrnoException>((resolve) => peer.once('error', resolve));
    peer.write('unread'); // unread bytes make the reset visible on every kernel
    await delay(20);
    await client.abort();
    await client.abort();
    expect((await peerError).code).toBe('ECONNRESET');
    expect(client.closeReason).toBe('abort');
  });

  it('keeps a frozen snapshot of the counters after the disconnect', async () => {
    const { peer, client } = await pair();
    peer.write('abc');
    await waitFor(() => client.stats.bytesIn === 3, 'the bytes');
    await client.send('de');
    await client.close();
    expect(client.stats).toMatchObject({ bytesIn: 3, bytesOut: 2 });
    expect(Object.isFrozen(client.stats)).toBe(true);
  });
});

describe('repeated close and abort on a live client', () => {
  // A client whose socket never closes (what the same-tick cases look for) would hang
  // destroy(): give up after a while so one failure does not take the rest of the file with it.
  afterEach(() => destroyAllWithin(2000));

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

describe('resets in the middle of transfers', () => {
  afterEach(cleanUp);

  it('100 clients reset both ways (peer RST, server abort): one DISCONNECT each, every pending call settled, table empty, descriptors at baseline', async () => {
    const count = 100;
    const upload = 32 * 1024;
    const child = FixtureChild.start({ mode: 'hold', recvSize: 16384, bigSendEvery: 5, bigSendBytes: 8 * 1024 * 1024 });
    const { port } = await child.ready;
    await child.request('stats');
    const baseline = child.fds();

    const peers = await Promise.all(Array.from({ length: count }, () => openPeer(port, { collect: false })));
    peers.forEach((peer, i) => {
      peer.socket.pause(); // the server's big sends stay in flight
      peer.socket.write(randomBytes(upload, i + 1));
    });
    // Every client has a pending recv and every 5th a pending 8 MiB send.
    interface Pending { pending: Record<string, number>; outcomes: Record<string, Record<string, number>>; bytesRead: number }
    await until(async () => {
      const r = await child.request<Pending>('pending');
      return r.bytesRead === count * upload && r.pending.recv === count && r.pending.send === count / 5 ? r : undefined;
    }, 'transfers in flight on every client');

    const { clients } = await child.request<{ clients: Array<{ remotePort: number }> }>('clients');
    expect(clients).toHaveLength(count);
    const byServer = peers.filter((_, i) => i % 2 === 1);
    const byPeer = peers.filter((_, i) => i % 2 === 0);
    const aborting = child.request('abort', { ports: byServer.map((p) => p.socket.localPort) });
    for (const peer of byPeer) peer.socket.resetAndDestroy();
    await aborting;
    // A paused socket whose read buffer is full no longer polls: it sees the RST once it reads.
    for (const peer of byServer) peer.socket.resume();

    const closed = await guard(Promise.all(peers.map((p) => p.closed)), 'every peer to close');
    // Aborted peers see the RST: ECONNRESET, or (Linux, with bytes still unread when the RST
    // came) a plain end after those bytes; either way not the rest of the 8 MiB in flight.
    byServer.forEach((peer, i) => {
      const { error } = closed[2 * i + 1]!;
      expect(error?.code === 'ECONNRESET' || peer.socket.bytesRead < 8 * 1024 * 1024, `aborted peer ${i}`).toBe(true);
    });

    await until(async () => {
      const { stats } = await child.request<{ stats: { live: number; usedSlots: number } }>('stats');
      return stats.live === 0 && stats.usedSlots === 0 && child.fds() <= baseline;
    }, 'an empty table and descriptors back to baseline');
    expect(child.fds()).toBe(baseline);

    const events = await child.request<{ clients: number; connects: number; disconnects: number; anomalies: unknown[] }>('events');
    expect(events).toMatchObject({ clients: count, connects: count, disconnects: count, anomalies: [] });

    const { pending, outcomes } = await child.request<Pending>('pending');
    expect(pending).toEqual({ accept: 1 }); // only the accept loop's next accept waits
    expect(Object.keys(outcomes.recv!).filter((o) => !['number', 'null', 'ClientClosedError'].includes(o))).toEqual([]);
    expect(outcomes.send).toEqual({ ClientClosedError: count / 5 });
    expect(outcomes.abort).toEqual({ undefined: count / 2 });
    // Aborted clients' pending recv rejected; reset ones saw end of stream.
    expect(outcomes.recv!.ClientClosedError).toBe(count / 2);
    expect(outcomes.recv!.null).toBe(count / 2);
    expect(child.stderr).toBe('');
  });
});
