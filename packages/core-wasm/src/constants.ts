// Shared by the AssemblyScript core (assembly/) and the TypeScript wrapper (src/).
// Keep this file to plain `export const NAME = <integer literal>;` lines: asc reads
// them as i32 constants and tsc as numbers, so both sides agree by construction.

// ── Status codes ──────────────────────────────────────────────────────────────
// Every export returns OK, a non-negative result, or one of these negatives.
export const OK = 0;
/** The handle was never issued, or its slot has been freed (generation mismatch). */
export const ERR_STALE = -1;
/** `open` refused: live clients already equal maxClients. */
export const ERR_LIMIT = -2;
/** `open` refused: every slot of the table is in use (live or closed-but-not-released). */
export const ERR_TABLE_FULL = -3;
/** The client is closed (push/close/recordSent after close) or has ended (push after eof). */
export const ERR_CLOSED = -4;
/** A pointer, length or count is outside the range the export accepts. */
export const ERR_RANGE = -5;
/** `read`: the ring is empty and the peer has ended or the client is closed. */
export const END_OF_STREAM = -6;
/** `release` on a client that is still open: close it first. */
export const ERR_OPEN = -7;
/** Any export other than `layoutBytes`/`init` before `init` succeeded. */
export const ERR_NOT_INIT = -8;
/** `init` called twice: a core is configured once for its whole life. */
export const ERR_ALREADY_INIT = -9;
/** maxSockets outside 1..MAX_SOCKETS. */
export const ERR_CONFIG_MAX_SOCKETS = -10;
/** maxClients outside 1..maxSockets. */
export const ERR_CONFIG_MAX_CLIENTS = -11;
/** rxBufferSize not a power of two in MIN_RX_BUFFER..MAX_RX_BUFFER. */
export const ERR_CONFIG_RX_BUFFER = -12;
/** Watermarks must satisfy 0 <= low < high <= rxBufferSize. */
export const ERR_CONFIG_WATERMARKS = -13;
/** stagingSize outside MIN_STAGING..MAX_STAGING or not a multiple of 16. */
export const ERR_CONFIG_STAGING = -14;
/** The layout would exceed MAX_LAYOUT_BYTES. */
export const ERR_CONFIG_TOO_LARGE = -15;
/** memory.grow failed while sizing memory in `init`. */
export const ERR_OUT_OF_MEMORY = -16;

// ── Events (nextEvent) ───────────────────────────────────────────────────────
export const EV_NONE = 0;
/** A client was opened (queued by `open`). */
export const EV_CONNECT = 1;
/** Bytes (or end of stream) became readable — framed: a whole frame, a frame error or end of stream; at most one pending per client. */
export const EV_RECV = 2;
/** A client was closed; exactly one per CONNECT. */
export const EV_DISCONNECT = 3;
/** The ring crossed the high watermark: stop reading this client's socket. */
export const EV_PAUSE = 4;
/** The ring drained to the low watermark: read this client's socket again. */
export const EV_RESUME = 5;

// ── Slot states (inspect → infoState) ─────────────────────────────────────────
export const STATE_FREE = 0;
export const STATE_OPEN = 1;
export const STATE_CLOSED = 2;

// ── Slot flags (inspect → infoFlags) ─────────────────────────────────────────
/** Opened, not yet taken by `accept`. */
export const FLAG_IN_ACCEPT_QUEUE = 1;
/** A RECV event is queued and not drained yet. */
export const FLAG_RECV_PENDING = 2;
/** A PAUSE/RESUME event is queued and not drained yet. */
export const FLAG_FLOW_PENDING = 4;
/** Paused: RAW — the ring reached the high watermark and has not drained to the low one; framed — the ring is full. */
export const FLAG_PAUSED = 8;
/** The peer ended its side (`eof`). */
export const FLAG_EOF = 16;
/** The DISCONNECT event has been drained. */
export const FLAG_DISCONNECT_DRAINED = 32;
/** `release` was called; the slot frees once DISCONNECT is drained. */
export const FLAG_RELEASED = 64;

// ── Limits ───────────────────────────────────────────────────────────────────
/** Table slots are addressed by the low bits of a handle; 16 bits leave 15 for the generation. */
export const MAX_SOCKETS = 65536;
export const MIN_RX_BUFFER = 64;
export const MAX_RX_BUFFER = 67108864;
export const MIN_STAGING = 1024;
export const MAX_STAGING = 16777216;
/** Largest layout a core may ask for (2 GiB minus one page, so byte counts fit an i32). */
export const MAX_LAYOUT_BYTES = 2147418112;
export const PAGE_BYTES = 65536;

// ── Framing (setFraming / nextFrameLength) ───────────────────────────────────
/** nextFrameLength: no complete frame is buffered yet. */
export const FRAME_PENDING = -17;
/** A frame (or a length header announcing one) is larger than maxFrameSize, or fills the ring unfinished. */
export const ERR_FRAME_TOO_LARGE = -18;
/** The stream ended inside a length/fixed frame. */
export const ERR_FRAME_TRUNCATED = -19;
/**
 * setFraming: mode not 0..4, headerBytes not 1/2/4, delimiter length not 1..16, maxFrameSize
 * (or the fixed size) outside 1..rxBufferSize. Also the frame calls on a client in RAW mode.
 */
export const ERR_CONFIG_FRAME = -20;
