/**
 * `tcpserver echo --framing …` with a Python peer: lines split at every byte position (CRLF,
 * UTF-8 split across reads), an oversize line closing only its client, length-prefixed frames
 * with headers split across reads, and a length frame cut short by the end of the stream.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, killAll, lineReader, readToEnd, runPeer, startEcho, stopEcho } from './helpers.js';

afterEach(killAll);

interface Exchange {
  mismatches: unknown[];
  rest: number;
  end: string;
}

describe('tcpserver echo --framing', () => {
  it('line: echoes every line, whatever byte it was split at (CRLF, multi-byte UTF-8), one frame at a time', async () => {
    const { server, port } = await startEcho(['--framing', 'line']);
    const result = await runPeer<Exchange & { splits: number }>(['lines', '127.0.0.1', port]);
    expect(result.splits).toBeGreaterThan(40);
    expect(result).toMatchObject({ mismatches: [], rest: 0, end: 'eof' });
    const [opened, , closed, bytesIn, bytesOut] = await stopEcho(server);
    expect([opened, closed]).toEqual([1, 1]);
    // In: each message as sent; out: the same lines with "\n" for "\r\n" (one CRLF a message).
    expect(bytesIn - bytesOut).toBe(result.splits);
  });

  it('line --max-frame 64: a longer line closes that client only; others are served', async () => {
    const { server, port } = await startEcho(['--framing', 'line', '--max-frame', '64']);
    const other = await connect(port);
    const otherLines = lineReader(other);
    const result = await runPeer<{ first: string; rest: number; end: string }>(['oversize', '127.0.0.1', port, 1000]);
    expect(result.first).toBe('ok\n');
    expect(result.rest).toBe(0); // nothing of the oversize frame came back
    expect(['eof', 'reset']).toContain(result.end);
    other.write('still served\n');
    expect(await otherLines()).toBe('still served');
    other.end();
    const [opened, , closed] = await stopEcho(server);
    expect([opened, closed]).toEqual([2, 2]);
  });

  it('length:4: echoes big-endian length-prefixed frames of 0 B … 16000 B with headers split across reads', async () => {
    const { server, port } = await startEcho(['--framing', 'length:4']);
    const result = await runPeer<Exchange & { frames: number }>(['length', '127.0.0.1', port]);
    expect(result).toMatchObject({ frames: 8, mismatches: [], rest: 0, end: 'eof' });
    const [, , , bytesIn, bytesOut] = await stopEcho(server);
    expect(bytesOut).toBe(bytesIn);
  });

  it('length:4: a frame cut short by the end of the stream is not echoed and is reported; the stream still ends cleanly', async () => {
    const { server, port } = await startEcho(['--framing', 'length:4']);
    const result = await runPeer<{ echoed: boolean; rest: number; end: string }>(['truncated', '127.0.0.1', port]);
    expect(result).toEqual({ echoed: true, rest: 0, end: 'eof' });
    await server.waitForErrorLine(/^error: client 1: .*inside a frame \(8 bytes of it left\)/);
    const [, , closed, bytesIn, bytesOut] = await stopEcho(server);
    expect(closed).toBe(1);
    expect([bytesIn, bytesOut]).toEqual([9 + 8, 9]);
  });

  it('delimiter:\\r\\n and fixed:4 echo their frames', async () => {
    const delimited = await startEcho(['--framing', 'delimiter:\\r\\n', '--log-level', 'warn']);
    const a = await connect(delimited.port);
    const fromA = readToEnd(a);
    a.write('one\r');
    a.write('\ntwo\r\nthree');
    a.end();
    // "three" has no delimiter: at the end of the stream it is a last frame (as readline).
    expect(await fromA).toEqual({ data: Buffer.from('one\r\ntwo\r\nthree\r\n'), ended: true });

    const fixed = await startEcho(['--framing', 'fixed:4', '--log-level', 'warn']);
    const b = await connect(fixed.port);
    const fromB = readToEnd(b);
    b.write('ab');
    b.write('cdefgh');
    b.end();
    expect(await fromB).toEqual({ data: Buffer.from('abcdefgh'), ended: true });
  });
});
