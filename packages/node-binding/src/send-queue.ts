/**
 * One client's outgoing bytes: what `send` accepted and the kernel has not taken yet.
 *
 * The rule that keeps every outcome exact: at most one write is "in flight" (handed to the
 * socket and not yet taken whole by the kernel). A write is handed over only when nothing is
 * in flight; right after `socket.write` returns, `writableLength === 0` means libuv wrote it
 * to the kernel during the call, so it is confirmed at once and the next write follows in
 * the same turn. Otherwise the write is in flight until its callback. Hence:
 *
 *   accepted by send ─▶ queued (never handed; can still be dropped: timeout, abort)
 *                      ─▶ in flight (≤ one WINDOW; goes out unless the connection fails)
 *                      ─▶ in the kernel (confirmed: counted in bytesSent and bytesOut)
 *
 * A send resolves only when all its bytes are in the kernel. A write error, reset or close
 * rejects every unfinished send with the bytes the kernel took. Memory: `queuedBytes` counts
 * everything accepted and not yet confirmed; the client refuses sends past maxSendQueue.
 * Operations are O(1): a singly linked FIFO, and a timed-out or aborted send is marked
 * settled and skipped when it reaches the head.
 *
 * Batching: a small send (≤ BATCH_LIMIT bytes, with a timeout other than 0) is not written at
 * once but at the end of the caller's synchronous run (a microtask), together with every other
 * send queued by then: one write carries the pieces of several sends (copied into one buffer,
 * at most SEND_WINDOW bytes). An echo or a pipelined protocol that answers 16 requests from
 * one read then costs one syscall and one TCP segment instead of 16 (measured: the line echo's
 * write syscalls were 83 % of its CPU). The write's confirmation confirms each send's share.
 */
import type { Socket } from 'node:net';
import { AbortError, InvalidArgumentError, SendTimeoutError } from './errors.js';
import { WAIT_FOREVER } from './validate.js';

/**
 * Largest piece handed to `socket.write` at once: the most that can be in flight, so a
 * timeout can say exactly how much still goes out. Large enough for few syscalls.
 */
export const SEND_WINDOW = 65536;

/** Sends up to this size wait for the end of the caller's synchronous run to be batched. */
export const BATCH_LIMIT = 16384;

/** The socket members the queue uses (node:net, tls and the tests' in-memory double). */
export type SendSocket = Pick<Socket, 'write' | 'writableLength' | 'destroyed'>;

/** What the queue tells its client. */
export interface SendHooks {
  readonly clientId: number;
  /** `n` more bytes are in the kernel (bytesOut, activity). */
  confirmed(n: number): void;
  /** Nothing queued or in flight any more (a pending FIN may go now). */
  drained(): void;
  /** The socket reported a write error: the connection is gone. */
  writeFailed(error: Error): void;
  /** A frame was cut short by its timeout or abort after part of it went out. */
  tornFrame(): void;
}

