// Memory layout: the header and slot records, the section offsets `init` fixes once, and
// `layoutBytes`, the formula JS sees.
//
// ── Memory map ────────────────────────────────────────────────────────────────
// Everything is laid out once by `init`, from its config, and never moves or grows
// afterwards. `base` is __heap_base rounded up to ALIGN; every other offset derives
// from the constants below (see `layoutBytes`).
//
//   base ─────────────▶ ┌──────────────────────────────────────────────┐
//                       │ Header (sizeof<Header>, rounded to ALIGN)     │ config, counters,
//                       │                                               │ queue ends, cursors
//   tableOffset ──────▶ ├──────────────────────────────────────────────┤
//                       │ Slot[0] │ Slot[1] │ … │ Slot[maxSockets − 1]   │ 128 B each
//                       │   the accept queue and the free list are     │
//                       │   threaded through the slots (prev/next)     │
//   ringsOffset ──────▶ ├──────────────────────────────────────────────┤
//                       │ ring[0] │ ring[1] │ … │ ring[maxSockets − 1]   │ rxBufferSize each:
//                       │   a pool, not one per slot (see below)       │ reserved, resident
//                       │                                               │ only once written
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
// ── The ring pool (pool.ts) ──────────────────────────────────────────────────
// Ring buffers are lent to slots, not owned by them: a slot holds one (Slot.ring) only
// while its ring has bytes or a window is out on it. Free buffers form a LIFO list threaded
// through the slot records (Slot.ringNext of slot k is buffer k's link), so the warmest
// buffer is lent first and idle clients touch no ring page:
//
//   Slot[0] ring = 2 ─────────────────────────────┐
//   Slot[1] ring = NIL (empty, idle)              │
//   Slot[2] ring = 0 ───────────┐                 │
//   Slot[3] ring = NIL          │                 │
//                               ▼                 ▼
//   buffers:              ┌─────────┬─────────┬─────────┬─────────┐
//                         │ ring[0] │ ring[1] │ ring[2] │ ring[3] │
//                         │  lent   │  free   │  lent   │  free   │
//                         └─────────┴─────────┴─────────┴─────────┘
//   header.ringFree = 1 → slotAt(1).ringNext = 3 → slotAt(3).ringNext = NIL
//   ringsInUse = 2, ringsFree = 2   (always ringsInUse + ringsFree = maxSockets)
//
// A buffer given back restarts at ringOrigin, so a mostly idle client's bytes stay in its
// borrowed buffer's first page; the resident ring memory is about the peak number of rings
// holding bytes at once, times the bytes they held — not maxSockets × rxBufferSize.

import {
  ERR_NOT_INIT, ERR_CONFIG_MAX_SOCKETS, ERR_CONFIG_RX_BUFFER, ERR_CONFIG_STAGING, ERR_CONFIG_TOO_LARGE,
  MAX_SOCKETS, MIN_RX_BUFFER, MAX_RX_BUFFER, MIN_STAGING, MAX_STAGING, MAX_LAYOUT_BYTES,
} from "../src/constants";

/** Section alignment: a cache line, so slots and rings never share one. */
export const ALIGN: u32 = 64;
/** Marks the end of an intrusive list. */
export const NIL: i32 = -1;
/** Per-slot upper bound on queued events (see events.ts, "Why the event queue cannot overflow"). */
export const EVENTS_PER_SLOT: u32 = 4;

