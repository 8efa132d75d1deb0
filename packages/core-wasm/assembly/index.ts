// tcpserv core: the client table, receive rings, event queue and accept queue of one
// TCP server, as a deterministic state machine over integers and bytes. No sockets,
// timers or Promises live here; time arrives as an argument (`now`, milliseconds).
//
// ── Memory map ────────────────────────────────────────────────────────────────
// Everything is laid out once by `init`, from its config, and never moves or grows
// afterwards. `base` is __heap_base rounded up to ALIGN; every other offset derives
// from the constants below (see `layoutBytes`, which is the formula JS sees).
//
//   base ─────────────▶ ┌──────────────────────────────────────────────┐
//                       │ Header (sizeof<Header>, rounded to ALIGN)     │ config, counters,
//                       │                                               │ queue ends, cursors
//   tableOffset ──────▶ ├──────────────────────────────────────────────┤
//                       │ Slot[0] │ Slot[1] │ … │ Slot[maxSockets − 1]   │ 128 B each
//                       │   the accept queue and the free list are     │
//                       │   threaded through the slots (prev/next)     │
//   ringsOffset ──────▶ ├──────────────────────────────────────────────┤
//                       │ ring[0] │ ring[1] │ … │ ring[maxSockets − 1]   │ rxBufferSize each
//   eventsOffset ─────▶ ├──────────────────────────────────────────────┤
//                       │ Event[0] … Event[eventCapacity − 1]           │ 8 B each
//   stagingOffset ────▶ ├──────────────────────────────────────────────┤
//                       │ staging area (stagingSize bytes)              │ chunks in and out
//   end ──────────────▶ └──────────────────────────────────────────────┘
//
//   layoutBytes = base + header + maxSockets·(128 + rxBufferSize)
//                      + 8·eventCapacity + stagingSize,
//   eventCapacity = nextPow2(4·maxSockets); all sections ALIGN-aligned.
//
// ── Handles ───────────────────────────────────────────────────────────────────
//   handle = generation << slotBits | slot      (always > 0; slotBits = ⌈log2 maxSockets⌉)
// A slot's generation bumps each time the slot is freed, so a handle kept after its
// client was freed no longer matches and every export answers ERR_STALE in O(1).
//
// ── Rings ─────────────────────────────────────────────────────────────────────
// One per slot, capacity C = rxBufferSize (a power of two). head and tail are
// free-running u32 positions; the byte at position p lives at p & (C − 1).
//
//        head                 tail
//         ▼                    ▼
//   ┌───┬───┬───┬───┬───┬───┬───┬───┐     used = tail − head (mod 2^32)
//   │   │ a │ b │ c │ d │ e │   │   │     empty ⇔ used == 0; full ⇔ used == C
//   └───┴───┴───┴───┴───┴───┴───┴───┘     (no slot is sacrificed; u32 wrap is harmless
//                                           because C divides 2^32)
//
// ── Why the event queue cannot overflow ─────────────────────────────────────────
// Per slot at most one CONNECT, one RECV (coalesced by FLAG_RECV_PENDING), one
// PAUSE/RESUME (coalesced by FLAG_FLOW_PENDING) and one DISCONNECT are queued at a
// time, and a slot is not reused until its DISCONNECT was drained (FIFO: so were all
// its earlier events). Hence ≤ 4·maxSockets entries, and eventCapacity ≥ that. Nothing
// is queued for a slot after its DISCONNECT, so no event can outlive its slot. `enqueue`
// asserts the bound in the debug build.
//
// ── Framing ───────────────────────────────────────────────────────────────────
// Each slot has a mode (RAW, LINE, DELIMITER, LENGTH, FIXED; see FRAMING-SPEC.md). A
// frame always starts at the ring's head. LINE and DELIMITER keep an incremental scan:
//
//        head            scan                 tail
//         ▼               ▼                    ▼
//   ┌───┬───┬───┬───┬───┬───┬───┬───┬───┬───┐
//   │ G │ E │ T │ · │ k │ \r│ \n│ · │ · │   │  found = 0: no terminator starts in [head, scan)
//   └───┴───┴───┴───┴───┴───┴───┴───┴───┴───┘  found = 1: the terminator starts at scan
//
// so bytes arriving one at a time are each looked at once (a delimiter of length d is
// tried at most d times per start). Reads move the head; a scan the head passed restarts
// at the head. LENGTH decodes its 1/2/4-byte header at the head and FIXED compares the
// fill with its size, both O(1), so they keep no scan state.