class SendOp {
  next: SendOp | undefined;
  /** Bytes handed to the socket. */
  handed = 0;
  /** Bytes the kernel took. */
  sent = 0;
  settled = false;
  resolve: ((n: number) => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
  /** Set when the caller got an error before the op could be queued (timeout 0, closed). */
  earlyError: unknown;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  #part = 0;
  #partOffset = 0;

  constructor(
    readonly parts: readonly Buffer[],
    readonly length: number,
    readonly timeout: number,
    /** A frame: torn if cut after its first byte went out. */
    readonly frame: boolean,
  ) {}

  /** The next piece to hand over (≤ max bytes), or undefined when a part changed under us. */
  nextPiece(max: number): Buffer | undefined {
    // Empty parts (an empty line's payload) carry nothing: step over them.
    while (this.parts[this.#part]!.length === 0 && this.#part < this.parts.length - 1) this.#part++;
    const part = this.parts[this.#part]!;
    const start = this.#partOffset;
    const end = Math.min(part.length, start + max);
    if (end <= start) return undefined;
    this.#partOffset = end;
    if (end === part.length && this.#part < this.parts.length - 1) {
      this.#part++;
      this.#partOffset = 0;
    }
    return start === 0 && end === part.length ? part : part.subarray(start, end);
  }

  /** False when the caller detached or shrank a buffer before it was all handed over. */
  intact(): boolean {
    let total = 0;
    for (const part of this.parts) total += part.length;
    return total === this.length;
  }
}

/**
 * Where several small pieces are copied to go out as one write. One per process: a write that
 * the kernel took during the call leaves it free for the next one; one that stays in the
 * socket keeps it, and the next write gathers into a fresh buffer.
 */
let gathering = Buffer.allocUnsafe(SEND_WINDOW);

function gather(pieces: readonly Buffer[], total: number): Buffer {
  let at = 0;
  for (const piece of pieces) {
    gathering.set(piece, at);
    at += piece.length;
  }
  return gathering.subarray(0, total);
}

/** Resolved promises by length, so a send the kernel takes at once allocates no Promise. */
const resolvedByLength = new Map<number, Promise<number>>();
const RESOLVED_CACHE_LIMIT = 1024;

function resolvedWith(n: number): Promise<number> {
  let promise = resolvedByLength.get(n);
  if (!promise) {
    promise = Promise.resolve(n);
    if (resolvedByLength.size < RESOLVED_CACHE_LIMIT) resolvedByLength.set(n, promise);
  }
  return promise;
}

export class SendQueue {
  readonly #socket: SendSocket;
  readonly #hooks: SendHooks;
  #head: SendOp | undefined;
  #tail: SendOp | undefined;
  /** The write handed over and not yet confirmed: each op's share of it, in order. */
  #inFlight: { op: SendOp; n: number }[] = [];
  #inFlightBytes = 0;
  /** A microtask will pump (small sends are waiting to be batched). */
  #flushScheduled = false;
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    try {
      this.#pump();
    } catch (error) {
      // A bug here must cost this client, not the process (a microtask has no caller to throw to).
      this.#hooks.writeFailed(error instanceof Error ? error : new Error(String(error)));
    }
  };
  /** Write callbacks not yet called (pieces confirmed at once still get one later). */
  #callbacksDue = 0;
  #queuedBytes = 0;
  /** Set by failAll: the connection is gone, and how to tell a late caller. */
  #failure: ((bytesSent: number) => unknown) | undefined;
  readonly #afterWrite = (error?: Error | null): void => this.#onWritten(error ?? undefined);

  constructor(socket: SendSocket, hooks: SendHooks) {
    this.#socket = socket;
    this.#hooks = hooks;
  }

  /** Bytes accepted by `send` and not yet in the kernel (queued plus in flight). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Nothing queued and nothing in flight. */
  get idle(): boolean {
    return this.#queuedBytes === 0 && this.#inFlightBytes === 0;
  }

  /**
   * Queues `parts` (sent back to back, never interleaved with another send) and writes what
   * the kernel takes now. Resolves with `length` once every byte is in the kernel.
   * `timeout` 0 = don't wait: rejects with SendTimeoutError unless all went in at once.
   */
  send(parts: readonly Buffer[], length: number, timeout: number, signal: AbortSignal | undefined, frame = false): Promise<number> {
    if (this.#failure) return Promise.reject(this.#failure(0));
    const op = new SendOp(parts, length, timeout, frame);
    this.#queuedBytes += length;
    if (this.#tail) this.#tail.next = op;
    else this.#head = op;
    this.#tail = op;
    if (length <= BATCH_LIMIT && timeout !== 0) {
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(this.#flush);
      }
    } else {
      this.#pump();
    }
    if (op.settled) {
      return op.earlyError === undefined ? resolvedWith(length) : Promise.reject(op.earlyError);
    }
    if (timeout === 0) {
      this.#expire(op, 'timeout', undefined);
      return Promise.reject(op.earlyError);
    }
    return new Promise<number>((resolve, reject) => {
      op.resolve = resolve;
      op.reject = reject;
      if (timeout !== WAIT_FOREVER) op.timer = setTimeout(() => this.#expire(op, 'timeout', undefined), timeout);
      if (signal) {
        op.signal = signal;
        op.onAbort = () => this.#expire(op, 'abort', signal.reason);
        signal.addEventListener('abort', op.onAbort, { once: true });
      }
    });
  }

  /**
   * Queues `view` (bytes that stay where they are until `settled` runs: a receive ring) like a
   * send, without a Promise. Returns true when the kernel took it all at once (`settled` is then
   * never called); otherwise `settled(ok)` runs once, when it was written or failed.
   */
  sendBorrowed(view: Buffer, settled: (ok: boolean) => void): boolean {
    if (this.#failure) {
      settled(false);
      return false;
    }
    const op = new SendOp([view], view.length, WAIT_FOREVER, false);
    this.#queuedBytes += view.length;
    if (this.#tail) this.#tail.next = op;
    else this.#head = op;
    this.#tail = op;
    this.#pump();
    if (op.settled) {
      if (op.earlyError === undefined) return true;
      settled(false);
      return false;
    }
    op.resolve = () => settled(true);
    op.reject = () => settled(false);
    return false;
  }

  /**
   * Hands writes to the socket while the kernel takes them at once (see the file comment). A
   * write carries the next pieces of the queued sends in order, up to SEND_WINDOW bytes: one
   * piece as it is, several copied into one buffer.
   */
  #pump(): void {
    const socket = this.#socket;
    while (this.#inFlightBytes === 0 && this.#failure === undefined) {
      if (socket.destroyed) return; // the close path fails what is left
      const shares: { op: SendOp; n: number }[] = [];
      const pieces: Buffer[] = [];
      let total = 0;
      for (let op = this.#takeHead(); op && total < SEND_WINDOW; op = this.#takeHead()) {
        if (!op.intact()) {
          this.#drop(op, new InvalidArgumentError('data', 'left unchanged until its send settles', 'a buffer detached or resized while queued'));
          continue;
        }
        // A big first piece goes alone, as it is; what joins a write is copied, so at most
        // BATCH_LIMIT bytes of any later piece do.
        const piece = op.nextPiece(total === 0 ? SEND_WINDOW : Math.min(SEND_WINDOW - total, BATCH_LIMIT))!;
        op.handed += piece.length;
        total += piece.length;
        pieces.push(piece);
        const last = shares.at(-1);
        if (last?.op === op) last.n += piece.length;
        else shares.push({ op, n: piece.length });
        if (pieces.length === 1 && piece.length > BATCH_LIMIT) break;
      }
      if (total === 0) {
        this.#hooks.drained();
        return;
      }
      this.#callbacksDue++;
      socket.write(pieces.length === 1 ? pieces[0]! : gather(pieces, total), this.#afterWrite);
      // Written during the call: the kernel has the bytes, so the gathering buffer is free again.
      // Otherwise the socket holds it until the write completes: gather into a new one.
      if (pieces.length > 1 && socket.writableLength !== 0) gathering = Buffer.allocUnsafe(SEND_WINDOW);
      if (socket.writableLength === 0 && !socket.destroyed) {
        for (const share of shares) this.#confirm(share.op, share.n);
      } else {
        this.#inFlight = shares;
        this.#inFlightBytes = total;
      }
    }
  }

  /** The oldest op still waiting for bytes to be handed over (settled ones are skipped). */
  #takeHead(): SendOp | undefined {
    for (;;) {
      const op = this.#head;
      if (!op) return undefined;
      if (!op.settled && op.handed < op.length) return op;
      this.#head = op.next;
      if (!this.#head) this.#tail = undefined;
    }
  }

  #confirm(op: SendOp, n: number): void {
    this.#queuedBytes -= n;
    this.#hooks.confirmed(n);
    op.sent += n;
    if (op.sent === op.length && !op.settled) this.#settle(op, undefined);
  }

  #onWritten(error: Error | undefined): void {
    this.#callbacksDue--;
    if (error) {
      this.#hooks.writeFailed(error);
      return;
    }
    // Callbacks come in write order and the write in flight is the last one written.
    if (this.#callbacksDue > 0 || this.#inFlightBytes === 0) return;
    const shares = this.#inFlight;
    this.#inFlight = [];
    this.#inFlightBytes = 0;
    for (const share of shares) this.#confirm(share.op, share.n);
    this.#pump();
  }

  /** A timeout or an abort: the op settles now; its piece in flight (if any) still goes out. */
  #expire(op: SendOp, why: 'timeout' | 'abort', reason: unknown): void {
    if (op.settled) return;
    let queued = 0;
    for (const share of this.#inFlight) if (share.op === op) queued += share.n;
    const torn = op.frame && op.handed > 0;
    const error = why === 'timeout'
      ? new SendTimeoutError(this.#hooks.clientId, { bytesSent: op.sent, bytesQueued: queued, total: op.length, timeout: op.timeout, torn })
      : new AbortError('send', reason, op.sent);
    this.#drop(op, error);
    if (torn) this.#hooks.tornFrame();
    this.#pump();
  }

  /** Settles `op` with `error`; what was never handed over leaves the byte count. */
  #drop(op: SendOp, error: unknown): void {
    this.#queuedBytes -= op.length - op.handed;
    this.#settle(op, error);
  }

  #settle(op: SendOp, error: unknown): void {
    op.settled = true;
    clearTimeout(op.timer);
    if (op.onAbort) op.signal?.removeEventListener('abort', op.onAbort);
    if (error === undefined) op.resolve?.(op.length);
    else if (op.reject) op.reject(error);
    else op.earlyError = error;
  }

  /**
   * The connection ended or failed: every unsettled send rejects with `makeError(bytesSent)`;
   * nothing more is written. Idempotent.
   */
  failAll(makeError: (bytesSent: number) => unknown): void {
    this.#failure ??= makeError;
    for (let op = this.#head; op; op = op.next) {
      if (!op.settled) this.#settle(op, makeError(op.sent));
    }
    for (const { op } of this.#inFlight) if (!op.settled) this.#settle(op, makeError(op.sent));
    this.#head = undefined;
    this.#tail = undefined;
    this.#inFlight = [];
    this.#inFlightBytes = 0;
    this.#queuedBytes = 0;
  }
}