/** The one header: config, server counters, queue ends and the cursors getter exports read. */
@unmanaged export class Header {
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
  /** Ring pool (pool.ts): top of the LIFO free list of buffers (NIL when all are lent), and its counts. */
  ringFree: i32;
  ringsFree: u32;
  ringsInUse: u32;
  ringPad: u32;
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

/**
 * One client-table entry, SLOT_BYTES (128) apart:
 *
 *     0 ┌──────────────────────────────────────────────┐
 *       │ gen state flags serial  head tail  prev next  │ lifecycle, ring positions, lists
 *    32 ├──────────────────────────────────────────────┤
 *       │ bytesIn bytesOut connectTime lastActivity     │ counters and times
 *    64 ├──────────────────────────────────────────────┤
 *       │ mode littleEndian found window                │ framing (framing.ts), window pin
 *       │ frameParam maxFrame scan                      │
 *    80 ├──────────────────────────────────────────────┤
 *       │ delimiter (16 bytes)                          │
 *    96 ├──────────────────────────────────────────────┤
 *       │ ring ringNext                                 │ ring pool (pool.ts)
 *   104 ├──────────────────────────────────────────────┤
 *       │ unused: the stride is whole cache lines       │
 *   128 └──────────────────────────────────────────────┘
 */
@unmanaged export class Slot {
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
  mode: u8;
  /** LENGTH: the header is little-endian. */
  littleEndian: u8;
  /** LINE/DELIMITER: a terminator starts at `scan`. */
  found: u8;
  /** A window (writeSpan/receiveWindow) is out on this slot's buffer: it stays lent (pool.ts). */
  window: u8;
  /** LENGTH: header bytes (1, 2, 4); DELIMITER: delimiter length (1..16); FIXED: frame size. */
  frameParam: u32;
  /** Largest payload accepted (FIXED: its size). */
  maxFrame: u32;
  /** LINE/DELIMITER: ring position the scan continues from (head ≤ scan ≤ tail). */
  scan: u32;
  /** DELIMITER: the delimiter bytes (frameParam of them). */
  delim0: u64;
  delim1: u64;
  /** The ring buffer this slot holds (0..maxSockets − 1), or NIL while its ring is empty. */
  ring: i32;
  /** Ring pool free list: the buffer after buffer <this slot's index> (not this slot's own). */
  ringNext: i32;
}

/** Stride of the client table: a Slot rounded up to whole cache lines, so no two slots share one. */
export const SLOT_BYTES: usize = <usize>((offsetof<Slot>() + <usize>ALIGN - 1) & ~(<usize>ALIGN - 1));

/** One event queue entry. */
@unmanaged export class Event {
  handle: i32;
  kind: u32;
}

// Section offsets and handle geometry, set once by init (zero = not initialised).
export let base: usize = 0;
export let tableOffset: usize = 0;
export let ringsOffset: usize = 0;
export let eventsOffset: usize = 0;
export let stagingOffset: usize = 0;
export let layoutEnd: usize = 0;
export let slotBits: u32 = 0;
export let slotMask: u32 = 0;
export let genMask: u32 = 0;
export let ringMask: u32 = 0;
export let ready: bool = false;

@inline function alignUp(n: u64): u64 {
  return (n + <u64>(ALIGN - 1)) & ~<u64>(ALIGN - 1);
}

@inline export function header(): Header {
  return changetype<Header>(base);
}

@inline export function slotAt(index: u32): Slot {
  return changetype<Slot>(tableOffset + <usize>index * SLOT_BYTES);
}

@inline export function ringAt(index: u32): usize {
  return ringsOffset + <usize>index * <usize>(ringMask + 1);
}

/** True when [ptr, ptr + len) lies inside the staging area (len ≥ 0). */
@inline export function inStaging(ptr: i32, len: i32): bool {
  return ptr >= 0 && len >= 0
    && <u64>ptr >= <u64>stagingOffset
    && <u64>ptr + <u64>len <= <u64>layoutEnd;
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
export function computeLayout(maxSockets: i32, rxBufferSize: i32, stagingSize: i32): i64 {
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

/**
 * Fixes the section offsets for a config `computeLayout` accepted (memory already big
 * enough) and zeroes the header; returns the event queue's capacity.
 */
export function setLayout(sockets: u32, rxBufferSize: u32, stagingSize: u32): u32 {
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
  ringMask = rxBufferSize - 1;
  memory.fill(base, 0, tableOffset - base);
  return eventCapacity;
}

/** The layout is complete: every export may run. */
export function setReady(): void {
  ready = true;
}

/**
 * Bytes of linear memory the config needs (counted from address 0, so it includes the
 * module's static data), or ERR_CONFIG_*. JS may call this before `init`.
 */
export function layoutBytes(maxSockets: i32, rxBufferSize: i32, stagingSize: i32): i32 {
  return <i32>computeLayout(maxSockets, rxBufferSize, stagingSize);
}

/** Address of the staging area: JS copies incoming chunks here and reads copies out. */
export function stagingPtr(): i32 {
  return ready ? <i32>stagingOffset : ERR_NOT_INIT;
}

/** Size of the staging area in bytes. */
export function stagingSize(): i32 {
  return ready ? <i32>header().stagingSize : ERR_NOT_INIT;
}
