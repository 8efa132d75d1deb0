// The event queue: a power-of-two ring of Event entries between eventHead and eventTail
// (free-running u32, entry at position p is p & (eventCapacity − 1); empty ⇔ head == tail).
//
// ── Why the event queue cannot overflow ─────────────────────────────────────────
// Per slot at most one CONNECT, one RECV (coalesced by FLAG_RECV_PENDING), one
// PAUSE/RESUME (coalesced by FLAG_FLOW_PENDING) and one DISCONNECT are queued at a
// time, and a slot is not reused until its DISCONNECT was drained (FIFO: so were all
// its earlier events). Hence ≤ 4·maxSockets entries, and eventCapacity ≥ that. Nothing
// is queued for a slot after its DISCONNECT, so no event can outlive its slot. `enqueue`
// and `nextEvent` assert both in the debug build.

import {
  ERR_NOT_INIT, EV_NONE, EV_RECV, EV_DISCONNECT, EV_PAUSE, EV_RESUME, STATE_FREE, STATE_OPEN,
  FLAG_RECV_PENDING, FLAG_FLOW_PENDING, FLAG_PAUSED, FLAG_DISCONNECT_DRAINED, FLAG_RELEASED,
} from "../src/constants";
import { Event, Slot, eventsOffset, header, ready, slotAt, slotMask } from "./layout";
import { handleOf } from "./handles";
import { freeSlot } from "./lists";

/** Internal queue entry kind; reported as EV_PAUSE or EV_RESUME when drained. */
const EV_FLOW: u32 = 99;
/** nextEvent packs the slot above the kind: (slot << EVENT_KIND_BITS) | kind. */
const EVENT_KIND_BITS: u32 = 3;

@inline function eventAt(position: u32): Event {
  return changetype<Event>(eventsOffset + <usize>(position & (header().eventCapacity - 1)) * offsetof<Event>());
}

export function enqueue(handle: i32, kind: u32): void {
  const h = header();
  // Cannot be full (see above). The index is masked, so even a broken bound could only
  // overwrite an entry, never write outside the queue.
  assert(h.eventTail - h.eventHead < h.eventCapacity, "event queue full");
  const e = eventAt(h.eventTail);
  e.handle = handle;
  e.kind = kind;
  h.eventTail++;
}

/** Queues RECV for a client that has none pending. */
@inline export function queueRecv(handle: i32, s: Slot): void {
  s.flags |= FLAG_RECV_PENDING;
  enqueue(handle, EV_RECV);
}

/** Pauses or resumes the client; one PAUSE/RESUME entry stays queued at most (drained as the state then). */
export function setPaused(handle: i32, s: Slot, paused: bool): void {
  const h = header();
  if (paused) {
    s.flags |= FLAG_PAUSED;
    h.paused++;
  } else {
    s.flags &= ~FLAG_PAUSED;
    assert(h.paused > 0, "paused count negative");
    h.paused--;
  }
  if ((s.flags & FLAG_FLOW_PENDING) == 0) {
    s.flags |= FLAG_FLOW_PENDING;
    enqueue(handle, EV_FLOW);
  }
}

/**
 * Takes the oldest queued event: returns (slot << 3) | kind, EV_NONE (0) when the queue is
 * empty — one call per event, the slot names the client (JS maps slots to handles). Draining
 * DISCONNECT frees a released slot.
 */
export function nextEvent(): i32 {
  if (!ready) return ERR_NOT_INIT;
  const h = header();
  while (h.eventHead != h.eventTail) {
    const e = eventAt(h.eventHead);
    h.eventHead++;
    const index = <u32>e.handle & slotMask;
    const s = slotAt(index);
    assert(s.state != STATE_FREE && handleOf(index, s) == e.handle, "event outlived its slot");
    const slot = <i32>(index << EVENT_KIND_BITS);
    if (e.kind == EV_RECV) {
      s.flags &= ~FLAG_RECV_PENDING;
      return slot | EV_RECV;
    }
    if (e.kind == EV_FLOW) {
      s.flags &= ~FLAG_FLOW_PENDING;
      // Closed clients have no socket to pause or resume.
      if (s.state != STATE_OPEN) continue;
      return slot | ((s.flags & FLAG_PAUSED) != 0 ? EV_PAUSE : EV_RESUME);
    }
    if (e.kind == EV_DISCONNECT) {
      s.flags |= FLAG_DISCONNECT_DRAINED;
      if ((s.flags & FLAG_RELEASED) != 0) freeSlot(index);
      return slot | EV_DISCONNECT;
    }
    return slot | <i32>e.kind; // EV_CONNECT
  }
  return EV_NONE;
}