import {
  OK, ERR_STALE, ERR_LIMIT, ERR_TABLE_FULL, ERR_CLOSED, ERR_RANGE, END_OF_STREAM, ERR_OPEN,
  ERR_NOT_INIT, ERR_ALREADY_INIT, ERR_CONFIG_MAX_SOCKETS, ERR_CONFIG_MAX_CLIENTS,
  ERR_CONFIG_RX_BUFFER, ERR_CONFIG_WATERMARKS, ERR_CONFIG_STAGING, ERR_CONFIG_TOO_LARGE,
  ERR_OUT_OF_MEMORY, FRAME_PENDING, ERR_FRAME_TOO_LARGE, ERR_FRAME_TRUNCATED, ERR_CONFIG_FRAME,
  EV_NONE, EV_CONNECT, EV_RECV, EV_DISCONNECT, EV_PAUSE, EV_RESUME,
  STATE_FREE, STATE_OPEN, STATE_CLOSED,
  FLAG_IN_ACCEPT_QUEUE, FLAG_RECV_PENDING, FLAG_FLOW_PENDING, FLAG_PAUSED, FLAG_EOF,
  FLAG_DISCONNECT_DRAINED, FLAG_RELEASED,
  MAX_SOCKETS, MIN_RX_BUFFER, MAX_RX_BUFFER, MIN_STAGING, MAX_STAGING, MAX_LAYOUT_BYTES,
  PAGE_BYTES,
} from "../src/constants";

/** Section alignment: a cache line, so slots and rings never share one. */
const ALIGN: u32 = 64;
/** Marks the end of an intrusive list. */
const NIL: i32 = -1;
/** Per-slot upper bound on queued events (see "Why the event queue cannot overflow"). */
const EVENTS_PER_SLOT: u32 = 4;
/** Internal queue entry kind; reported as EV_PAUSE or EV_RESUME when drained. */
const EV_FLOW: u32 = 99;
/** nextEvent packs the slot above the kind: (slot << EVENT_KIND_BITS) | kind. */
const EVENT_KIND_BITS: u32 = 3;

// Framing modes (setFraming's `mode`).
const MODE_RAW: u8 = 0;
const MODE_LINE: u8 = 1;
const MODE_DELIMITER: u8 = 2;
const MODE_LENGTH: u8 = 3;
const MODE_FIXED: u8 = 4;
/** Longest delimiter a slot stores. */
const MAX_DELIMITER: u32 = 16;
const LF: u8 = 0x0a;
const CR: u8 = 0x0d;

@unmanaged class Header {
  maxSockets: u32;
  maxClients: u32;
  rxBufferSize: u32;
  highWatermark: u32;
  lowWatermark: u32;
  stagingSize: u32;
  eventCapacity: u32;
  ringOrigin: u32;
  // live = OPEN slots; used = OPEN + CLOSED (not yet freed) slots
  live: u32;
  used: u32;
  paused: u32;
  pendingAccept: u32;
  acceptHead: i32;
  acceptTail: i32;
  freeHead: i32;
  freeTail: i32;
  eventHead: u32;
  eventTail: u32;
  sweepNext: u32;
  /** Bytes the frame last measured by `frameLength` takes from the ring (header/terminator included). */
  frameTotal: u32;
  spanPtr: u32;
  spanPad: u32;
  opened: u64;
  rejected: u64;
  closed: u64;
  bytesIn: u64;
  bytesOut: u64;
  // inspect() cursor: a copy of one slot's fields, read by the info* getters
  infoSerial: u32;
  infoState: u32;
  infoFlags: u32;
  infoRxUsed: u32;
  infoBytesIn: u64;
  infoBytesOut: u64;
  infoConnectTime: f64;
  infoLastActivity: f64;
}

