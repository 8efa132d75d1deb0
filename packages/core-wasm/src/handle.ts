/**
 * A client's handle in the core (`generation << slotBits | slot`, always > 0). Branded so that
 * a count, a status or a slot index can never be passed where a handle belongs.
 */
export type Handle = number & { readonly __tcpservHandle: true };

/** True for a handle returned by `open` / `accept` (a positive integer), false for a status. */
export function isHandle(value: number): value is Handle {
  return value > 0;
}
