import { ClientClosedError, TcpEvent, type Client, type TcpServer } from '@tcpserv/node';

/** What an echo server tells its owner about; every hook is optional. */
export interface EchoHooks {
  onConnect?(client: Client): void;
  onDisconnect?(client: Client): void;
  /** An unexpected failure while echoing to `client` (a closed client is not one). */
  onError?(error: unknown, client: Client): void;
}

/**
 * Size of one echo buffer: what one read takes and one send gives back. 16 KiB is the
 * binding's send window, so a send of one buffer takes its synchronous fast path.
 */
const ECHO_CHUNK = 16384;
/** Idle buffers kept for reuse; more active clients than this allocate (and drop) their own. */
const POOL_LIMIT = 256;

/**
 * Makes `server` echo every byte back to its sender, through the notify callback.
 *
 * Backpressure: a client is read only while its previous echo is not in flight. On RECV a
 * client not already being pumped gets a buffer and a loop: read what is buffered, send it,
 * wait for the send to be handed to the kernel, read again; it stops when nothing is left
 * (the next RECV starts it again) or at end of stream (the binding then half-closes once
 * the sends have flushed). A peer that sends without reading fills its receive ring, the
 * binding pauses its socket, and the kernel window stops the peer: memory stays bounded.
 */
export function attachEcho(server: TcpServer, hooks: EchoHooks = {}): void {
  const pumping = new Set<Client>();
  const pool: Buffer[] = [];

  const pump = async (client: Client): Promise<void> => {
    pumping.add(client);
    const buf = pool.pop() ?? Buffer.allocUnsafe(ECHO_CHUNK);
    try {
      for (;;) {
        const n = client.tryRecv(buf);
        if (!n) break; // 0: nothing buffered, wait for the next RECV · null: end of stream
        // The buffer is reused only after the send resolved: its bytes are with the kernel.
        await client.send(n === buf.length ? buf : buf.subarray(0, n));
      }
      if (pool.length < POOL_LIMIT) pool.push(buf);
    } catch (error) {
      // Not pooled: a failed send may leave the socket holding a reference to the buffer.
      if (!(error instanceof ClientClosedError)) hooks.onError?.(error, client);
    } finally {
      pumping.delete(client);
    }
  };

  server.setNotifyCallback((client, event) => {
    if (event === TcpEvent.RECV) {
      if (!pumping.has(client)) void pump(client);
    } else if (event === TcpEvent.CONNECT) {
      hooks.onConnect?.(client);
    } else {
      hooks.onDisconnect?.(client);
    }
  });
}
