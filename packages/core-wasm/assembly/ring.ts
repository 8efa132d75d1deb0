// Receive rings: bytes in (push, or writeSpan/receiveWindow + commit), bytes out (read, or
// readSpan + consume), and the flow control (PAUSE/RESUME) both sides drive.
//
// One ring per slot, capacity C = rxBufferSize (a power of two), its bytes in a buffer the
// slot borrows from the ring pool (pool.ts) while it holds any. head and tail are u32
// positions; the byte at position p lives at p & (C − 1) of that buffer. They run freely
// while bytes are buffered and restart at ringOrigin each time the ring empties.
//
//        head                 tail
//         ▼                    ▼
//   ┌───┬───┬───┬───┬───┬───┬───┬───┐     used = tail − head (mod 2^32)
//   │   │ a │ b │ c │ d │ e │   │   │     empty ⇔ used == 0; full ⇔ used == C
//   └───┴───┴───┴───┴───┴───┴───┴───┘     (no slot is sacrificed; u32 wrap is harmless
//                                           because C divides 2^32)
//
// Flow control: RAW pauses at the high watermark and resumes at the low one; framed modes
// pause only when the ring is full (a partial frame above the high watermark would never
// complete otherwise) and resume as soon as a read frees any room.

import { ERR_CLOSED, ERR_RANGE, END_OF_STREAM, ERR_NOT_INIT, FRAME_PENDING, STATE_OPEN, FLAG_RECV_PENDING, FLAG_PAUSED, FLAG_EOF } from "../src/constants";
import { NIL, Slot, header, inStaging, ready, ringMask, slotAt, stagingOffset } from "./layout";
import { checkRing, endWindow, giveRing, ringOf, takeRing } from "./pool";
import { lookup } from "./handles";
import { queueRecv, setPaused } from "./events";
import { MODE_RAW, frameLength } from "./framing";

/**
 * The one wrap-around copy: `n` bytes between ring position `pos` (and on) and the flat
 * buffer at `flat`, into the ring or out of it. At most two pieces: up to the ring's end,
 * then from its start.
 */
@inline export function ringCopy(ring: usize, pos: u32, flat: usize, n: u32, intoRing: bool): void {
  const at = pos & ringMask;
  const first = min(n, ringMask + 1 - at);
  if (intoRing) {
    memory.copy(ring + <usize>at, flat, <usize>first);
    if (n > first) memory.copy(ring, flat + <usize>first, <usize>(n - first));
  } else {
    memory.copy(flat, ring + <usize>at, <usize>first);
    if (n > first) memory.copy(flat + <usize>first, ring, <usize>(n - first));
  }
}

/**
 * Copies up to `len` bytes at `ptr` (inside the staging area) into the client's ring.
 * Returns how many fit (0..len). Queues RECV when bytes arrive (framed: when a frame is
 * complete) and PAUSE when the ring reaches the high watermark (framed: is full).
 */
export function push(handle: i32, ptr: i32, len: i32, now: f64): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  if (!inStaging(ptr, len)) return ERR_RANGE;
  const index = <u32>i;
  const s = slotAt(index);
  if (s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0) return ERR_CLOSED;
  const capacity = ringMask + 1;
  const n = min(<u32>len, capacity - (s.tail - s.head));
  if (n == 0) return 0;
  if (s.ring == NIL) takeRing(s, 0); // empty → non-empty: borrow a buffer
  ringCopy(ringOf(s), s.tail, <usize>ptr, n, true);
  commitBytes(handle, index, s, n, now);
  checkRing(s);
  return <i32>n;
}

