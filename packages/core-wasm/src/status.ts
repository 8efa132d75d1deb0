import * as K from './constants.js';

/**
 * Status code → its name in constants.ts, built from that file itself, so every message can
 * name the status and no table can fall out of date.
 */
const NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(K)
    .filter(([name]) => name === 'OK' || name === 'END_OF_STREAM' || name === 'FRAME_PENDING' || name.startsWith('ERR_'))
    .map(([name, value]) => [value, name]),
);

/** `ERR_STALE`, `END_OF_STREAM`, … or `status N` for a number the core never returns. */
export function statusName(status: number): string {
  return NAMES.get(status) ?? `status ${status}`;
}
