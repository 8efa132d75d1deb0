// Handles: what JS holds for a client, and the one check every per-client export starts with.
//
//   handle = generation << slotBits | slot      (always > 0; slotBits = ⌈log2 maxSockets⌉)
//
// A slot's generation bumps each time the slot is freed (lists.ts, freeSlot), so a handle
// kept after its client was freed no longer matches and every export answers ERR_STALE in
// O(1).

import { ERR_STALE, ERR_NOT_INIT, STATE_FREE } from "../src/constants";
import { Slot, header, ready, slotAt, slotBits, slotMask } from "./layout";

@inline export function handleOf(index: u32, s: Slot): i32 {
  return <i32>((s.gen << slotBits) | index);
}

/**
 * The slot index (≥ 0) of a live (OPEN or CLOSED) handle, or the status to answer:
 * ERR_NOT_INIT before init, ERR_STALE for anything else. One mask, one compare, one load.
 */
export function lookup(handle: i32): i32 {
  if (!ready) return ERR_NOT_INIT;
  if (handle <= 0) return ERR_STALE;
  const index = <u32>handle & slotMask;
  if (index >= header().maxSockets) return ERR_STALE;
  const s = slotAt(index);
  if (s.state == STATE_FREE || s.gen != (<u32>handle >>> slotBits)) return ERR_STALE;
  return <i32>index;
}
