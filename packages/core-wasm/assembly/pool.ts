// The ring pool: maxSockets ring buffers, lent to slots only while they hold bytes.
//
// A slot takes a buffer when its ring goes from empty to non-empty (push) or when writeSpan
// opens a window on an empty ring (receiveWindow never takes one: on a ring without a buffer
// it answers the staging area, see ring.ts), and gives it back when its ring is empty again
// with no window out on it (consume, read, readFrame, skipFrame, commit 0, eof, close,
// release, or a receiveWindow that replaces the window with staging). Buffers
// are taken and given back at the top of a LIFO free list, so the buffer the last client
// emptied — its pages resident and warm in cache — is the next one lent, and an idle client
// (empty ring) touches no ring memory at all. A buffer given back restarts at ringOrigin
// (head = tail = scan), so the few bytes a mostly idle client receives always land in the
// buffer's first page instead of wandering through all of it.
//
// The pool's invariants are asserted in the debug build only (`if (!ASC_NO_ASSERT)`: with
// --noAssert an assert's loads would still be emitted, on the path every push takes).
//
// Why a window pins its buffer: the binding hands the window to Node, which keeps it as the
// landing place of the socket's *next* read, across anything the app does meanwhile. Giving
// that buffer to another slot before the read lands would let two slots write it.

import { NIL, Slot, header, ringAt, slotAt } from "./layout";

/**
 * Every buffer free, buffer 0 on top. The list is threaded through the slot records: the
 * `ringNext` field of slot k links buffer k (there are as many buffers as slots), so the
 * pool needs no memory of its own and layoutBytes is unchanged.
 */
export function initRingPool(sockets: u32): void {
  const h = header();
  for (let k: u32 = 0; k < sockets; k++) {
    const s = slotAt(k);
    s.ring = NIL;
    s.ringNext = k + 1 < sockets ? <i32>(k + 1) : NIL;
  }
  h.ringFree = 0;
  h.ringsFree = sockets;
  h.ringsInUse = 0;
}

/** Address of the buffer a slot holds (only meaningful while it holds one). */
@inline export function ringOf(s: Slot): usize {
  return ringAt(<u32>s.ring);
}

/** Lends the top free buffer to `s`, which holds none; `window` marks it pinned by a window. */
export function takeRing(s: Slot, window: u8): void {
  const h = header();
  if (!ASC_NO_ASSERT) assert(s.ring == NIL, "ring taken twice");
  const k = h.ringFree;
  // As many buffers as slots, one at most per slot: a slot that needs one always finds one.
  if (!ASC_NO_ASSERT) assert(k != NIL && h.ringsFree > 0, "ring pool empty");
  h.ringFree = slotAt(<u32>k).ringNext;
  s.ring = k;
  s.window = window;
  h.ringsFree--;
  h.ringsInUse++;
  if (!ASC_NO_ASSERT) assert(h.ringsFree + h.ringsInUse == h.maxSockets, "ring pool count");
}

/**
 * Gives `s`'s buffer back to the top of the free list. Its bytes are dropped (the caller
 * consumed them or is freeing the slot) and the positions restart at ringOrigin; the scan
 * restarts with them, so framing carries on as if nothing moved.
 */
export function giveRing(s: Slot): void {
  const h = header();
  if (!ASC_NO_ASSERT) assert(s.ring != NIL, "ring given back twice");
  slotAt(<u32>s.ring).ringNext = h.ringFree;
  h.ringFree = s.ring;
  s.ring = NIL;
  s.window = 0;
  s.head = h.ringOrigin;
  s.tail = h.ringOrigin;
  s.scan = h.ringOrigin;
  s.found = 0;
  if (!ASC_NO_ASSERT) assert(h.ringsInUse > 0, "rings in use negative");
  h.ringsInUse--;
  h.ringsFree++;
  if (!ASC_NO_ASSERT) assert(h.ringsFree + h.ringsInUse == h.maxSockets, "ring pool count");
}

/**
 * The window on `s` is over (its read landed, or can no longer land: end of stream, close):
 * unpins the buffer and gives it back if the ring is empty.
 */
export function endWindow(s: Slot): void {
  s.window = 0;
  if (s.ring != NIL && s.head == s.tail) giveRing(s);
}

/**
 * Debug build: a slot holding bytes holds a buffer; an empty slot holds none unless a
 * window pins it. Compiled away in the release build (--noAssert).
 */
@inline export function checkRing(s: Slot): void {
  if (!ASC_NO_ASSERT) {
    assert(s.head == s.tail || s.ring != NIL, "bytes buffered without a ring");
    assert(s.head != s.tail || s.ring == NIL || s.window != 0, "empty ring held without a window");
    assert(s.window == 0 || s.ring != NIL, "window without a ring");
  }
}
