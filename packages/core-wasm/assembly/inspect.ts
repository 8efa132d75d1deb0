// Reading state without changing it: one client's fields through the info cursor, the
// time-limit sweep, and the server counters.

import { OK, ERR_NOT_INIT, ERR_RANGE, STATE_OPEN } from "../src/constants";
import { header, ready, slotAt } from "./layout";
import { handleOf, lookup } from "./handles";

/** Copies one client's fields into the info cursor; OK or a status. */
export function inspect(handle: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const s = slotAt(<u32>i);
  const h = header();
  h.infoSerial = s.serial;
  h.infoState = s.state;
  h.infoFlags = s.flags;
  h.infoRxUsed = s.tail - s.head;
  h.infoBytesIn = s.bytesIn;
  h.infoBytesOut = s.bytesOut;
  h.infoConnectTime = s.connectTime;
  h.infoLastActivity = s.lastActivity;
  return OK;
}

// Every getter answers ERR_NOT_INIT before init: until then memory has no header to read.

/** Client number (1, 2, 3 … in order of opening) of the inspected client. */
export function infoSerial(): f64 { return ready ? <f64>header().infoSerial : ERR_NOT_INIT; }
/** STATE_OPEN or STATE_CLOSED. */
export function infoState(): i32 { return ready ? <i32>header().infoState : ERR_NOT_INIT; }
/** FLAG_* bits. */
export function infoFlags(): i32 { return ready ? <i32>header().infoFlags : ERR_NOT_INIT; }
/** Bytes buffered in the ring. */
export function infoRxUsed(): i32 { return ready ? <i32>header().infoRxUsed : ERR_NOT_INIT; }
/** Bytes pushed into the ring over the client's life. */
export function infoBytesIn(): f64 { return ready ? <f64>header().infoBytesIn : ERR_NOT_INIT; }
/** Bytes recorded as sent over the client's life. */
export function infoBytesOut(): f64 { return ready ? <f64>header().infoBytesOut : ERR_NOT_INIT; }
/** `now` given to `open`. */
export function infoConnectTime(): f64 { return ready ? header().infoConnectTime : ERR_NOT_INIT; }
/** `now` of the last push or recordSent. */
export function infoLastActivity(): f64 { return ready ? header().infoLastActivity : ERR_NOT_INIT; }

/**
 * Finds the next open client, scanning slots from `fromSlot`, that has been idle for at
 * least `idleMs` or open for at least `lifetimeMs` (a limit ≤ 0 is off). Returns its
 * handle, or 0 when the scan reached the end; `sweepNext` tells where to continue.
 */
export function sweep(now: f64, idleMs: f64, lifetimeMs: f64, fromSlot: i32): i32 {
  if (!ready) return ERR_NOT_INIT;
  const h = header();
  if (fromSlot < 0) return ERR_RANGE;
  for (let i = <u32>fromSlot; i < h.maxSockets; i++) {
    const s = slotAt(i);
    if (s.state != STATE_OPEN) continue;
    if ((idleMs > 0 && now - s.lastActivity >= idleMs) || (lifetimeMs > 0 && now - s.connectTime >= lifetimeMs)) {
      h.sweepNext = i + 1;
      return handleOf(i, s);
    }
  }
  h.sweepNext = h.maxSockets;
  return 0;
}

/** Slot index where the next `sweep` should continue. */
export function sweepNext(): i32 { return ready ? <i32>header().sweepNext : ERR_NOT_INIT; }

// ── Server counters ────────────────────────────────────────────────────────────

/** Open clients. */
export function statLive(): i32 { return ready ? <i32>header().live : ERR_NOT_INIT; }
/** Slots in use: open clients plus closed ones not yet freed. */
export function statUsedSlots(): i32 { return ready ? <i32>header().used : ERR_NOT_INIT; }
/** Clients waiting in the accept queue. */
export function statPendingAccept(): i32 { return ready ? <i32>header().pendingAccept : ERR_NOT_INIT; }
/** Clients whose ring is paused. */
export function statPaused(): i32 { return ready ? <i32>header().paused : ERR_NOT_INIT; }
/** Events queued and not yet drained. */
export function statQueuedEvents(): i32 { return ready ? <i32>(header().eventTail - header().eventHead) : ERR_NOT_INIT; }
/** The current admission limit. */
export function statMaxClients(): i32 { return ready ? <i32>header().maxClients : ERR_NOT_INIT; }
/** Clients admitted over the core's life. */
export function statOpened(): f64 { return ready ? <f64>header().opened : ERR_NOT_INIT; }
/** Clients refused by `open` (limit or full table). */
export function statRejected(): f64 { return ready ? <f64>header().rejected : ERR_NOT_INIT; }
/** Clients closed. */
export function statClosed(): f64 { return ready ? <f64>header().closed : ERR_NOT_INIT; }
/** Bytes pushed into rings. */
export function statBytesIn(): f64 { return ready ? <f64>header().bytesIn : ERR_NOT_INIT; }
/** Bytes recorded as sent. */
export function statBytesOut(): f64 { return ready ? <f64>header().bytesOut : ERR_NOT_INIT; }
/** Ring buffers lent to slots (pool.ts): 0 once every client's ring is empty and no window is out. */
export function statRingsInUse(): i32 { return ready ? <i32>header().ringsInUse : ERR_NOT_INIT; }