@unmanaged class Slot {
  gen: u32;
  state: u32;
  flags: u32;
  serial: u32;
  head: u32;
  tail: u32;
  prev: i32; // accept queue
  next: i32; // accept queue, or free list while FREE
  bytesIn: u64;
  bytesOut: u64;
  connectTime: f64;
  lastActivity: f64;
  // ── framing (see "Framing" above) ──
  mode: u8;
  /** LENGTH: the header is little-endian. */
  littleEndian: u8;
  /** LINE/DELIMITER: a terminator starts at `scan`. */
  found: u8;
  pad: u8;
  /** LENGTH: header bytes (1, 2, 4); DELIMITER: delimiter length (1..16); FIXED: frame size. */
  frameParam: u32;
  /** Largest payload accepted (FIXED: its size). */
  maxFrame: u32;
  /** LINE/DELIMITER: ring position the scan continues from (head ≤ scan ≤ tail). */
  scan: u32;
  /** DELIMITER: the delimiter bytes (frameParam of them). */
  delim0: u64;
  delim1: u64;
}

/** Stride of the client table: a Slot rounded up to whole cache lines, so no two slots share one. */
const SLOT_BYTES: usize = <usize>((offsetof<Slot>() + <usize>ALIGN - 1) & ~(<usize>ALIGN - 1));

@unmanaged class Event {
  handle: i32;
  kind: u32;
}

// Section offsets and handle geometry, set once by init (zero = not initialised).
let base: usize = 0;
let tableOffset: usize = 0;
let ringsOffset: usize = 0;
let eventsOffset: usize = 0;
let stagingOffset: usize = 0;
let layoutEnd: usize = 0;
let slotBits: u32 = 0;
let slotMask: u32 = 0;
let genMask: u32 = 0;
let ringMask: u32 = 0;
let ready: bool = false;

@inline function alignUp(n: u64): u64 {
  return (n + <u64>(ALIGN - 1)) & ~<u64>(ALIGN - 1);
}

@inline function header(): Header {
  return changetype<Header>(base);
}

@inline function slotAt(index: u32): Slot {
  return changetype<Slot>(tableOffset + <usize>index * SLOT_BYTES);
}

@inline function ringAt(index: u32): usize {
  return ringsOffset + <usize>index * <usize>(ringMask + 1);
}

function nextPow2(n: u32): u32 {
  let p: u32 = 1;
  while (p < n) p <<= 1;
  return p;
}

function bitsFor(n: u32): u32 {
  let bits: u32 = 1;
  while ((<u32>1 << bits) < n) bits++;
  return bits;
}

function heapBase(): u64 {
  return alignUp(<u64>__heap_base);
}

/** Bytes of linear memory (from address 0) the config needs, or a config status. */
function computeLayout(maxSockets: i32, rxBufferSize: i32, stagingSize: i32): i64 {
  if (maxSockets < 1 || maxSockets > MAX_SOCKETS) return ERR_CONFIG_MAX_SOCKETS;
  if (rxBufferSize < MIN_RX_BUFFER || rxBufferSize > MAX_RX_BUFFER || (rxBufferSize & (rxBufferSize - 1)) != 0) {
    return ERR_CONFIG_RX_BUFFER;
  }
  if (stagingSize < MIN_STAGING || stagingSize > MAX_STAGING || (stagingSize & 15) != 0) return ERR_CONFIG_STAGING;
  const sockets = <u64>maxSockets;
  let bytes = heapBase();
  bytes += alignUp(<u64>offsetof<Header>());
  bytes += sockets * <u64>SLOT_BYTES;
  bytes += sockets * <u64>rxBufferSize; // already ALIGN-aligned: rxBufferSize ≥ 64 is a power of two
  bytes += alignUp(<u64>nextPow2(EVENTS_PER_SLOT * <u32>maxSockets) * <u64>offsetof<Event>());
  bytes += <u64>stagingSize;
  if (bytes > <u64>MAX_LAYOUT_BYTES) return ERR_CONFIG_TOO_LARGE;
  return <i64>bytes;
}

// ── Configuration ───────────────────────────────────────────────────────────────

/**
 * Bytes of linear memory the config needs (counted from address 0, so it includes the
 * module's static data), or ERR_CONFIG_*. JS may call this before `init`.
 */
export function layoutBytes(maxSockets: i32, rxBufferSize: i32, stagingSize: i32): i32 {
  return <i32>computeLayout(maxSockets, rxBufferSize, stagingSize);
}

