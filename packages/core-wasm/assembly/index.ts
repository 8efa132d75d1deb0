// tcpserv core: the client table, receive rings, event queue and accept queue of one
// TCP server, as a deterministic state machine over integers and bytes. No sockets,
// timers or Promises live here; time arrives as an argument (`now`, milliseconds).
//
// This file is `init` and the module's export list — the ABI that raw-exports.test.ts pins;
// nothing else leaves the module. One concept a file:
//   layout.ts   header/slot records, section offsets, the memory map, layoutBytes
//   handles.ts  handle encoding and lookup()
//   clients.ts  open / close / release / eof / recordSent
//   lists.ts    accept queue and free list
//   events.ts   the event queue (and why it cannot overflow), PAUSE/RESUME
//   ring.ts     receive rings: push/commit in, read/consume out, flow control
//   pool.ts     the ring pool: buffers lent to slots only while they hold bytes
//   framing.ts  frames cut in the core
//   inspect.ts  info cursor, sweep, counters

import {
  OK, ERR_ALREADY_INIT, ERR_CONFIG_MAX_CLIENTS, ERR_CONFIG_WATERMARKS, ERR_OUT_OF_MEMORY, PAGE_BYTES,
} from "../src/constants";
import { NIL, computeLayout, header, ready, setLayout, setReady } from "./layout";
import { initFreeList } from "./lists";
import { initRingPool } from "./pool";

export { layoutBytes, stagingPtr, stagingSize } from "./layout";
export { setMaxClients, open, close, release, eof, recordSent } from "./clients";
export { accept } from "./lists";
export { nextEvent } from "./events";
export { push, read, writeSpan, receiveWindow, commit, readSpan, consume, spanPtr } from "./ring";
export { setFraming, nextFrameLength, readFrame, frameSpan, skipFrame } from "./framing";
export {
  inspect, infoSerial, infoState, infoFlags, infoRxUsed, infoBytesIn, infoBytesOut, infoConnectTime, infoLastActivity,
  sweep, sweepNext,
  statLive, statUsedSlots, statPendingAccept, statPaused, statQueuedEvents, statMaxClients, statOpened, statRejected,
  statClosed, statBytesIn, statBytesOut, statRingsInUse,
} from "./inspect";

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
  const eventCapacity = setLayout(sockets, <u32>rxBufferSize, <u32>stagingSize);
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
  initFreeList(sockets);
  initRingPool(sockets);
  setReady();
  return OK;
}
