// The two intrusive lists threaded through the slots' prev/next fields (NIL-terminated):
//
//   accept queue (doubly linked, header.acceptHead … acceptTail): OPEN clients not yet
//     taken by `accept`, oldest first; `close` unlinks from the middle.
//   free list (singly linked, header.freeHead … freeTail): FREE slots, taken at the head
//     by `open`, given back at the tail by freeSlot — FIFO, so a slot rests as long as
//     possible before its next generation is handed out.

import { ERR_NOT_INIT, STATE_FREE, FLAG_IN_ACCEPT_QUEUE } from "../src/constants";
import { NIL, SLOT_BYTES, genMask, header, ready, slotAt } from "./layout";
import { handleOf } from "./handles";
import { giveRing } from "./pool";

// ── Accept queue ───────────────────────────────────────────────────────────────

/** Appends an opened client. */
export function acceptQueueAppend(index: u32): void {
  const h = header();
  const s = slotAt(index);
  s.flags |= FLAG_IN_ACCEPT_QUEUE;
  s.next = NIL;
  s.prev = h.acceptTail;
  if (h.acceptTail == NIL) h.acceptHead = <i32>index;
  else slotAt(<u32>h.acceptTail).next = <i32>index;
  h.acceptTail = <i32>index;
  h.pendingAccept++;
}

/** Unlinks a client from anywhere in the queue. */
export function acceptQueueRemove(index: u32): void {
  const h = header();
  const s = slotAt(index);
  if (s.prev == NIL) h.acceptHead = s.next;
  else slotAt(<u32>s.prev).next = s.next;
  if (s.next == NIL) h.acceptTail = s.prev;
  else slotAt(<u32>s.next).prev = s.prev;
  s.prev = NIL;
  s.next = NIL;
  s.flags &= ~FLAG_IN_ACCEPT_QUEUE;
  assert(h.pendingAccept > 0, "pending accepts negative");
  h.pendingAccept--;
}

/** Takes the oldest opened-but-not-accepted client: its handle, or 0 when none waits. */
export function accept(): i32 {
  if (!ready) return ERR_NOT_INIT;
  const h = header();
  if (h.acceptHead == NIL) return 0;
  const index = <u32>h.acceptHead;
  acceptQueueRemove(index);
  return handleOf(index, slotAt(index));
}

// ── Free list ──────────────────────────────────────────────────────────────────

/** Every slot FREE, generation 1, listed in slot order. */
export function initFreeList(sockets: u32): void {
  const h = header();
  for (let i: u32 = 0; i < sockets; i++) {
    const s = slotAt(i);
    memory.fill(changetype<usize>(s), 0, SLOT_BYTES);
    s.gen = 1;
    s.prev = NIL;
    s.next = i + 1 < sockets ? <i32>(i + 1) : NIL;
  }
  h.freeHead = 0;
  h.freeTail = <i32>(sockets - 1);
}

/** Takes the oldest free slot's index, or NIL when every slot is in use. */
export function freeListTake(): i32 {
  const h = header();
  const index = h.freeHead;
  if (index == NIL) return NIL;
  h.freeHead = slotAt(<u32>index).next;
  if (h.freeHead == NIL) h.freeTail = NIL;
  return index;
}

/** Frees a slot: its ring buffer back to the pool (unread bytes dropped), a new generation (old handles go stale) and the free list's tail. */
export function freeSlot(index: u32): void {
  const h = header();
  const s = slotAt(index);
  if (s.ring != NIL) {
    s.head = s.tail;
    giveRing(s);
  }
  s.gen = (s.gen + 1) & genMask;
  if (s.gen == 0) s.gen = 1; // generation 0 would make handle 0 possible for slot 0
  s.state = STATE_FREE;
  s.flags = 0;
  s.prev = NIL;
  s.next = NIL;
  if (h.freeTail == NIL) h.freeHead = <i32>index;
  else slotAt(<u32>h.freeTail).next = <i32>index;
  h.freeTail = <i32>index;
  assert(h.used > 0, "used slots negative");
  h.used--;
}