/**
 * Lays out memory for the config, growing it once if it is too small. `ringOrigin` is
 * the position every ring starts from (0 in production; tests start near 2^32 to
 * exercise wrap-around). Returns OK or a status; a failed init changes nothing.
 */
export function init(
  maxSockets: i32, maxClients: i32, rxBufferSize: i32,
  highWatermark: i32, lowWatermark: i32, stagingSize: i32, ringOrigin: i32,
): i32 {
  if (ready) return ERR_ALREADY_INIT;
  const bytes = computeLayout(maxSockets, rxBufferSize, stagingSize);
  if (bytes < 0) return <i32>bytes;
  if (maxClients < 1 || maxClients > maxSockets) return ERR_CONFIG_MAX_CLIENTS;
  if (lowWatermark < 0 || highWatermark <= lowWatermark || highWatermark > rxBufferSize) return ERR_CONFIG_WATERMARKS;

  const havePages = <i64>memory.size();
  const needPages = (bytes + PAGE_BYTES - 1) / PAGE_BYTES;
  if (needPages > havePages && memory.grow(<i32>(needPages - havePages)) < 0) return ERR_OUT_OF_MEMORY;

  const sockets = <u32>maxSockets;
  base = <usize>heapBase();
  tableOffset = base + <usize>alignUp(<u64>offsetof<Header>());
  ringsOffset = tableOffset + <usize>sockets * SLOT_BYTES;
  eventsOffset = ringsOffset + <usize>sockets * <usize>rxBufferSize;
  const eventCapacity = nextPow2(EVENTS_PER_SLOT * sockets);
  stagingOffset = eventsOffset + <usize>alignUp(<u64>eventCapacity * <u64>offsetof<Event>());
  layoutEnd = stagingOffset + <usize>stagingSize;
  slotBits = bitsFor(sockets);
  slotMask = (<u32>1 << slotBits) - 1;
  genMask = (<u32>1 << (31 - slotBits)) - 1;
  ringMask = <u32>rxBufferSize - 1;

  memory.fill(base, 0, tableOffset - base);
  const h = header();
  h.maxSockets = sockets;
  h.maxClients = <u32>maxClients;
  h.rxBufferSize = <u32>rxBufferSize;
  h.highWatermark = <u32>highWatermark;
  h.lowWatermark = <u32>lowWatermark;
  h.stagingSize = <u32>stagingSize;
  h.eventCapacity = eventCapacity;
  h.ringOrigin = <u32>ringOrigin;
  h.acceptHead = NIL;
  h.acceptTail = NIL;
  // Free list in slot order, reused FIFO so a slot rests as long as possible before
  // its next generation is handed out.
  for (let i: u32 = 0; i < sockets; i++) {
    const s = slotAt(i);
    memory.fill(changetype<usize>(s), 0, SLOT_BYTES);
    s.gen = 1;
    s.prev = NIL;
    s.next = i + 1 < sockets ? <i32>(i + 1) : NIL;
  }
  h.freeHead = 0;
  h.freeTail = <i32>(sockets - 1);
  ready = true;
  return OK;
}

/** Changes the admission limit (1..maxSockets). Clients already open stay open. */
export function setMaxClients(maxClients: i32): i32 {
  if (!ready) return ERR_NOT_INIT;
  const h = header();
  if (maxClients < 1 || <u32>maxClients > h.maxSockets) return ERR_CONFIG_MAX_CLIENTS;
  h.maxClients = <u32>maxClients;
  return OK;
}

/** Address of the staging area: JS copies incoming chunks here and reads copies out. */
export function stagingPtr(): i32 {
  return ready ? <i32>stagingOffset : ERR_NOT_INIT;
}

/** Size of the staging area in bytes. */
export function stagingSize(): i32 {
  return ready ? <i32>header().stagingSize : ERR_NOT_INIT;
}

// ── Handles ────────────────────────────────────────────────────────────────────

@inline function handleOf(index: u32, s: Slot): i32 {
  return <i32>((s.gen << slotBits) | index);
}

/** Slot index for a live (OPEN or CLOSED) handle, or -1. One mask, one compare, one load. */
function slotIndex(handle: i32): i32 {
  if (!ready || handle <= 0) return -1;
  const index = <u32>handle & slotMask;
  if (index >= header().maxSockets) return -1;
  const s = slotAt(index);
  if (s.state == STATE_FREE || s.gen != (<u32>handle >>> slotBits)) return -1;
  return <i32>index;
}

