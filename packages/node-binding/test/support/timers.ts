/**
 * Watches the timers the library arms (setTimeout/setInterval called from src/): a timer is
 * "armed" until it fired (one-shot) or was cleared.
 */
interface Watched {
  readonly stack: string;
  fired: boolean;
  cleared: boolean;
  readonly repeat: boolean;
}

export interface TimerWatch {
  /** Timers created from src/ that are still armed, with where they were created. */
  armed(): string[];
  /** How many timers src/ created while watched. */
  created(): number;
  restore(): void;
}

// Any file of the library: timers live in client.ts, server.ts, send-queue.ts, pending.ts, the stages …
const FROM_SRC = /[/\\]node-binding[/\\]src[/\\][\w-]+\.ts/;

export function watchTimers(): TimerWatch {
  const realSetTimeout = globalThis.setTimeout;
  const realSetInterval = globalThis.setInterval;
  const realClearTimeout = globalThis.clearTimeout;
  const realClearInterval = globalThis.clearInterval;
  const watched = new Map<unknown, Watched>();

  const watch = (repeat: boolean, real: typeof setTimeout | typeof setInterval) =>
    function (this: unknown, callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) {
      const stack = new Error().stack ?? '';
      if (!FROM_SRC.test(stack)) return (real as (...a: unknown[]) => unknown)(callback, ms, ...args);
      const entry: Watched = { stack, fired: false, cleared: false, repeat };
      const timer = (real as (...a: unknown[]) => unknown)((...a: unknown[]) => {
        if (!repeat) entry.fired = true;
        callback(...a);
      }, ms, ...args);
      watched.set(timer, entry);
      return timer;
    };
  const clear = (real: typeof clearTimeout) => (timer: unknown) => {
    const entry = watched.get(timer);
    if (entry) entry.cleared = true;
    real(timer as NodeJS.Timeout);
  };

  globalThis.setTimeout = watch(false, realSetTimeout) as unknown as typeof setTimeout;
  globalThis.setInterval = watch(true, realSetInterval) as unknown as typeof setInterval;
  globalThis.clearTimeout = clear(realClearTimeout) as typeof clearTimeout;
  globalThis.clearInterval = clear(realClearInterval) as typeof clearInterval;

  return {
    armed: () => [...watched.values()].filter((w) => !w.fired && !w.cleared).map((w) => w.stack.split('\n').slice(2, 5).join(' | ')),
    created: () => watched.size,
    restore: () => {
      globalThis.setTimeout = realSetTimeout;
      globalThis.setInterval = realSetInterval;
      globalThis.clearTimeout = realClearTimeout;
      globalThis.clearInterval = realClearInterval;
    },
  };
}
