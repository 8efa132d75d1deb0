import { WAIT_FOREVER } from './validate.js';

interface Entry<T, P> {
  readonly payload: P;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * A FIFO of pending calls (accept waiting for a client, recv waiting for bytes). Each call
 * settles exactly once: with a value from its owner, with `timeoutValue` when its timeout
 * passes, or with `abortError()` when its AbortSignal fires. Settling clears its timer and
 * its abort listener, so nothing is left behind.
 */
export class PendingQueue<T, P = undefined> {
  readonly #entries: Array<Entry<T, P>> = [];

  get length(): number {
    return this.#entries.length;
  }

  /** The oldest call's payload (e.g. the buffer a recv reads into). */
  firstPayload(): P | undefined {
    return this.#entries[0]?.payload;
  }

  /** Queues a call; `timeout` is WAIT_FOREVER or > 0 (0 is the caller's "don't wait"). */
  add(payload: P, timeout: number, timeoutValue: T, signal: AbortSignal | undefined, abortError: () => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Entry<T, P> = { payload, resolve, reject, signal, timer: undefined, onAbort: undefined };
      if (timeout !== WAIT_FOREVER) entry.timer = setTimeout(() => this.#settle(entry, timeoutValue), timeout);
      if (signal) {
        entry.onAbort = () => this.#fail(entry, abortError());
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.#entries.push(entry);
    });
  }

  /** Resolves the oldest call with `value`. */
  resolveFirst(value: T): void {
    const entry = this.#entries.shift();
    if (!entry) return;
    clear(entry);
    entry.resolve(value);
  }

  /** Rejects the oldest call with `error`. */
  rejectFirst(error: unknown): void {
    const entry = this.#entries.shift();
    if (!entry) return;
    clear(entry);
    entry.reject(error);
  }

  /** Rejects every call with `error`. */
  rejectAll(error: unknown): void {
    for (const entry of this.#entries.splice(0)) {
      clear(entry);
      entry.reject(error);
    }
  }

  #settle(entry: Entry<T, P>, value: T): void {
    if (this.#remove(entry)) entry.resolve(value);
  }

  #fail(entry: Entry<T, P>, error: unknown): void {
    if (this.#remove(entry)) entry.reject(error);
  }

  #remove(entry: Entry<T, P>): boolean {
    const i = this.#entries.indexOf(entry);
    if (i < 0) return false;
    this.#entries.splice(i, 1);
    clear(entry);
    return true;
  }
}

function clear<T, P>(entry: Entry<T, P>): void {
  clearTimeout(entry.timer);
  if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
}
