// Framing as the reference model states it: where the next frame of a client's buffered bytes
// ends, written straight from FRAMING-SPEC.md as a pure function of (framing, bytes, ended).
// It rescans from the head on every call; the WebAssembly core scans incrementally, and the
// lockstep properties check that the two cut the same frames.

import * as K from '../constants.js';
import type { CoreFraming } from '../core-api.js';

/** The default framing of a newly opened client. */
export const RAW: CoreFraming = { mode: 'raw' };

const LF = 0x0a;
const CR = 0x0d;
const MAX_DELIMITER = 16;

/** OK if setFraming accepts `framing` for rings of `rxBufferSize` bytes, else ERR_CONFIG_FRAME. */
export function framingStatus(framing: CoreFraming, rxBufferSize: number): number {
  const inRing = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= rxBufferSize;
  switch (framing.mode) {
    case 'raw':
      return K.OK;
    case 'line':
      return inRing(framing.maxFrameSize) ? K.OK : K.ERR_CONFIG_FRAME;
    case 'delimiter': {
      const length = framing.delimiter.length;
      return length >= 1 && length <= MAX_DELIMITER && inRing(framing.maxFrameSize) ? K.OK : K.ERR_CONFIG_FRAME;
    }
    case 'length': {
      const { headerBytes } = framing;
      return (headerBytes === 1 || headerBytes === 2 || headerBytes === 4) && inRing(framing.maxFrameSize) ? K.OK : K.ERR_CONFIG_FRAME;
    }
    case 'fixed':
      return inRing(framing.size) ? K.OK : K.ERR_CONFIG_FRAME;
    default:
      // A mode outside 0..4 (only reachable by a cast).
      return K.ERR_CONFIG_FRAME;
  }
}

/** A framing the model can keep: the delimiter copied, so the caller may reuse its array. */
export function ownFraming(framing: CoreFraming): CoreFraming {
  return framing.mode === 'delimiter' ? { ...framing, delimiter: Uint8Array.from(framing.delimiter) } : { ...framing };
}

/**
 * The next frame at the head: `result` is the payload length (≥ 0) or FRAME_PENDING,
 * END_OF_STREAM, ERR_FRAME_TOO_LARGE or ERR_FRAME_TRUNCATED. For a frame, the payload is
 * bytes[skip, skip + result) and the frame takes `consumed` bytes from the head.
 */
export interface Cut {
  readonly result: number;
  readonly skip: number;
  readonly consumed: number;
}

const frame = (result: number, skip: number, consumed: number): Cut => ({ result, skip, consumed });
const status = (result: number): Cut => ({ result, skip: 0, consumed: 0 });

/**
 * Cuts the next frame from `bytes` (a client's buffered bytes, oldest first). `ended`: the
 * peer ended or the client was closed, so no byte will follow. RAW has no frames: ERR_CONFIG_FRAME.
 */
export function cutFrame(framing: CoreFraming, bytes: readonly number[], ended: boolean, rxBufferSize: number): Cut {
  const used = bytes.length;
  const full = used === rxBufferSize;

  /**
   * LINE and DELIMITER without a terminator: too large once no terminator can end the frame
   * in time or the ring is full; else, at the end of the stream, the rest is one final frame
   * (nothing dropped), or too large if longer than maxFrameSize; else pending.
   * A full ring stays too large after eof (rule 3: "for as long as it holds"), so whether
   * the peer's FIN came before or after the RECV was handled cannot change the outcome.
   */
  const unterminated = (maxFrameSize: number, cannotEndInTime: boolean): Cut => {
    if (cannotEndInTime || full) return status(K.ERR_FRAME_TOO_LARGE);
    if (ended && used > 0) return used > maxFrameSize ? status(K.ERR_FRAME_TOO_LARGE) : frame(used, 0, used);
    return status(ended ? K.END_OF_STREAM : K.FRAME_PENDING);
  };

  /** LENGTH and FIXED before their frame is complete. */
  const incomplete = (): Cut => {
    if (full) return status(K.ERR_FRAME_TOO_LARGE);
    if (ended) return status(used === 0 ? K.END_OF_STREAM : K.ERR_FRAME_TRUNCATED);
    return status(K.FRAME_PENDING);
  };

  switch (framing.mode) {
    case 'raw':
      // The spec gives RAW no frames; asking for one is the caller's error (the core agrees).
      return status(K.ERR_CONFIG_FRAME);

    case 'line': {
      const { maxFrameSize } = framing;
      const lf = bytes.indexOf(LF);
      if (lf >= 0) {
        const payload = lf > 0 && bytes[lf - 1] === CR ? lf - 1 : lf;
        return payload > maxFrameSize ? status(K.ERR_FRAME_TOO_LARGE) : frame(payload, 0, lf + 1);
      }
      // Room for maxFrameSize bytes and the '\r' that may precede the '\n'.
      return unterminated(maxFrameSize, used > maxFrameSize + 1);
    }

    case 'delimiter': {
      const { maxFrameSize, delimiter } = framing;
      const at = indexOfSequence(bytes, delimiter);
      if (at >= 0) return at > maxFrameSize ? status(K.ERR_FRAME_TOO_LARGE) : frame(at, 0, at + delimiter.length);
      // A delimiter arriving next could start no earlier than used − length + 1.
      return unterminated(maxFrameSize, used >= maxFrameSize + delimiter.length);
    }

    case 'length': {
      const { headerBytes, littleEndian, maxFrameSize } = framing;
      if (used >= headerBytes) {
        let length = 0;
        for (let i = 0; i < headerBytes; i++) length = length * 256 + bytes[littleEndian ? headerBytes - 1 - i : i]!;
        // Too large as soon as the header is in, before any of the payload.
        if (length > maxFrameSize) return status(K.ERR_FRAME_TOO_LARGE);
        if (used >= headerBytes + length) return frame(length, headerBytes, headerBytes + length);
      }
      return incomplete();
    }

    case 'fixed':
      if (used >= framing.size) return frame(framing.size, 0, framing.size);
      return incomplete();
  }
}

/** Index of the first occurrence of `needle` in `haystack`, or -1. */
function indexOfSequence(haystack: readonly number[], needle: Uint8Array): number {
  const last = haystack.length - needle.length;
  outer: for (let i = 0; i <= last; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