/** Appends `n` bytes already in the ring at its tail: counters, RECV, PAUSE. */
function commitBytes(handle: i32, index: u32, s: Slot, n: u32, now: f64): void {
  const h = header();
  const used = s.tail - s.head;
  assert(used + n <= ringMask + 1, "ring overfilled");
  s.tail += n;
  s.bytesIn += <u64>n;
  h.bytesIn += <u64>n;
  s.lastActivity = now;

  if (s.mode == MODE_RAW) {
    if ((s.flags & FLAG_RECV_PENDING) == 0) queueRecv(handle, s);
    if ((s.flags & FLAG_PAUSED) == 0 && used + n >= h.highWatermark) setPaused(handle, s, true);
  } else {
    // Framed: wake JS only for something it can take (rule 6), pause only when full (rule 7).
    if ((s.flags & FLAG_RECV_PENDING) == 0 && frameLength(index, s) != FRAME_PENDING) queueRecv(handle, s);
    if ((s.flags & FLAG_PAUSED) == 0 && used + n == ringMask + 1) setPaused(handle, s, true);
  }
}

/** Contiguous free bytes at the tail of an open, not ended client's ring (0 when full). */
@inline function freeSpan(s: Slot): u32 {
  const capacity = ringMask + 1;
  return min(capacity - (s.tail - s.head), capacity - (s.tail & ringMask));
}

/** Contiguous readable bytes at the head of a ring. */
@inline function usedSpan(s: Slot): u32 {
  const capacity = ringMask + 1;
  return min(s.tail - s.head, capacity - (s.head & ringMask));
}

/**
 * The one-copy way in, for large chunks: answers how many bytes can be written straight into
 * the ring at its tail without wrapping (0 when full) and sets `spanPtr` to where. JS copies
 * there, then calls `commit`. Opens a window: an empty ring borrows its buffer now and keeps
 * it until `commit`, the next `receiveWindow`, eof, close or release (pool.ts).
 */
export function writeSpan(handle: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const s = slotAt(<u32>i);
  if (s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0) return ERR_CLOSED;
  if (s.ring == NIL) takeRing(s, 1);
  else s.window = 1;
  header().spanPtr = <u32>(ringOf(s) + <usize>(s.tail & ringMask));
  checkRing(s);
  return <i32>freeSpan(s);
}

/** receiveWindow's packing: length · 2^31 + address (every address is below 2^31). */
const WINDOW_SCALE: f64 = 2147483648.0;
/** Largest window receiveWindow hands out: 2^21 · 2^31 + 2^31 < 2^53, so the packing is exact in an f64. */
const MAX_WINDOW: u32 = 1 << 21;

/**
 * Where the kernel's next read for this client should land, in one call: the window packed
 * as length · 2^31 + address (JS: length = ⌊w / 2^31⌋, address = w − length · 2^31), 0 when
 * the ring is full, or a status. At most MAX_WINDOW bytes.
 *
 * The window is the free span at the ring's tail — when the slot already holds its buffer
 * and the app is behind (at least `minWindow` bytes buffered; minWindow < 0: any byte), and
 * the span is at least `minWindow` bytes or all the room there is. Else it is the staging
 * area, sized to all the room (at most stagingSize), and `push` takes the bytes from there.
 *
 * Why: Node keeps the window as the landing place of the socket's *next* read, for as long
 * as the app takes, so a ring window pins the buffer (pool.ts) until `commit`, the next
 * `receiveWindow`, eof, close or release. A ring the app keeps drained (the common, mostly
 * idle case) therefore reads through staging and gives its buffer back as soon as it is
 * read empty; only a ring the app is behind on reads in place. Each answer replaces the
 * previous window (Node reads into the last buffer it was given).
 */
export function receiveWindow(handle: i32, minWindow: i32): f64 {
  const i = lookup(handle);
  if (i < 0) return <f64>i;
  const s = slotAt(<u32>i);
  if (s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0) return <f64>ERR_CLOSED;
  const used = s.tail - s.head;
  const room = ringMask + 1 - used;
  let at: usize = stagingOffset;
  let length = min(room, header().stagingSize);
  const span = freeSpan(s);
  const behind = minWindow >= 0 ? used >= <u32>minWindow : used > 0;
  if (room != 0 && s.ring != NIL && behind && (span == room || (minWindow >= 0 && span >= <u32>minWindow))) {
    at = ringOf(s) + <usize>(s.tail & ringMask);
    length = span;
    s.window = 1;
  } else {
    endWindow(s); // the window this one replaces is over
  }
  checkRing(s);
  if (room == 0) return 0;
  return <f64>min(length, MAX_WINDOW) * WINDOW_SCALE + <f64>at;
}