// ── Event queue ────────────────────────────────────────────────────────────────

function enqueue(handle: i32, kind: u32): void {
  const h = header();
  // Cannot be full (see the bound at the top of the file). The index is masked, so even a
  // broken bound could only overwrite an entry, never write outside the queue.
  assert(h.eventTail - h.eventHead < h.eventCapacity, "event queue full");
  const e = changetype<Event>(eventsOffset + <usize>(h.eventTail & (h.eventCapacity - 1)) * offsetof<Event>());
  e.handle = handle;
  e.kind = kind;
  h.eventTail++;
}

function freeSlot(index: u32): void {
  const h = header();
  const s = slotAt(index);
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

/**
 * Takes the oldest queued event: returns (slot << 3) | kind, EV_NONE (0) when the queue is
 * empty — one call per event, the slot names the client (JS maps slots to handles). Draining
 * DISCONNECT frees a released slot.
 */
export function nextEvent(): i32 {
  if (!ready) return ERR_NOT_INIT;
  const h = header();
  while (h.eventHead != h.eventTail) {
    const e = changetype<Event>(eventsOffset + <usize>(h.eventHead & (h.eventCapacity - 1)) * offsetof<Event>());
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

// ── Accept queue (intrusive doubly linked list through the slots) ──────────────────

function acceptQueueRemove(index: u32): void {
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

// ── Client table ───────────────────────────────────────────────────────────────

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
  if (h.freeHead == NIL) {
    h.rejected++;
    return ERR_TABLE_FULL;
  }
  const index = <u32>h.freeHead;
  const s = slotAt(index);
  h.freeHead = s.next;
  if (h.freeHead == NIL) h.freeTail = NIL;

  h.opened++;
  h.live++;
  h.used++;
  s.state = STATE_OPEN;
  s.flags = FLAG_IN_ACCEPT_QUEUE;
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
  s.next = NIL;
  s.prev = h.acceptTail;
  if (h.acceptTail == NIL) h.acceptHead = <i32>index;
  else slotAt(<u32>h.acceptTail).next = <i32>index;
  h.acceptTail = <i32>index;
  h.pendingAccept++;

  const handle = handleOf(index, s);
  enqueue(handle, EV_CONNECT);
  return handle;
}

/**
 * Closes an open client: it leaves the accept queue, stops taking bytes and gets its
 * DISCONNECT. Bytes already in its ring stay readable until the slot is released.
 */
export function close(handle: i32): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  const index = <u32>i;
  const h = header();
  const s = slotAt(index);
  if (s.state != STATE_OPEN) return ERR_CLOSED;
  if ((s.flags & FLAG_IN_ACCEPT_QUEUE) != 0) acceptQueueRemove(index);
  if ((s.flags & FLAG_PAUSED) != 0) {
    s.flags &= ~FLAG_PAUSED;
    assert(h.paused > 0, "paused count negative");
    h.paused--;
  }
  s.state = STATE_CLOSED;
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
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  const s = slotAt(<u32>i);
  if (s.state == STATE_OPEN) return ERR_OPEN;
  s.flags |= FLAG_RELEASED;
  if ((s.flags & FLAG_DISCONNECT_DRAINED) != 0) freeSlot(<u32>i);
  return OK;
}

/** The peer ended its side: reads drain the ring, then answer END_OF_STREAM. Queues RECV. */
export function eof(handle: i32): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  const s = slotAt(<u32>i);
  if (s.state != STATE_OPEN) return ERR_CLOSED;
  if ((s.flags & FLAG_EOF) != 0) return OK;
  s.flags |= FLAG_EOF;
  if ((s.flags & FLAG_RECV_PENDING) == 0) {
    s.flags |= FLAG_RECV_PENDING;
    enqueue(handle, EV_RECV);
  }
  return OK;
}

/** Counts bytes the binding handed to the socket for this client. */
export function recordSent(handle: i32, bytes: i32, now: f64): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  if (bytes < 0) return ERR_RANGE;
  const s = slotAt(<u32>i);
  if (s.state != STATE_OPEN) return ERR_CLOSED;
  s.bytesOut += <u64>bytes;
  header().bytesOut += <u64>bytes;
  s.lastActivity = now;
  return OK;
}

