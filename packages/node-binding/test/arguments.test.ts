/**
 * Bad arguments and options: createServer's option checks and every server and client call
 * throw InvalidArgumentError synchronously, with a message naming the argument and the rule,
 * and leave the state unchanged; every error class has its name, code and message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  AbortError, ClientClosedError, FrameError, FrameTooLargeError, InternalError, InvalidArgumentError, ListenError,
  SendQueueFullError, SendTimeoutError, ServerDestroyedError, TcpServError, createServer,
} from '../src/index.js';
import { TIMEOUT_RULE } from './support/call-table.js';
import { cleanUp } from './support/cleanup.js';
import { dial, startServer } from './support/helpers.js';

afterEach(cleanUp);

describe('error classes', () => {
  const cases: Array<[TcpServError, string, string, string]> = [
    [new InvalidArgumentError('timeout', 'an integer', 1.5), 'InvalidArgumentError', 'ERR_TCPSERV_INVALID_ARGUMENT', 'timeout must be an integer (got 1.5)'],
    [new ServerDestroyedError('s1'), 'ServerDestroyedError', 'ERR_TCPSERV_SERVER_DESTROYED', 'server "s1" has been destroyed'],
    [new ClientClosedError(7), 'ClientClosedError', 'ERR_TCPSERV_CLIENT_CLOSED', 'client 7 is closed'],
    [new ClientClosedError(7, { bytesSent: 5 }), 'ClientClosedError', 'ERR_TCPSERV_CLIENT_CLOSED', 'client 7 is closed (5 bytes of the send went out)'],
    [new SendTimeoutError(3, { bytesSent: 10, bytesQueued: 0, total: 20, timeout: 50 }), 'SendTimeoutError', 'ERR_TCPSERV_SEND_TIMEOUT', 'send to client 3 timed out after 50 ms with 10 of 20 bytes sent'],
    [new SendTimeoutError(3, { bytesSent: 10, bytesQueued: 4, total: 20, timeout: 50, torn: true }), 'SendTimeoutError', 'ERR_TCPSERV_SEND_TIMEOUT',
      'send to client 3 timed out after 50 ms with 10 of 20 bytes sent and 4 still queued in the socket; the frame was torn, so the client was aborted'],
    [new SendQueueFullError(4, 100, 50, 120, false), 'SendQueueFullError', 'ERR_TCPSERV_SEND_QUEUE_FULL', 'send of 50 bytes to client 4 refused: 100 bytes already queued and maxSendQueue is 120'],
    [new SendQueueFullError(4, 100, 50, 120, true), 'SendQueueFullError', 'ERR_TCPSERV_SEND_QUEUE_FULL', 'send of 50 bytes to client 4 refused: 100 bytes already queued and maxSendQueue is 120; the client was closed as too slow'],
    [new AbortError('recv', 'why'), 'AbortError', 'ABORT_ERR', 'recv was aborted'],
    [new ListenError('EADDRINUSE', '[::1]:80', null), 'ListenError', 'EADDRINUSE', 'cannot listen on [::1]:80: address already in use (EADDRINUSE)'],
    [new FrameError(2, 3), 'FrameError', 'ERR_TCPSERV_FRAME_TRUNCATED', 'client 2 ended the stream inside a frame (3 bytes of it left)'],
    [new FrameTooLargeError(2, 1024), 'FrameTooLargeError', 'ERR_TCPSERV_FRAME_TOO_LARGE', 'client 2 sent a frame larger than maxFrameSize (1024 bytes); it was closed'],
    [new InternalError('read', -5), 'InternalError', 'ERR_TCPSERV_INTERNAL', 'internal error: the core answered ERR_RANGE (-5) to read'],
  ];
  it.each(cases)('%o has name, code and message', (error, name, code, message) => {
    expect(error).toBeInstanceOf(TcpServError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });
});

describe('createServer throws InvalidArgumentError synchronously for bad options', () => {
  const cases: Array<[string, unknown, string]> = [
    ['not an object', 5, 'options must be an object such as { host: "127.0.0.1", port: 5000 } (got 5)'],
    ['null', null, 'options must be an object such as { host: "127.0.0.1", port: 5000 } (got null)'],
    ['missing port', { host: '127.0.0.1' }, 'options.port must be an integer from 0 to 65535 (or give options.path for a Unix socket) (got undefined)'],
    ['port too large', { port: 65536 }, 'options.port must be an integer from 0 to 65535 (got 65536)'],
    ['negative port', { port: -1 }, 'options.port must be an integer from 0 to 65535 (got -1)'],
    ['fractional port', { port: 80.5 }, 'options.port must be an integer from 0 to 65535 (got 80.5)'],
    ['NaN port', { port: NaN }, 'options.port must be an integer from 0 to 65535 (got NaN)'],
    ['string port', { port: '80' }, 'options.port must be an integer from 0 to 65535 (got "80")'],
    ['host name', { host: 'localhost', port: 0 }, 'options.host must be an IPv4 or IPv6 address such as "127.0.0.1", "::1", "0.0.0.0" or "::" (got "localhost")'],
    ['bad IPv4', { host: '127.0.0.256', port: 0 }, 'options.host must be an IPv4 or IPv6 address such as "127.0.0.1", "::1", "0.0.0.0" or "::" (got "127.0.0.256")'],
    ['unknown option', { port: 0, maxClient: 3 }, 'options.maxClient must be one of the known options (host, port, path, name, maxSockets, maxClients, maxClientsPerAddress, rejectMessage, debug, rxBufferSize, backlog, idleTimeout, maxLifetime, closeTimeout, noDelay, keepAlive, allowHalfOpen, onError, notify, maxSendQueue, sendQueueFull, framing, tls, reusePort, proxyProtocol, proxyProtocolTimeout, trustedProxies) (got 3)'],
    ['maxClients > maxSockets', { port: 0, maxSockets: 4, maxClients: 5 }, 'options.maxClients must be at most options.maxSockets (4) (got 5)'],
    ['maxClients 0', { port: 0, maxClients: 0 }, 'options.maxClients must be an integer from 1 to 65536 (got 0)'],
    ['maxSockets too large', { port: 0, maxSockets: 70000 }, 'options.maxSockets must be an integer from 1 to 65536 (got 70000)'],
    ['rxBufferSize not a power of two', { port: 0, rxBufferSize: 1000 }, 'options.rxBufferSize must be a power of two from 64 to 67108864 (got 1000)'],
    ['rxBufferSize zero', { port: 0, rxBufferSize: 0 }, 'options.rxBufferSize must be a power of two from 64 to 67108864 (got 0)'],
    ['memory too large', { port: 0, maxSockets: 65536, rxBufferSize: 65536 }, 'options.maxSockets × options.rxBufferSize must be small enough that the core\'s memory stays within 2147418112 bytes (got "65536 × 65536")'],
    ['negative idleTimeout', { port: 0, idleTimeout: -5 }, 'options.idleTimeout must be an integer from 0 to 2147483647 (got -5)'],
    ['debug not boolean', { port: 0, debug: 'yes' }, 'options.debug must be a boolean (got "yes")'],
    ['onError not a function', { port: 0, onError: 1 }, 'options.onError must be a function (got 1)'],
    ['keepAlive string', { port: 0, keepAlive: 'on' }, 'options.keepAlive must be a boolean or an initial delay in milliseconds (got "on")'],
    ['empty name', { port: 0, name: '' }, 'options.name must be a non-empty string of at most 64 characters (got "")'],
    ['backlog zero', { port: 0, backlog: 0 }, 'options.backlog must be an integer from 1 to 65535 (got 0)'],
    ['rejectMessage number', { port: 0, rejectMessage: 5 }, 'options.rejectMessage must be a string or a Uint8Array (got 5)'],
  ];
  it.each(cases)('%s', (_label, options, message) => {
    let thrown: unknown;
    try {
      void createServer(options as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as InvalidArgumentError).code).toBe('ERR_TCPSERV_INVALID_ARGUMENT');
    expect((thrown as InvalidArgumentError).message).toBe(message);
  });
});

describe('bad arguments to server and client calls', () => {
  it('throw InvalidArgumentError naming the argument and leave the state unchanged', async () => {
    const server = await startServer();
    const peer = await dial(server);
    const client = (await server.accept(2000))!;
    peer.write('kept');
    const buf = Buffer.alloc(8);
    await new Promise((r) => setTimeout(r, 20));
    const before = { server: server.stats(), client: client.stats };

    const calls: Array<[string, () => unknown, string]> = [
      ['accept(1.5)', () => server.accept(1.5), `timeout must be ${TIMEOUT_RULE} (got 1.5)`],
      ['accept(-2)', () => server.accept(-2), `timeout must be ${TIMEOUT_RULE} (got -2)`],
      ['accept(NaN)', () => server.accept(NaN), `timeout must be ${TIMEOUT_RULE} (got NaN)`],
      ['accept(2^31)', () => server.accept(2 ** 31), `timeout must be ${TIMEOUT_RULE} (got 2147483648)`],
      ['accept("10")', () => server.accept('10' as never), `timeout must be ${TIMEOUT_RULE} (got "10")`],
      ['accept(0, {})', () => server.accept(0, {} as never), 'signal must be an AbortSignal or undefined (got an object (Object))'],
      ['setNotifyCallback(5)', () => server.setNotifyCallback(5 as never), 'callback must be a function (got 5)'],
      ['setMaxClients(0)', () => server.setMaxClients(0), 'maxClients must be an integer from 1 to 1024 (got 0)'],
      ['setMaxClients(2000)', () => server.setMaxClients(2000), 'maxClients must be an integer from 1 to 1024 (got 2000)'],
      ['recv("x")', () => client.recv('x' as never), 'buf must be a non-empty Buffer or Uint8Array (not detached) (got "x")'],
      ['recv(empty)', () => client.recv(Buffer.alloc(0)), 'buf must be a non-empty Buffer or Uint8Array (not detached) (got a Buffer)'],
      ['recv(buf, Infinity)', () => client.recv(buf, Infinity), `timeout must be ${TIMEOUT_RULE} (got Infinity)`],
      ['recv(buf, -1.5)', () => client.recv(buf, -1.5), `timeout must be ${TIMEOUT_RULE} (got -1.5)`],
      ['tryRecv(null)', () => client.tryRecv(null as never), 'buf must be a non-empty Buffer or Uint8Array (not detached) (got null)'],
      ['send(5)', () => client.send(5 as never), 'data must be a Buffer, a Uint8Array or a string (not detached) (got 5)'],
      ['send(undefined)', () => client.send(undefined as never), 'data must be a Buffer, a Uint8Array or a string (not detached) (got undefined)'],
      ['send("x", -3)', () => client.send('x', -3), `timeout must be ${TIMEOUT_RULE} (got -3)`],
      ['send("x", 0, "sig")', () => client.send('x', 0, 'sig' as never), 'signal must be an AbortSignal or undefined (got "sig")'],
    ];
    for (const [label, call, message] of calls) {
      let thrown: unknown;
      try {
        call();
      } catch (error) {
        thrown = error;
      }
      expect(thrown, label).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as InvalidArgumentError).message, label).toBe(message);
    }
    expect(server.stats()).toEqual(before.server);
    expect(client.stats).toEqual(before.client);
    expect(await client.recv(buf, 1000)).toBe(4); // nothing was consumed by the bad calls
  });
});
