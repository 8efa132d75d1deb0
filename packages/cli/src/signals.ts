const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface StopSignals {
  /** Resolves with the first SIGINT or SIGTERM. */
  readonly stopped: Promise<NodeJS.Signals>;
  /** Removes the handlers (the default ones apply again). */
  dispose(): void;
}

/**
 * Turns SIGINT/SIGTERM into a promise so a command can shut down cleanly, and calls
 * `onReport` on every SIGUSR2. Installed before listening, so a signal that comes early
 * still ends in a clean stop.
 */
export function catchStopSignals(onReport?: () => void): StopSignals {
  let resolve!: (signal: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((r) => {
    resolve = r;
  });
  const onStop = (signal: NodeJS.Signals): void => resolve(signal);
  for (const signal of STOP_SIGNALS) process.on(signal, onStop);
  if (onReport) process.on('SIGUSR2', onReport);
  return {
    stopped,
    dispose() {
      for (const signal of STOP_SIGNALS) process.off(signal, onStop);
      if (onReport) process.off('SIGUSR2', onReport);
    },
  };
}
