// Framing: cutting a client's bytes into frames inside the core (setFraming, nextFrameLength,
// readFrame, frameSpan, skipFrame). A frame always starts at the ring's head.
//
//   LINE       payload '\r'? '\n'       (one '\r' right before the '\n' is dropped)
//   DELIMITER  payload delimiter        (1..16 bytes, first occurrence, left to right)
//   LENGTH     header payload           (1/2/4-byte unsigned length, big- or little-endian)
//   FIXED      payload                  (exactly size bytes)
//
// LINE and DELIMITER keep an incremental scan in the slot (Slot.scan, Slot.found):
//
//        head            scan    tail
//         ▼               ▼       ▼
//   ┌───┬───┬───┬───┬───┬───┬───┬───┬───┐   LINE, after the scan found the \n:
//   │   │ G │ E │ T │CR │LF │ x │   │   │   payload GET (CR dropped), frame takes 5
//   └───┴───┴───┴───┴───┴───┴───┴───┴───┘
//   found = 1: the terminator starts at scan; found = 0: none starts in [head, scan)
//
// so bytes arriving one at a time are each looked at once (a delimiter of length d is
// tried at most d times per start). Reads move the head; a scan the head passed restarts
// at the head, and a ring read empty restarts head, tail and scan together at ringOrigin
// when it gives its buffer back (pool.ts) — with nothing buffered there is no scan to keep. LENGTH decodes its header at the head and FIXED compares the fill with its
// size, both O(1), so they keep no scan state.
//
// No complete frame: an empty ring answers END_OF_STREAM once the peer ended or the client
// closed, else FRAME_PENDING; a full ring answers ERR_FRAME_TOO_LARGE (it can never
// complete); at end of stream LINE and DELIMITER hand out the rest as a last frame, LENGTH
// and FIXED answer ERR_FRAME_TRUNCATED.

import {
  OK, ERR_RANGE, END_OF_STREAM, FRAME_PENDING, ERR_FRAME_TOO_LARGE, ERR_FRAME_TRUNCATED, ERR_CONFIG_FRAME,
  STATE_OPEN, FLAG_RECV_PENDING, FLAG_PAUSED, FLAG_EOF,
} from "../src/constants";
import { Slot, header, inStaging, ringMask, slotAt } from "./layout";
import { ringOf } from "./pool";
import { lookup } from "./handles";
import { queueRecv, setPaused } from "./events";
import { consumeBytes, ringCopy } from "./ring";

// Framing modes (setFraming's `mode`).
export const MODE_RAW: u8 = 0;
const MODE_LINE: u8 = 1;
const MODE_DELIMITER: u8 = 2;
const MODE_LENGTH: u8 = 3;
const MODE_FIXED: u8 = 4;
/** Longest delimiter a slot stores. */
const MAX_DELIMITER: u32 = 16;
const LF: u8 = 0x0a;
const CR: u8 = 0x0d;

const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/** Index of the first `byte` in [ptr, ptr + len), or len. Eight bytes a step (a zero-byte test on word ^ pattern). */
function findByte(ptr: usize, len: u32, byte: u8): u32 {
  const pattern = ONES * <u64>byte;
  let i: u32 = 0;
  while (i + 8 <= len) {
    const w = load<u64>(ptr + <usize>i) ^ pattern;
    // The lowest set bit marks the first zero byte of w exactly (false hits only above it).
    const hit = (w - ONES) & ~w & HIGHS;
    if (hit != 0) return i + (<u32>ctz(hit) >> 3);
    i += 8;
  }
  while (i < len && load<u8>(ptr + <usize>i) != byte) i++;
  return i;
}

/** Ring position of the first `byte` in positions [from, to), or `to`. */
function ringFind(ring: usize, from: u32, to: u32, byte: u8): u32 {
  let p = from;
  while (p != to) {
    const at = p & ringMask;
    const piece = min(to - p, ringMask + 1 - at);
    const i = findByte(ring + <usize>at, piece, byte);
    if (i < piece) return p + i;
    p += piece;
  }
  return to;
}

@inline function ringByte(ring: usize, pos: u32): u8 {
  return load<u8>(ring + <usize>(pos & ringMask));
}

@inline function delimAddr(s: Slot): usize {
  return changetype<usize>(s) + offsetof<Slot>("delim0");
}

/** LINE: continues the scan for '\n' up to the tail. */
function scanLine(index: u32, s: Slot): void {
  const p = ringFind(ringOf(s), s.scan, s.tail, LF);
  s.scan = p;
  if (p != s.tail) s.found = 1;
}

