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
//                       │ Slot[0] │ Slot[1] │ … │ Slot[maxSockets − 1]   │ 64 B each
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
//   layoutBytes = base + header + maxSockets·(64 + rxBufferSize)
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
// its earlier events). Hence ≤ 4·maxSockets entries, and eventCapacity ≥ that.

import {
  OK, ERR_STALE, ERR_LIMIT, ERR_TABLE_FULL, ERR_CLOSED, ERR_RANGE, END_OF_STREAM, ERR_OPEN,
  ERR_NOT_INIT, ERR_ALREADY_INIT, ERR_CONFIG_MAX_SOCKETS, ERR_CONFIG_MAX_CLIENTS,
  ERR_CONFIG_RX_BUFFER, ERR_CONFIG_WATERMARKS, ERR_CONFIG_STAGING, ERR_CONFIG_TOO_LARGE,
  ERR_OUT_OF_MEMORY,
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
  eventHandle: i32;
  sweepNext: u32;
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
}

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
  return changetype<Slot>(tableOffset + <usize>index * offsetof<Slot>());
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
  bytes += alignUp(sockets * <u64>offsetof<Slot>());
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
  ringsOffset = tableOffset + <usize>alignUp(<u64>sockets * <u64>offsetof<Slot>());
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
    memory.fill(changetype<usize>(s), 0, offsetof<Slot>());
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
  // Cannot be full (see the bound at the top of the file); the guard keeps a bug from
  // ever writing outside the queue.
  if (h.eventTail - h.eventHead >= h.eventCapacity) return;
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
  h.used--;
}

/**
 * Takes the oldest queued event: returns its kind (EV_NONE when the queue is empty) and
 * sets the cursor read by `eventHandle`. Draining DISCONNECT frees a released slot.
 */
export function nextEvent(): i32 {
  if (!ready) return ERR_NOT_INIT;
  const h = header();
  while (h.eventHead != h.eventTail) {
    const e = changetype<Event>(eventsOffset + <usize>(h.eventHead & (h.eventCapacity - 1)) * offsetof<Event>());
    h.eventHead++;
    const index = <u32>e.handle & slotMask;
    const s = slotAt(index);
    h.eventHandle = e.handle;
    if (e.kind == EV_RECV) {
      s.flags &= ~FLAG_RECV_PENDING;
      return EV_RECV;
    }
    if (e.kind == EV_FLOW) {
      s.flags &= ~FLAG_FLOW_PENDING;
      // Closed clients have no socket to pause or resume.
      if (s.state != STATE_OPEN) continue;
      return (s.flags & FLAG_PAUSED) != 0 ? EV_PAUSE : EV_RESUME;
    }
    if (e.kind == EV_DISCONNECT) {
      s.flags |= FLAG_DISCONNECT_DRAINED;
      if ((s.flags & FLAG_RELEASED) != 0) freeSlot(index);
      return EV_DISCONNECT;
    }
    return <i32>e.kind; // EV_CONNECT
  }
  h.eventHandle = 0;
  return EV_NONE;
}

/** Handle of the event last returned by `nextEvent` (0 when none). */
export function eventHandle(): i32 {
  return ready ? header().eventHandle : ERR_NOT_INIT;
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
    h.paused--;
  }
  s.state = STATE_CLOSED;
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
 * Copies up to `len` bytes at `ptr` (inside the staging area) into the client's ring.
 * Returns how many fit (0..len). Queues RECV when bytes arrive and PAUSE when the ring
 * reaches the high watermark.
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

  const ring = ringAt(index);
  const at = s.tail & ringMask;
  const first = min(n, capacity - at);
  memory.copy(ring + <usize>at, <usize>ptr, <usize>first);
  if (n > first) memory.copy(ring, <usize>ptr + <usize>first, <usize>(n - first));
  commitBytes(handle, s, n, now);
  return <i32>n;
}

/** Appends `n` bytes already in the ring at its tail: counters, RECV, PAUSE. */
function commitBytes(handle: i32, s: Slot, n: u32, now: f64): void {
  const h = header();
  const used = s.tail - s.head;
  s.tail += n;
  s.bytesIn += <u64>n;
  h.bytesIn += <u64>n;
  s.lastActivity = now;

  if ((s.flags & FLAG_RECV_PENDING) == 0) {
    s.flags |= FLAG_RECV_PENDING;
    enqueue(handle, EV_RECV);
  }
  if ((s.flags & FLAG_PAUSED) == 0 && used + n >= h.highWatermark) {
    s.flags |= FLAG_PAUSED;
    h.paused++;
    if ((s.flags & FLAG_FLOW_PENDING) == 0) {
      s.flags |= FLAG_FLOW_PENDING;
      enqueue(handle, EV_FLOW);
    }
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
 * Takes `len` bytes JS wrote at the address `writeSpan` gave, as `push` takes copied ones
 * (RECV, PAUSE, counters). `len` must not exceed what `writeSpan` answers now. Returns `len`.
 */
export function commit(handle: i32, len: i32, now: f64): i32 {
  const i = slotIndex(handle);
  if (i < 0) return ready ? ERR_STALE : ERR_NOT_INIT;
  const s = slotAt(<u32>i);
  if (s.state != STATE_OPEN || (s.flags & FLAG_EOF) != 0) return ERR_CLOSED;
  if (len < 0 || <u32>len > freeSpan(s)) return ERR_RANGE;
  if (len > 0) commitBytes(handle, s, <u32>len, now);
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

/** Address answered by the last `writeSpan`/`readSpan` (0 before any). */
export function spanPtr(): i32 { return ready ? <i32>header().spanPtr : ERR_NOT_INIT; }

/**
 * Copies up to `max` (≥ 1) bytes from the client's ring to `dst` (inside the staging
 * area), oldest first. Returns the count, 0 if nothing is buffered yet, or END_OF_STREAM
 * once the ring is empty and the peer ended or the client closed. Queues RESUME when a
 * paused ring drains to the low watermark.
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
  const capacity = ringMask + 1;
  const ring = ringAt(index);
  const at = s.head & ringMask;
  const first = min(n, capacity - at);
  memory.copy(<usize>dst, ring + <usize>at, <usize>first);
  if (n > first) memory.copy(<usize>dst + <usize>first, ring, <usize>(n - first));
  consumeBytes(handle, s, n);
  return <i32>n;
}

/** Drops `n` bytes from the head of a ring: RESUME when a paused ring reaches the low watermark. */
function consumeBytes(handle: i32, s: Slot, n: u32): void {
  const h = header();
  const used = s.tail - s.head;
  s.head += n;
  if ((s.flags & FLAG_PAUSED) != 0 && used - n <= h.lowWatermark) {
    s.flags &= ~FLAG_PAUSED;
    h.paused--;
    if ((s.flags & FLAG_FLOW_PENDING) == 0) {
      s.flags |= FLAG_FLOW_PENDING;
      enqueue(handle, EV_FLOW);
    }
  }
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
