// The client table's lifecycle: FREE → open → OPEN → close → CLOSED → release (+ DISCONNECT
// drained) → FREE. A CLOSED client keeps its unread bytes until it is released.

import {
  OK, ERR_LIMIT, ERR_TABLE_FULL, ERR_CLOSED, ERR_RANGE, ERR_OPEN, ERR_NOT_INIT, ERR_CONFIG_MAX_CLIENTS,
  EV_CONNECT, EV_DISCONNECT, STATE_OPEN, STATE_CLOSED,
  FLAG_IN_ACCEPT_QUEUE, FLAG_RECV_PENDING, FLAG_PAUSED, FLAG_EOF, FLAG_DISCONNECT_DRAINED, FLAG_RELEASED,
} from "../src/constants";
import { NIL, header, ready, slotAt } from "./layout";
import { handleOf, lookup } from "./handles";
import { enqueue, queueRecv } from "./events";
import { acceptQueueAppend, acceptQueueRemove, freeListTake, freeSlot } from "./lists";
import { MODE_RAW } from "./framing";
import { endWindow } from "./pool";

/** Changes the admission limit (1..maxSockets). Clients already open stay open. */
export function setMaxClients(maxClients: i32): i32 {
  if (!ready) return ERR_NOT_INIT;
  const h = header();
  if (maxClients < 1 || <u32>maxClients > h.maxSockets) return ERR_CONFIG_MAX_CLIENTS;
  h.maxClients = <u32>maxClients;
  return OK;
}

/**
 * Admits a client: returns its handle, or ERR_LIMIT (maxClients live) / ERR_TABLE_FULL
 * (no free slot). Queues CONNECT and appends the client to the accept queue.
 */
export function open(now: f64): i32 {
  if (!ready) return ERR_NOT_INIT;
  const h = header();
  if (h.live >= h.maxClients) {
    h.rejected++;
    return ERR_LIMIT;
  }
  const taken = freeListTake();
  if (taken == NIL) {
    h.rejected++;
    return ERR_TABLE_FULL;
  }
  const index = <u32>taken;
  const s = slotAt(index);
  assert(s.ring == NIL && s.window == 0, "a free slot holds a ring");
  h.opened++;
  h.live++;
  h.used++;
  s.state = STATE_OPEN;
  s.flags = 0;
  s.serial = <u32>h.opened;
  s.head = h.ringOrigin;
  s.tail = h.ringOrigin;
  s.bytesIn = 0;
  s.bytesOut = 0;
  s.connectTime = now;
  s.lastActivity = now;
  s.mode = MODE_RAW;
  s.found = 0;
  s.scan = h.ringOrigin;
  acceptQueueAppend(index);

  const handle = handleOf(index, s);
  enqueue(handle, EV_CONNECT);
  return handle;
}

/**
 * Closes an open client: it leaves the accept queue, stops taking bytes and gets its
 * DISCONNECT. Bytes already in its ring stay readable until the slot is released.
 */
export function close(handle: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const index = <u32>i;
  const h = header();
  const s = slotAt(index);
  if (s.state != STATE_OPEN) return ERR_CLOSED;
  if ((s.flags & FLAG_IN_ACCEPT_QUEUE) != 0) acceptQueueRemove(index);
  if ((s.flags & FLAG_PAUSED) != 0) {
    // No RESUME: a closed client has no socket; a queued PAUSE/RESUME is dropped when drained.
    s.flags &= ~FLAG_PAUSED;
    assert(h.paused > 0, "paused count negative");
    h.paused--;
  }
  s.state = STATE_CLOSED;
  endWindow(s); // no read lands after the socket closed: an empty ring gives its buffer back
  assert(h.live > 0, "live count negative");
  h.live--;
  h.closed++;
  enqueue(handle, EV_DISCONNECT);
  return OK;
}

/**
 * Gives a closed client's slot back: freed now if its DISCONNECT was drained, else as
 * soon as it is. Unread bytes are discarded. ERR_OPEN if the client is still open.
 */
export function release(handle: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const s = slotAt(<u32>i);
  if (s.state == STATE_OPEN) return ERR_OPEN;
  s.flags |= FLAG_RELEASED;
  if ((s.flags & FLAG_DISCONNECT_DRAINED) != 0) freeSlot(<u32>i);
  return OK;
}

/** The peer ended its side: reads drain the ring, then answer END_OF_STREAM. Queues RECV. */
export function eof(handle: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const s = slotAt(<u32>i);
  if (s.state != STATE_OPEN) return ERR_CLOSED;
  if ((s.flags & FLAG_EOF) != 0) return OK;
  s.flags |= FLAG_EOF;
  endWindow(s); // no read lands after the end of stream: an empty ring gives its buffer back
  if ((s.flags & FLAG_RECV_PENDING) == 0) queueRecv(handle, s);
  return OK;
}

/** Counts bytes the binding handed to the socket for this client. */
export function recordSent(handle: i32, bytes: i32, now: f64): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  if (bytes < 0) return ERR_RANGE;
  const s = slotAt(<u32>i);
  if (s.state != STATE_OPEN) return ERR_CLOSED;
  s.bytesOut += <u64>bytes;
  header().bytesOut += <u64>bytes;
  s.lastActivity = now;
  return OK;
}