/** DELIMITER: continues the scan up to the last start the buffered bytes can hold. */
function scanDelimiter(index: u32, s: Slot): void {
  const ring = ringOf(s);
  const d = delimAddr(s);
  const length = s.frameParam;
  const first = load<u8>(d);
  while (s.tail - s.scan >= length) {
    const last = s.tail - length + 1; // one past the last possible start
    const p = ringFind(ring, s.scan, last, first);
    if (p == last) {
      s.scan = last;
      return;
    }
    let k: u32 = 1;
    while (k < length && ringByte(ring, p + k) == load<u8>(d + <usize>k)) k++;
    if (k == length) {
      s.scan = p;
      s.found = 1;
      return;
    }
    s.scan = p + 1;
  }
}

/** LENGTH: the header at the head (the caller checked it is buffered). */
function lengthHeader(ring: usize, s: Slot): u32 {
  const bytes = s.frameParam;
  let n: u32 = 0;
  if (s.littleEndian != 0) {
    for (let k: u32 = bytes; k > 0; k--) n = (n << 8) | <u32>ringByte(ring, s.head + k - 1);
  } else {
    for (let k: u32 = 0; k < bytes; k++) n = (n << 8) | <u32>ringByte(ring, s.head + k);
  }
  return n;
}

/**
 * The next frame of a framed slot: its payload length (and `frameTotal`, the bytes it takes
 * from the ring), or FRAME_PENDING, END_OF_STREAM, ERR_FRAME_TOO_LARGE, ERR_FRAME_TRUNCATED.
 * Advances the incremental scan; changes nothing else.
 */
export function frameLength(index: u32, s: Slot): i32 {
  const h = header();
  const used = s.tail - s.head;
  const max = s.maxFrame;
  const mode = s.mode;
  if (mode == MODE_LINE) {
    if (s.found == 0) scanLine(index, s);
    if (s.found != 0) {
      const before = s.scan - s.head;
      const payload = before > 0 && ringByte(ringOf(s), s.scan - 1) == CR ? before - 1 : before;
      if (payload > max) return ERR_FRAME_TOO_LARGE;
      h.frameTotal = before + 1;
      return <i32>payload;
    }
    if (used > max + 1) return ERR_FRAME_TOO_LARGE;
  } else if (mode == MODE_DELIMITER) {
    if (s.found == 0) scanDelimiter(index, s);
    if (s.found != 0) {
      const payload = s.scan - s.head;
      if (payload > max) return ERR_FRAME_TOO_LARGE;
      h.frameTotal = payload + s.frameParam;
      return <i32>payload;
    }
    if (used >= max + s.frameParam) return ERR_FRAME_TOO_LARGE;
  } else if (mode == MODE_LENGTH) {
    const headerBytes = s.frameParam;
    if (used >= headerBytes) {
      const payload = lengthHeader(ringOf(s), s);
      if (payload > max) return ERR_FRAME_TOO_LARGE;
      if (used - headerBytes >= payload) {
        h.frameTotal = headerBytes + payload;
        return <i32>payload;
      }
    }
  } else if (used >= s.frameParam) { // FIXED
    h.frameTotal = s.frameParam;
    return <i32>s.frameParam;
  }
  // No complete frame.
  const ended = s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0;
  if (used == 0) return ended ? END_OF_STREAM : FRAME_PENDING;
  if (used == ringMask + 1) return ERR_FRAME_TOO_LARGE; // full and no frame: it can never complete
  if (!ended) return FRAME_PENDING;
  if (mode == MODE_LENGTH || mode == MODE_FIXED) return ERR_FRAME_TRUNCATED;
  // LINE/DELIMITER at end of stream: the rest is the last frame, nothing dropped.
  if (used > max) return ERR_FRAME_TOO_LARGE;
  h.frameTotal = used;
  return <i32>used;
}

/** Ring position where the measured frame's payload starts (after a LENGTH header). */
@inline function payloadStart(s: Slot): u32 {
  return s.mode == MODE_LENGTH ? s.head + s.frameParam : s.head;
}

/**
 * Sets how the client's bytes are cut into frames; allowed on an OPEN or CLOSED (not yet
 * released) client, at any time. mode RAW 0 | LINE 1 | DELIMITER 2 (p1 = delimiter address
 * in staging, p2 = its length 1..16) | LENGTH 3 (p1 = header bytes 1|2|4, p2 = 1 little-
 * endian / 0 big) | FIXED 4 (p1 = size). maxFrameSize 1..rxBufferSize (FIXED uses its size,
 * RAW ignores it). The scan restarts at the head; an open client gets RECV if the new mode
 * has something to report and PAUSE/RESUME if its flow rule says otherwise now. Returns OK,
 * ERR_CONFIG_FRAME (nothing changed) or ERR_RANGE (delimiter not inside the staging area).
 */