/**
 * Takes `len` bytes JS wrote at the address `writeSpan` (or a ring `receiveWindow`) gave, as
 * `push` takes copied ones (RECV, PAUSE, counters), and ends that window (0: it went unused).
 * `len` must not exceed what `writeSpan` answers now; bytes need a window on the slot's
 * buffer (ERR_RANGE if it holds none: there is nowhere they could have been written).
 * Returns `len`.
 */
export function commit(handle: i32, len: i32, now: f64): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const s = slotAt(<u32>i);
  if (s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0) return ERR_CLOSED;
  if (len < 0 || <u32>len > freeSpan(s) || (len > 0 && s.ring == NIL)) return ERR_RANGE;
  s.window = 0;
  if (len > 0) commitBytes(handle, <u32>i, s, <u32>len, now);
  else if (s.ring != NIL && s.head == s.tail) giveRing(s);
  checkRing(s);
  return len;
}

/**
 * The one-copy way out: answers how many bytes can be read straight from the ring at its head
 * without wrapping (≥ 1), 0 if none yet, or END_OF_STREAM, and sets `spanPtr` to where. JS
 * copies from there, then calls `consume`. Nothing changes until `consume`.
 */
export function readSpan(handle: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const s = slotAt(<u32>i);
  if (s.tail == s.head) return s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0 ? END_OF_STREAM : 0;
  header().spanPtr = <u32>(ringOf(s) + <usize>(s.head & ringMask));
  return <i32>usedSpan(s);
}

/** Drops `len` (1 … what `readSpan` answers now) bytes JS copied out, as `read` does. Returns `len`. */
export function consume(handle: i32, len: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const s = slotAt(<u32>i);
  if (len < 1 || <u32>len > usedSpan(s)) return ERR_RANGE;
  consumeBytes(handle, s, <u32>len);
  return len;
}

/** Address answered by the last `writeSpan`/`readSpan`/`frameSpan` (0 before any). */
export function spanPtr(): i32 { return ready ? <i32>header().spanPtr : ERR_NOT_INIT; }

/**
 * Copies up to `max` (≥ 1) bytes from the client's ring to `dst` (inside the staging
 * area), oldest first. Returns the count, 0 if nothing is buffered yet, or END_OF_STREAM
 * once the ring is empty and the peer ended or the client closed. Queues RESUME when a
 * paused ring drains to the low watermark (framed: when it frees any room).
 */
export function read(handle: i32, dst: i32, max: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  if (max < 1 || !inStaging(dst, max)) return ERR_RANGE;
  const index = <u32>i;
  const s = slotAt(index);
  const used = s.tail - s.head;
  if (used == 0) {
    return s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0 ? END_OF_STREAM : 0;
  }
  const n = min(<u32>max, used);
  ringCopy(ringOf(s), s.head, <usize>dst, n, false);
  consumeBytes(handle, s, n);
  return <i32>n;
}

/**
 * Drops `n` bytes from the head of a ring: the frame scan follows; RESUME when due. A ring
 * left empty gives its buffer back (unless a window pins it), restarting at ringOrigin.
 */
export function consumeBytes(handle: i32, s: Slot, n: u32): void {
  const used = s.tail - s.head;
  assert(n <= used, "consumed more than buffered");
  s.head += n;
  if (s.mode == MODE_RAW) {
    if ((s.flags & FLAG_PAUSED) != 0 && used - n <= header().lowWatermark) setPaused(handle, s, false);
  } else {
    // The head passed the scan (or the terminator it found): restart at the head.
    if (s.scan - (s.head - n) < n) {
      s.scan = s.head;
      s.found = 0;
    }
    if ((s.flags & FLAG_PAUSED) != 0) setPaused(handle, s, false);
  }
  if (s.head == s.tail && s.window == 0) giveRing(s); // non-empty → empty
  checkRing(s);
}
