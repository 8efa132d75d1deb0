import { readFileSync } from 'node:fs';

/** Descriptors kept free for everything else a process opens (files, stdio, the listener …). */
export const DESCRIPTOR_RESERVE = 32;

/**
 * A maxClients the process cannot hold open (RLIMIT_NOFILE, soft) would turn into accept
 * failures at run time; clamp it when the server starts, with a warning, instead.
 * Only Linux exposes the limit without a native addon (/proc/self/limits); elsewhere the
 * value is kept and EMFILE is handled at accept time.
 */
export function clampToDescriptorLimit(maxClients: number, name: string): number {
  const limit = openFilesLimit();
  if (limit === undefined) return maxClients;
  const supportable = Math.max(1, limit - DESCRIPTOR_RESERVE);
  if (maxClients <= supportable) return maxClients;
  process.emitWarning(
    `[${name}] maxClients ${maxClients} exceeds what this process can hold open (open files limit ${limit}, ` +
      `${DESCRIPTOR_RESERVE} kept in reserve); using maxClients ${supportable}. Raise the limit with ulimit -n.`,
    { code: 'TCPSERV_MAX_CLIENTS_CLAMPED' },
  );
  return supportable;
}

/** The soft RLIMIT_NOFILE, or undefined where /proc/self/limits does not tell. */
export function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    const value = soft === undefined || soft === 'unlimited' ? NaN : Number(soft);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
