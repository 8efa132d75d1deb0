// The raw exports of core.wasm, typed in one place. Every function returns a status (< 0) or
// a result (≥ 0); only numbers cross the boundary, multi-field results are read through
// getter exports after a cursor call (inspect → info*, writeSpan/readSpan/frameSpan → spanPtr),
// except receiveWindow, which packs its address and length into one exact f64.

/** The module's exports, typed in one place. Every function returns a status or a result. */
export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  /** Bytes of memory a config needs, or ERR_CONFIG_*. */
  layoutBytes(maxSockets: number, rxBufferSize: number, stagingSize: number): number;
  /** Lays out memory once; OK or a status. */
  init(maxSockets: number, maxClients: number, rxBufferSize: number, highWatermark: number,
    lowWatermark: number, stagingSize: number, ringOrigin: number): number;
  /** Changes the admission limit. */
  setMaxClients(maxClients: number): number;
  /** Address / size of the staging area. */
  stagingPtr(): number;
  stagingSize(): number;
  /** Oldest queued event as (slot << 3) | kind; EV_NONE (0) if none. */
  nextEvent(): number;
  /** Oldest not-yet-accepted client's handle, or 0. */
  accept(): number;
  /** Admit a client: handle, ERR_LIMIT or ERR_TABLE_FULL. */
  open(now: number): number;
  /** Close an open client (DISCONNECT queued). */
  close(handle: number): number;
  /** Free a closed client's slot once its DISCONNECT is drained. */
  release(handle: number): number;
  /** The peer ended its side. */
  eof(handle: number): number;
  /** Count bytes handed to the socket. */
  recordSent(handle: number, bytes: number, now: number): number;
  /** Copy staging bytes into the ring: how many fit. */
  push(handle: number, ptr: number, len: number, now: number): number;
  /** Copy ring bytes to staging: count, 0, END_OF_STREAM or a status. */
  read(handle: number, dst: number, max: number): number;
  /** Contiguous free bytes at the ring's tail; their address via spanPtr. */
  writeSpan(handle: number): number;
  /**
   * Where the next socket read should land, packed as length · 2^31 + address (0 when full): the
   * ring's free span at its tail if the slot holds its buffer with a window already out on it or
   * ≥ minWindow bytes buffered, and the span is ≥ minWindow or all the room; else the staging area
   * sized to the room; at most 2 MiB. A ring window keeps the buffer lent to the slot until
   * commit, the next receiveWindow, eof, close or release.
   */
  receiveWindow(handle: number, minWindow: number): number;
  /** Take `len` bytes written at the writeSpan address, as push does; ends the window (0: unused). */
  commit(handle: number, len: number, now: number): number;
  /** Contiguous readable bytes at the ring's head (0, END_OF_STREAM); address via spanPtr. */
  readSpan(handle: number): number;
  /** Drop `len` bytes copied out from the readSpan address, as read does. */
  consume(handle: number, len: number): number;
  /** Address answered by the last writeSpan/readSpan/frameSpan. */
  spanPtr(): number;
  /** Framing mode RAW 0 | LINE 1 | DELIMITER 2 | LENGTH 3 | FIXED 4 with its parameters; OK or ERR_CONFIG_FRAME. */
  setFraming(handle: number, mode: number, p1: number, p2: number, maxFrameSize: number): number;
  /** Next frame's payload length, or FRAME_PENDING / END_OF_STREAM / ERR_FRAME_TOO_LARGE / ERR_FRAME_TRUNCATED. */
  nextFrameLength(handle: number): number;
  /** Copy the next frame's payload to staging and consume the frame; ERR_RANGE if longer than max. */
  readFrame(handle: number, dst: number, max: number): number;
  /** The next frame's payload in the ring: its first contiguous piece (address via spanPtr). */
  frameSpan(handle: number): number;
  /** Consume the next frame without copying it. */
  skipFrame(handle: number): number;
  /** Fill the info cursor from one client. */
  inspect(handle: number): number;
  infoSerial(): number;
  infoState(): number;
  infoFlags(): number;
  infoRxUsed(): number;
  infoBytesIn(): number;
  infoBytesOut(): number;
  infoConnectTime(): number;
  infoLastActivity(): number;
  /** Next open client past a time limit, from a slot index; 0 at the end. */
  sweep(now: number, idleMs: number, lifetimeMs: number, fromSlot: number): number;
  sweepNext(): number;
  statLive(): number;
  statUsedSlots(): number;
  statPendingAccept(): number;
  statPaused(): number;
  statQueuedEvents(): number;
  statMaxClients(): number;
  statOpened(): number;
  statRejected(): number;
  statClosed(): number;
  statBytesIn(): number;
  statBytesOut(): number;
  /** Ring buffers lent to slots from the pool (0 once every ring is empty and no window is out). */
  statRingsInUse(): number;
}