export function setFraming(handle: i32, mode: i32, p1: i32, p2: i32, maxFrameSize: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const index = <u32>i;
  const s = slotAt(index);
  const capacity = ringMask + 1;
  let param: u32 = 0;
  let max = <u32>maxFrameSize;
  if (mode == MODE_FIXED) {
    if (p1 < 1 || <u32>p1 > capacity) return ERR_CONFIG_FRAME;
    param = <u32>p1;
    max = param;
  } else if (mode != MODE_RAW) {
    if (maxFrameSize < 1 || <u32>maxFrameSize > capacity) return ERR_CONFIG_FRAME;
    if (mode == MODE_DELIMITER) {
      if (p2 < 1 || <u32>p2 > MAX_DELIMITER) return ERR_CONFIG_FRAME;
      if (!inStaging(p1, p2)) return ERR_RANGE;
      param = <u32>p2;
    } else if (mode == MODE_LENGTH) {
      if ((p1 != 1 && p1 != 2 && p1 != 4) || (p2 != 0 && p2 != 1)) return ERR_CONFIG_FRAME;
      param = <u32>p1;
    } else if (mode != MODE_LINE) {
      return ERR_CONFIG_FRAME;
    }
  } else {
    max = 0;
  }
  s.mode = <u8>mode;
  s.frameParam = param;
  s.maxFrame = max;
  s.littleEndian = mode == MODE_LENGTH && p2 == 1 ? 1 : 0;
  s.delim0 = 0;
  s.delim1 = 0;
  if (mode == MODE_DELIMITER) memory.copy(delimAddr(s), <usize>p1, <usize>param);
  s.scan = s.head;
  s.found = 0;
  if (s.state != STATE_OPEN) return OK; // DISCONNECT is queued: nothing may follow it

  const h = header();
  const used = s.tail - s.head;
  const paused = (s.flags & FLAG_PAUSED) != 0;
  // Flow first, then RECV (the reference model agrees on this order; the spec leaves it open).
  if (mode == MODE_RAW) {
    if (!paused && used >= h.highWatermark) setPaused(handle, s, true);
    else if (paused && used <= h.lowWatermark) setPaused(handle, s, false);
    if ((s.flags & FLAG_RECV_PENDING) == 0 && used > 0) queueRecv(handle, s);
  } else {
    if (!paused && used == capacity) setPaused(handle, s, true);
    else if (paused && used < capacity) setPaused(handle, s, false);
    if ((s.flags & FLAG_RECV_PENDING) == 0 && frameLength(index, s) != FRAME_PENDING) queueRecv(handle, s);
  }
  return OK;
}

/**
 * Payload length of the client's next frame (≥ 0), or FRAME_PENDING, END_OF_STREAM,
 * ERR_FRAME_TOO_LARGE, ERR_FRAME_TRUNCATED; ERR_CONFIG_FRAME in RAW mode. Consumes nothing.
 */
export function nextFrameLength(handle: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const s = slotAt(<u32>i);
  if (s.mode == MODE_RAW) return ERR_CONFIG_FRAME;
  return frameLength(<u32>i, s);
}

/**
 * Copies the next frame's payload to `dst` (inside the staging area) and consumes the frame
 * (as a read: RESUME when due). Returns the payload length, a nextFrameLength status, or
 * ERR_RANGE when `dst`/`max` is outside the staging area or the payload is longer than
 * `max` (then nothing is consumed).
 */
export function readFrame(handle: i32, dst: i32, max: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  if (!inStaging(dst, max)) return ERR_RANGE;
  const index = <u32>i;
  const s = slotAt(index);
  if (s.mode == MODE_RAW) return ERR_CONFIG_FRAME;
  const n = frameLength(index, s);
  if (n < 0) return n;
  if (n > max) return ERR_RANGE;
  ringCopy(ringOf(s), payloadStart(s), <usize>dst, <u32>n, false);
  consumeBytes(handle, s, header().frameTotal);
  return n;
}

/**
 * A view of the next frame's payload in the ring, for callers that copy it themselves: answers
 * the payload's first contiguous piece (the whole payload unless it wraps at the ring's end; the
 * rest then starts at spanPtr + piece − rxBufferSize, the ring's first byte) and sets spanPtr to
 * it; or a nextFrameLength status. Consumes nothing: `skipFrame` does, once the bytes are copied.
 */
export function frameSpan(handle: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const index = <u32>i;
  const s = slotAt(index);
  if (s.mode == MODE_RAW) return ERR_CONFIG_FRAME;
  const n = frameLength(index, s);
  if (n < 0) return n;
  const at = payloadStart(s) & ringMask;
  header().spanPtr = <u32>(ringOf(s) + <usize>at);
  return <i32>min(<u32>n, ringMask + 1 - at);
}

/** Consumes the next frame without copying it (after `frameSpan`): its payload length, or a nextFrameLength status. */
export function skipFrame(handle: i32): i32 {
  const i = lookup(handle);
  if (i < 0) return i;
  const index = <u32>i;
  const s = slotAt(index);
  if (s.mode == MODE_RAW) return ERR_CONFIG_FRAME;
  const n = frameLength(index, s);
  if (n < 0) return n;
  consumeBytes(handle, s, header().frameTotal);
  return n;
}