// ── Receive rings ──────────────────────────────────────────────────────────────

/** True when [ptr, ptr + len) lies inside the staging area (len ≥ 0). */
@inline function inStaging(ptr: i32, len: i32): bool {
  return ptr >= 0 && len >= 0
    && <u64>ptr >= <u64>stagingOffset
    && <u64>ptr + <u64>len <= <u64>layoutEnd;
}

/**
 * The one wrap-around copy: `n` bytes between ring position `pos` (and on) and the flat
 * buffer at `flat`, into the ring or out of it. At most two pieces: up to the ring's end,
 * then from its start.
 */
@inline function ringCopy(ring: usize, pos: u32, flat: usize, n: u32, intoRing: bool): void {
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
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  if (!inStaging(ptr, len)) return ERR_RANGE;
  const index = <u32>i;
  const s = slotAt(index);
  if (s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0) return ERR_CLOSED;
  const capacity = ringMask + 1;
  const n = min(<u32>len, capacity - (s.tail - s.head));
  if (n == 0) return 0;
  ringCopy(ringAt(index), s.tail, <usize>ptr, n, true);
  commitBytes(handle, index, s, n, now);
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

@inline function queueRecv(handle: i32, s: Slot): void {
  s.flags |= FLAG_RECV_PENDING;
  enqueue(handle, EV_RECV);
}

/** Pauses or resumes the client; one PAUSE/RESUME entry stays queued at most (drained as the state then). */
function setPaused(handle: i32, s: Slot, paused: bool): void {
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
 * there, then calls `commit`. Nothing changes until `commit`.
 */
export function writeSpan(handle: i32): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  const s = slotAt(<u32>i);
  if (s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0) return ERR_CLOSED;
  header().spanPtr = <u32>(ringAt(<u32>i) + <usize>(s.tail & ringMask));
  return <i32>freeSpan(s);
}

/**
 * Where the kernel's next read for this client should land, in one call: answers its length
 * (0 when the ring is full) and sets `spanPtr` to it. That is the free span at the ring's tail
 * when it is at least `minWindow` bytes or all the room there is; else (a short span at the
 * wrap point) the staging area, sized to all the room (at most stagingSize) — `push` takes it
 * from there. Nothing changes until `commit` or `push`.
 */
export function receiveWindow(handle: i32, minWindow: i32): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  const s = slotAt(<u32>i);
  if (s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0) return ERR_CLOSED;
  const h = header();
  const span = freeSpan(s);
  const room = ringMask + 1 - (s.tail - s.head);
  if (span == room || (minWindow >= 0 && span >= <u32>minWindow)) {
    h.spanPtr = <u32>(ringAt(<u32>i) + <usize>(s.tail & ringMask));
    return <i32>span;
  }
  h.spanPtr = <u32>stagingOffset;
  return <i32>min(room, h.stagingSize);
}

/**
 * Takes `len` bytes JS wrote at the address `writeSpan` gave, as `push` takes copied ones
 * (RECV, PAUSE, counters). `len` must not exceed what `writeSpan` answers now. Returns `len`.
 */
export function commit(handle: i32, len: i32, now: f64): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  const s = slotAt(<u32>i);
  if (s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0) return ERR_CLOSED;
  if (len < 0 || <u32>len > freeSpan(s)) return ERR_RANGE;
  if (len > 0) commitBytes(handle, <u32>i, s, <u32>len, now);
  return len;
}

/**
 * The one-copy way out: answers how many bytes can be read straight from the ring at its head
 * without wrapping (≥ 1), 0 if none yet, or END_OF_STREAM, and sets `spanPtr` to where. JS
 * copies from there, then calls `consume`. Nothing changes until `consume`.
 */
export function readSpan(handle: i32): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  const s = slotAt(<u32>i);
  if (s.tail == s.head) return s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0 ? END_OF_STREAM : 0;
  header().spanPtr = <u32>(ringAt(<u32>i) + <usize>(s.head & ringMask));
  return <i32>usedSpan(s);
}

/** Drops `len` (1 … what `readSpan` answers now) bytes JS copied out, as `read` does. Returns `len`. */
export function consume(handle: i32, len: i32): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  const s = slotAt(<u32>i);
  if (len < 1 || <u32>len > usedSpan(s)) return ERR_RANGE;
  consumeBytes(handle, s, <u32>len);
  return len;
}

