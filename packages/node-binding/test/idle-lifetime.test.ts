/**
 * idleTimeout and maxLifetime: the server closes a silent client, and a trickling one once
 * its lifetime is over.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TcpEvent } from '../src/index.js';
import { cleanUp } from './support/cleanup.js';
import { pair, readAll, waitFor } from './support/helpers.js';

afterEach(cleanUp);

describe('idle and lifetime limits', () => {
  it('closes a silent client after idleTimeout', async () => {
    const { peer, client } = await pair({ idleTimeout: 100 });
    const ended = readAll(peer, 3000);
    await ended;
    await waitFor(() => client.disconnected, 'the disconnect', 3000);
    expect(client.closeReason).toBe('idle');
  });

  it('closes a trickling client after maxLifetime even though it is never idle', async () => {
    const { server, peer, client } = await pair({ idleTimeout: 150, maxLifetime: 400 });
    const events: TcpEvent[] = [];
    server.setNotifyCallback((_c, e) => void events.push(e));
    const trickle = setInterval(() => peer.writable && peer.write('.'), 40);
    try {
      await waitFor(() => client.disconnected, 'the disconnect', 3000);
    } finally {
      clearInterval(trickle);
    }
    expect(client.closeReason).toBe('lifetime');
    expect(events.filter((e) => e === TcpEvent.DISCONNECT)).toHaveLength(1);
  });
});
