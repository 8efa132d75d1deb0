/**
 * A coarse monotonic clock for the per-chunk path. The core stamps every push and send with
 * the time (for idle timeouts and `lastActivityAt`), and `performance.now()` per chunk cost
 * about as much as a third of the core's own work on a 64-byte echo. Millisecond precision
 * is not needed there: one unref'd interval, shared by every server in the process and only
 * running while one exists, refreshes the value every CLOCK_TICK_MS.
 */
export const CLOCK_TICK_MS = 25;

let current = performance.now();
let holders = 0;
let timer: NodeJS.Timeout | undefined;

function tick(): void {
  current = performance.now();
}

/** Milliseconds, at most CLOCK_TICK_MS behind `performance.now()` while the clock is held. */
export function coarseNow(): number {
  return current;
}

/** Starts the clock for one server; call the returned function once to let it go. */
export function holdClock(): () => void {
  if (holders++ === 0) {
    tick();
    timer = setInterval(tick, CLOCK_TICK_MS);
    timer.unref();
  }
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--holders === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** Refreshes the clock now (the idle sweep wants an exact time anyway). */
export function preciseNow(): number {
  tick();
  return current;
}