/** Address answered by the last `writeSpan`/`readSpan`/`receiveWindow`/`frameSpan` (0 before any). */
export function spanPtr(): i32 { return ready ? <i32>header().spanPtr : ERR_NOT_INIT; }

/**
 * Copies up to `max` (≥ 1) bytes from the client's ring to `dst` (inside the staging
 * area), oldest first. Returns the count, 0 if nothing is buffered yet, or END_OF_STREAM
 * once the ring is empty and the peer ended or the client closed. Queues RESUME when a
 * paused ring drains to the low watermark (framed: when it frees any room).
 */
export function read(handle: i32, dst: i32, max: i32): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  if (max < 1 || !inStaging(dst, max)) return ERR_RANGE;
  const index = <u32>i;
  const s = slotAt(index);
  const used = s.tail - s.head;
  if (used == 0) {
    return s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0 ? END_OF_STREAM : 0;
  }
  const n = min(<u32>max, used);
  ringCopy(ringAt(index), s.head, <usize>dst, n, false);
  consumeBytes(handle, s, n);
  return <i32>n;
}

/** Drops `n` bytes from the head of a ring: the frame scan follows; RESUME when due. */
function consumeBytes(handle: i32, s: Slot, n: u32): void {
  const used = s.tail - s.head;
  assert(n <= used, "consumed more than buffered");
  const scanned = s.scan - s.head;
  s.head += n;
  if (s.mode == MODE_RAW) {
    if ((s.flags & FLAG_PAUSED) != 0 && used - n <= header().lowWatermark) setPaused(handle, s, false);
  } else {
    // The head passed the scan (or the terminator it found): restart at the head.
    if (scanned < n) {
      s.scan = s.head;
      s.found = 0;
    }
    if ((s.flags & FLAG_PAUSED) != 0) setPaused(handle, s, false);
  }
}

// ── Framing ────────────────────────────────────────────────────────────────────

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
  const p = ringFind(ringAt(index), s.scan, s.tail, LF);
  s.scan = p;
  if (p != s.tail) s.found = 1;
}

/** DELIMITER: continues the scan up to the last start the buffered bytes can hold. */
function scanDelimiter(index: u32, s: Slot): void {
  const ring = ringAt(index);
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
function frameLength(index: u32, s: Slot): i32 {
  const h = header();
  const used = s.tail - s.head;
  const max = s.maxFrame;
  const mode = s.mode;
  if (mode == MODE_LINE) {
    if (s.found == 0) scanLine(index, s);
    if (s.found != 0) {
      const before = s.scan - s.head;
      const payload = before > 0 && ringByte(ringAt(index), s.scan - 1) == CR ? before - 1 : before;
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
      const payload = lengthHeader(ringAt(index), s);
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
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
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
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
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
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  if (!inStaging(dst, max)) return ERR_RANGE;
  const index = <u32>i;
  const s = slotAt(index);
  if (s.mode == MODE_RAW) return ERR_CONFIG_FRAME;
  const n = frameLength(index, s);
  if (n < 0) return n;
  if (n > max) return ERR_RANGE;
  ringCopy(ringAt(index), payloadStart(s), <usize>dst, <u32>n, false);
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
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  const index = <u32>i;
  const s = slotAt(index);
  if (s.mode == MODE_RAW) return ERR_CONFIG_FRAME;
  const n = frameLength(index, s);
  if (n < 0) return n;
  const at = payloadStart(s) & ringMask;
  header().spanPtr = <u32>(ringAt(index) + <usize>at);
  return <i32>min(<u32>n, ringMask + 1 - at);
}

/** Consumes the next frame without copying it (after `frameSpan`): its payload length, or a nextFrameLength status. */
export function skipFrame(handle: i32): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  const index = <u32>i;
  const s = slotAt(index);
  if (s.mode == MODE_RAW) return ERR_CONFIG_FRAME;
  const n = frameLength(index, s);
  if (n < 0) return n;
  consumeBytes(handle, s, header().frameTotal);
  return n;
}

// ── Inspection ─────────────────────────────────────────────────────────────────

/** Copies one client's fields into the info cursor; OK or a status. */
export function inspect(handle: i32): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
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
