import type { ServerStats } from '@tcpserv/node';
import type { Logger } from './log.js';


/** What the stats line shows: a server's stats, or the sum over workers. */
export type StatsCounters = Pick<ServerStats, 'opened' | 'rejected' | 'closed' | 'bytesIn' | 'bytesOut'>;

/** The counters of the final stats line, in their contract order. */
export function statsFields(s: StatsCounters): { opened: number; rejected: number; closed: number; bytesIn: number; bytesOut: number } {
  return { opened: s.opened, rejected: s.rejected, closed: s.closed, bytesIn: s.bytesIn, bytesOut: s.bytesOut };
}

/** `opened=1 rejected=0 closed=1 bytesIn=5 bytesOut=5`. */
export function statsText(s: StatsCounters): string {
  return Object.entries(statsFields(s)).map(([key, value]) => `${key}=${value}`).join(' ');
}

/**
 * The stats line — a contract with the benchmarks: text `stats opened=<n> rejected=<n>
 * closed=<n> bytesIn=<n> bytesOut=<n>`; json `{"msg":"stats", …the same keys as numbers}`.
 */
export function logStats(log: Logger, s: StatsCounters): void {
  log.always(`stats ${statsText(s)}`, 'stats', statsFields(s));
}

/** Rows as space-aligned columns; the first row is the header. */
export function table(rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((row) => row.map(String));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
