import { ClientClosedError, TcpEvent, type Client, type TcpServer } from '@tcpserv/node';

/**
 * Echoed frames a client may have waiting for the kernel before it is read again. Frames
 * answered from one read go out together (the binding batches small sends into one write),
 * and this bounds what a peer that does not read can make the echo hold.
 */
const FRAME_BACKLOG = 64 * 1024;

/** What an echo server tells its owner about; every hook is optional. */
export interface EchoHooks {
  onConnect?(client: Client): void;
  onDisconnect?(client: Client): void;
  /** An unexpected failure while echoing to `client` (a closed client is not one). */
  onError?(error: unknown, client: Client): void;
}


/**
 * Makes `server` echo every byte (or, in a framed mode, every frame) back to its sender,
 * through the notify callback. Correct under any reader speed, bounded in memory:
 *
 * - Raw bytes go back straight from the client's receive ring (`forwardTo`): the kernel
 *   writes them from the core's memory, no JavaScript copy. Bytes the kernel did not take at
 *   once stay in the ring until it does; meanwhile the ring fills, the binding stops reading
 *   that socket, and the kernel window stops the peer. The loop always reads on to null, so
 *   a FIN is always seen and the binding half-closes once the echo is out.
 * - Frames: read whole frames and send each back with `sendFrame`; once FRAME_BACKLOG bytes
 *   of echoes wait for the kernel, that client is not read again until they went out.
 *
 * Dispatch is never re-entrant (the binding delivers RECV only from its own drain), so no
 * callback runs underneath `forwardTo`, `tryRecvFrame` or `sendFrame`.
 */
export function attachEcho(server: TcpServer, hooks: EchoHooks = {}): void {
  server.setNotifyCallback(echoCallback(hooks));
}

/** The notify callback of an echo server (also usable as the `notify` option). */
export function echoCallback(hooks: EchoHooks = {}): (client: Client, event: TcpEvent) => void {
  const waiting = new Set<Client>();

  const fail = (error: unknown, client: Client): void => {
    if (!(error instanceof ClientClosedError)) hooks.onError?.(error, client);
  };

  /**
   * Echoes raw bytes straight from the client's receive ring (forwardTo: no JS copy) until
   * nothing is buffered (0: the next RECV comes with new bytes, or when a forward the kernel
   * did not take at once is written) or the stream ended (null: the binding half-closes).
   */
  const pumpBytes = (client: Client): void => {
    while (client.writable && client.forwardTo(client));
  };

  /** Echoes whole frames until none is complete, or until FRAME_BACKLOG bytes wait for the kernel. */
  const pumpFrames = (client: Client): void => {
    for (;;) {
      if (!client.writable) return;
      const frame = client.tryRecvFrame();
      if (!frame) return; // undefined: no whole frame yet · null: end of stream
      const sent = client.sendFrame(frame);
      if (client.bufferedAmount >= FRAME_BACKLOG) {
        waitThenPump(client, sent);
        return;
      }
      sent.catch((error: unknown) => fail(error, client));
    }
  };

  const pump = (client: Client): void => {
    try {
      if (client.framing.type === 'raw') pumpBytes(client);
      else pumpFrames(client);
    } catch (error) {
      fail(error, client);
    }
  };

  const waitThenPump = (client: Client, sent: Promise<number>): void => {
    waiting.add(client);
    sent.then(
      () => {
        waiting.delete(client);
        pump(client);
      },
      (error: unknown) => {
        waiting.delete(client);
        fail(error, client);
      },
    );
  };

  return (client, event) => {
    if (event === TcpEvent.RECV) {
      if (!waiting.has(client)) pump(client);
    } else if (event === TcpEvent.CONNECT) {
      hooks.onConnect?.(client);
    } else {
      waiting.delete(client);
      hooks.onDisconnect?.(client);
    }
  };
}
