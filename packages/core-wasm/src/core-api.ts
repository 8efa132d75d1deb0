/**
 * The operations of a core, as both the WebAssembly core and the TypeScript reference model
 * implement them; the binding depends on this interface only. Results follow the raw
 * exports: a count or handle ≥ 0, or a negative status (see constants.ts, statusName).
 */
import type { ResolvedCoreConfig } from './config.js';
import type { Handle } from './handle.js';

/** A snapshot of one client's fields in the core. */
export interface ClientInfo {
  /** 1, 2, 3 … in order of admission. */
  serial: number;
  /** STATE_OPEN or STATE_CLOSED. */
  state: number;
  /** FLAG_* bits. */
  flags: number;
  /** Bytes waiting in the receive ring. */
  rxUsed: number;
  bytesIn: number;
  bytesOut: number;
  connectTime: number;
  lastActivity: number;
}

/** Server-wide counters. */
export interface CoreStats {
  live: number;
  usedSlots: number;
  pendingAccept: number;
  paused: number;
  queuedEvents: number;
  maxClients: number;
  opened: number;
  rejected: number;
  closed: number;
  bytesIn: number;
  bytesOut: number;
}

/** How a client's bytes are cut into frames (see the framing section of README.md). */
export type CoreFraming =
  | { readonly mode: 'raw' }
  | { readonly mode: 'line'; readonly maxFrameSize: number }
  | { readonly mode: 'delimiter'; readonly delimiter: Uint8Array; readonly maxFrameSize: number }
  | { readonly mode: 'length'; readonly headerBytes: 1 | 2 | 4; readonly littleEndian: boolean; readonly maxFrameSize: number }
  | { readonly mode: 'fixed'; readonly size: number };

export interface CoreApi {
  readonly config: ResolvedCoreConfig;
  /** Admits a client: its handle (> 0), or ERR_LIMIT / ERR_TABLE_FULL. Queues CONNECT. */
  open(now: number): number;
  /** Closes an open client: it leaves the accept queue and gets its DISCONNECT. */
  close(handle: Handle): number;
  /** Gives a closed client's slot back (once its DISCONNECT was drained). */
  release(handle: Handle): number;
  /** The peer ended its side: reads drain the ring, then answer END_OF_STREAM. */
  eof(handle: Handle): number;
  /** Counts bytes the kernel took for this client. */
  recordSent(handle: Handle, bytes: number, now: number): number;
  /** Copies `data` into the ring: bytes taken (maybe fewer), or a status. */
  push(handle: Handle, data: Uint8Array, now: number): number;
  /** Copies up to `dst.length` bytes out: count, 0, END_OF_STREAM or a status. Moves the frame scan along. */
  read(handle: Handle, dst: Uint8Array): number;
  /**
   * Where the kernel's next read for this client should land: while the app keeps up (fewer
   * than MIN_WINDOW bytes buffered) a view of the staging area sized to the free room, so an
   * idle client holds no ring buffer (the core lends rings from a pool only while they hold
   * bytes); once the app is behind, a view of the ring's free span at its tail when that is big
   * enough or all the room there is. At most 2 MiB; 0 when the ring is full; or a status. Valid
   * until `received`, the next `receiveWindow`, eof, close or release.
   */
  receiveWindow(handle: Handle): Uint8Array | number;
  /** Takes `n` bytes just written into `window` (from receiveWindow): n, or a status. Never partial. */
  received(handle: Handle, window: Uint8Array, n: number, now: number): number;
  /** The contiguous readable bytes at the ring's head as a view (valid until consume/close), 0, END_OF_STREAM or a status. */
  readView(handle: Handle): Buffer | number;
  /** Drops `n` (1 … readView's length) bytes from the head. */
  consume(handle: Handle, n: number): number;
  /** Changes this client's framing; buffered bytes are read under it from the current position. */
  setFraming(handle: Handle, framing: CoreFraming): number;
  /** Payload bytes of the next whole frame (≥ 0), FRAME_PENDING, END_OF_STREAM, ERR_FRAME_TOO_LARGE or ERR_FRAME_TRUNCATED. */
  nextFrameLength(handle: Handle): number;
  /** Copies the next frame's payload into `dst` (at least nextFrameLength bytes) and consumes the frame. */
  readFrame(handle: Handle, dst: Uint8Array): number;
  /** Oldest not-yet-accepted client's handle, or 0. */
  accept(): number;
  /** The oldest queued event as (slot << 3) | kind, 0 when none. */
  nextEvent(): number;
  /** The table slot of a handle (what nextEvent reports). */
  slotOf(handle: Handle): number;
  setMaxClients(maxClients: number): number;
  /** One client's fields, or undefined for a stale handle. */
  inspect(handle: Handle): ClientInfo | undefined;
  /** Open clients past idleMs since their last activity or lifetimeMs since open (≤ 0 = off). */
  expired(now: number, idleMs: number, lifetimeMs: number): Handle[];
  stats(): CoreStats;
}
