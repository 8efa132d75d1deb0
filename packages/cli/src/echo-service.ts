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
 * Fast path, no Promise awaited: on RECV, read what is buffered into a shared buffer and
 * send it; when `bufferedAmount` is 0 right after `send`, the kernel already has every byte
 * and the buffer is free again, so the loop goes on synchronously.
 *
 * Backpressure: when the kernel did not take everything, the socket still holds the buffer.
 * That buffer then belongs to this client until the send resolves (the shared one is
 * replaced), and the client is not read again until then. A peer that sends without reading
 * fills its receive ring, the binding pauses its socket, and the kernel window stops the
 * peer: memory stays bounded. At end of stream (tryRecv → null) the binding half-closes by
 * itself once the sends have flushed.
 */
export function attachEcho(server: TcpServer, hooks: EchoHooks = {}): void {
  const waiting = new Set<Client>();
  const pool: Buffer[] = [];
  let shared: Buffer = Buffer.allocUnsafe(ECHO_CHUNK);

  const fail = (error: unknown, client: Client): void => {
    if (!(error instanceof ClientClosedError)) hooks.onError?.(error, client);
  };

  /** Echoes until nothing is buffered, or until a send has to wait for the kernel. */
  const pump = (client: Client): void => {
    try {
      for (;;) {
        if (!client.writable) return; // closing: its send would only reject
        const buf = shared;
        const n = client.tryRecv(buf);
        if (!n) return; // 0: wait for the next RECV · null: end of stream
        const sent = client.send(n === buf.length ? buf : buf.subarray(0, n));
        if (client.bufferedAmount > 0) {
          shared = pool.pop() ?? Buffer.allocUnsafe(ECHO_CHUNK);
          waitThenPump(client, sent, buf);
          return;
        }
        // A short read emptied the ring: skip the read that would only say so.
        if (n < buf.length) return;
      }
    } catch (error) {
      fail(error, client);
    }
  };

  const waitThenPump = (client: Client, sent: Promise<number>, buf: Buffer): void => {
    waiting.add(client);
    sent.then(
      () => {
        if (pool.length < POOL_LIMIT) pool.push(buf);
        waiting.delete(client);
        pump(client);
      },
      (error: unknown) => {
        // Not pooled: a failed send may leave the socket holding a reference to the buffer.
        waiting.delete(client);
        fail(error, client);
      },
    );
  };

  server.setNotifyCallback((client, event) => {
    if (event === TcpEvent.RECV) {
      if (!waiting.has(client)) pump(client);
    } else if (event === TcpEvent.CONNECT) {
      hooks.onConnect?.(client);
    } else {
      hooks.onDisconnect?.(client);
    }
  });
}
