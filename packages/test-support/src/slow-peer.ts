/**
 * A loopback peer that writes a big, position-stamped stream to an echo server and reads the
 * echo back late, slowly, in bursts or not at all — comparing every byte as it arrives, so a
 * lost, duplicated or reordered chunk is reported with its offset. Every wait is bounded.
 */
import { connect, type Socket } from 'node:net';

/** How the peer reads the echo. */
export type ReadStyle =
  /** Reads as fast as it can. */
  | 'eager'
  /** Reads nothing until it has written everything (and its FIN), waits `lateMs`, then reads. */
  | 'late'
  /** Reads at most `bytesPerTick` every `tickMs`. */
  | 'throttled'
  /** Reads for `burstMs`, stops for `pauseMs`, again and again. */
  | 'bursts';

export interface SlowPeerOptions {
  port: number;
  host?: string;
  /** Bytes to send (and expect back). */
  total: number;
  /** Distinguishes the streams of several peers. */
  seed: number;
  read: ReadStyle;
  /** Send FIN after the last byte (and expect the server's FIN after the echo). Default true. */
  fin?: boolean;
  /** Largest write the peer makes at once. Default 64 KiB. */
  writeChunk?: number;
  lateMs?: number;
  bytesPerTick?: number;
  tickMs?: number;
  burstMs?: number;
  pauseMs?: number;
  /** Everything (echo and the server's FIN) must be in by then. Default 60 s. */
  deadlineMs?: number;
}

export interface SlowPeerResult {
  /** Bytes received back. */
  readonly received: number;
  /** Offset of the first byte that differed from what was sent, or -1. */
  readonly firstMismatch: number;
  /** The server's FIN arrived. */
  readonly fin: boolean;
  /** An error the socket reported (ECONNRESET …). */
  readonly error: string | undefined;
}

/** The byte at `offset` of stream `seed`: every 8-byte block carries its own offset, so a shift shows. */
export function streamByte(seed: number, offset: number): number {
  const block = Math.floor(offset / 8);
  const within = offset % 8;
  if (within < 4) return (block >>> (8 * within)) & 0xff;
  return ((block * 2654435761 + seed * 40503 + within) >>> 0) & 0xff;
}

/** `length` bytes of stream `seed` from `offset`. */
export function streamBytes(seed: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = streamByte(seed, offset + i);
  return out;
}

/** Runs one peer to the end (FIN, error or deadline) and reports what came back. */
export function runSlowPeer(options: SlowPeerOptions): Promise<SlowPeerResult> {
  const {
    port, host = '127.0.0.1', total, seed, read, fin = true, writeChunk = 65536, lateMs = 500,
    bytesPerTick = 256 * 1024, tickMs = 20, burstMs = 30, pauseMs = 120, deadlineMs = 60_000,
  } = options;
  return new Promise((resolve) => {
    const socket: Socket = connect({ host, port });
    let received = 0;
    let firstMismatch = -1;
    let gotFin = false;
    let error: string | undefined;
    let done = false;
    let allBack = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (): void => {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      clearInterval(ticker);
      socket.destroy();
      resolve({ received, firstMismatch, fin: gotFin, error });
    };
    timers.push(setTimeout(() => {
      error ??= `deadline: ${received} of ${total} bytes back after ${deadlineMs} ms`;
      finish();
    }, deadlineMs));
    let ticker: NodeJS.Timeout | undefined;
    let allowance = Infinity;

    socket.on('data', (chunk: Buffer) => {
      if (firstMismatch < 0) {
        for (let i = 0; i < chunk.length; i++) {
          if (chunk[i] !== streamByte(seed, received + i)) {
            firstMismatch = received + i;
            break;
          }
        }
      }
      received += chunk.length;
      // Without our FIN the server keeps the connection open: once all is back, wait a moment
      // for any extra (duplicated) bytes, then stop.
      if (!fin && received >= total && !allBack) {
        allBack = true;
        timers.push(setTimeout(finish, 100));
      }
      if (read === 'throttled') {
        allowance -= chunk.length;
        if (allowance <= 0) socket.pause();
      }
    });
    socket.on('end', () => {
      gotFin = true;
      finish();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    socket.on('close', finish);

    if (read !== 'eager') socket.pause();
    socket.once('connect', () => {
      // Write everything now (node:net buffers what the kernel does not take yet).
      for (let offset = 0; offset < total; offset += writeChunk) {
        socket.write(streamBytes(seed, offset, Math.min(writeChunk, total - offset)));
      }
      if (fin) socket.end();
      switch (read) {
        case 'late':
          timers.push(setTimeout(() => socket.resume(), lateMs));
          break;
        case 'throttled':
          allowance = bytesPerTick;
          socket.resume();
          ticker = setInterval(() => {
            allowance = bytesPerTick;
            socket.resume();
          }, tickMs);
          break;
        case 'bursts': {
          const cycle = (): void => {
            if (done) return;
            socket.resume();
            timers.push(setTimeout(() => {
              socket.pause();
              timers.push(setTimeout(cycle, pauseMs));
            }, burstMs));
          };
          cycle();
          break;
        }
        default:
          break;
      }
    });
  });
}
