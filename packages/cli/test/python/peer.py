"""A peer for the CLI's end-to-end tests, written with Python's socket module only (a client
the tcpserv code did not write). Every mode prints one JSON object on stdout. Every socket
has a timeout, so no mode can hang.

  peer.py lines HOST PORT            line framing: each message split at every byte position
  peer.py oversize HOST PORT N       one line of N bytes without its newline: is it closed?
  peer.py length HOST PORT           4-byte big-endian length frames, headers split across reads
  peer.py truncated HOST PORT        one whole length frame, then half of one, then FIN
  peer.py unix PATH SIZE SEED        AF_UNIX: SIZE random bytes in random chunks, FIN, read to EOF
  peer.py proxy HOST PORT SRC SPORT  PROXY v1 header claiming SRC:SPORT, then a line, read to EOF
"""
import hashlib
import json
import random
import socket
import struct
import sys
import time

TIMEOUT = 20


def tcp(host, port):
    s = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exactly(s, n):
    """n bytes, or fewer if the stream ends first."""
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def read_to_eof(s):
    out = bytearray()
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return bytes(out), "eof"
            out += chunk
    except ConnectionResetError:
        return bytes(out), "reset"


def send_split(s, data, at):
    """data as two writes cut at byte `at`, with a pause so the server reads them apart."""
    if at > 0:
        s.sendall(data[:at])
        time.sleep(0.01)
    s.sendall(data[at:])


# UTF-8 with 2-, 3- and 4-byte characters, a CRLF line and an empty line.
LINES = "héllo wörld ✓ 𝄞\r\nzweite Zeile\n\nlast\n".encode("utf-8")
# What line framing gives back: every line's payload plus "\n" (the "\r" before "\n" dropped).
LINES_ECHO = "héllo wörld ✓ 𝄞\nzweite Zeile\n\nlast\n".encode("utf-8")


def mode_lines(host, port):
    s = tcp(host, port)
    mismatches = []
    for at in range(len(LINES) + 1):
        send_split(s, LINES, at)
        got = recv_exactly(s, len(LINES_ECHO))
        if got != LINES_ECHO:
            mismatches.append({"at": at, "got": got.decode("utf-8", "replace")})
    s.shutdown(socket.SHUT_WR)
    rest, end = read_to_eof(s)
    print(json.dumps({"splits": len(LINES) + 1, "mismatches": mismatches, "rest": len(rest), "end": end}))


def mode_oversize(host, port, n):
    s = tcp(host, port)
    s.sendall(b"ok\n")
    first = recv_exactly(s, 3)
    try:
        s.sendall(b"x" * int(n))
    except (BrokenPipeError, ConnectionResetError):
        pass
    rest, end = read_to_eof(s)
    print(json.dumps({"first": first.decode(), "rest": len(rest), "end": end}))


LENGTH_SIZES = [0, 1, 2, 255, 256, 1000, 4096, 16000]


def mode_length(host, port):
    rng = random.Random(7)
    s = tcp(host, port)
    mismatches = []
    for i, size in enumerate(LENGTH_SIZES):
        payload = bytes(rng.randrange(256) for _ in range(size))
        frame = struct.pack(">I", size) + payload
        # Cut inside the header (1…3), right after it (4), or inside the payload.
        at = [1, 2, 3, 4, 4 + size // 2][i % 5] if size else i % 4
        send_split(s, frame, min(at, len(frame)))
        got = recv_exactly(s, len(frame))
        if got != frame:
            mismatches.append({"size": size, "got": len(got)})
    s.shutdown(socket.SHUT_WR)
    rest, end = read_to_eof(s)
    print(json.dumps({"frames": len(LENGTH_SIZES), "mismatches": mismatches, "rest": len(rest), "end": end}))


def mode_truncated(host, port):
    s = tcp(host, port)
    whole = struct.pack(">I", 5) + b"hello"
    s.sendall(whole)
    echoed = recv_exactly(s, len(whole))
    s.sendall(struct.pack(">I", 10) + b"abcd")  # announces 10 bytes, sends 4
    s.shutdown(socket.SHUT_WR)
    rest, end = read_to_eof(s)
    print(json.dumps({"echoed": echoed == whole, "rest": len(rest), "end": end}))


def mode_unix(path, size, seed):
    rng = random.Random(int(seed))
    data = bytes(rng.randrange(256) for _ in range(int(size)))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(path)
    # Write in random chunks from a thread-free loop: the echo is read after FIN, so keep the
    # total under what the socket buffers and the server's ring can hold together.
    offset = 0
    while offset < len(data):
        n = rng.randint(1, 8192)
        s.sendall(data[offset:offset + n])
        offset += n
    s.shutdown(socket.SHUT_WR)
    got, end = read_to_eof(s)
    print(json.dumps({"sent": len(data), "received": len(got), "sentSha256": hashlib.sha256(data).hexdigest(),
                      "receivedSha256": hashlib.sha256(got).hexdigest(), "end": end}))


def mode_proxy(host, port, src, sport):
    s = tcp(host, port)
    family = "TCP6" if ":" in src else "TCP4"
    dst = "::1" if family == "TCP6" else "127.0.0.1"
    try:
        s.sendall(f"PROXY {family} {src} {dst} {sport} {port}\r\n".encode() + b"through the proxy\n")
        s.shutdown(socket.SHUT_WR)
    except OSError:
        # A refused header may be answered by a reset before we finish sending or half-close
        # (BrokenPipe, ECONNRESET, or ENOTCONN from shutdown): that is the refusal, not an error.
        print(json.dumps({"received": "", "end": "reset"}))
        return
    got, end = read_to_eof(s)
    print(json.dumps({"received": got.decode("utf-8", "replace"), "end": end}))


MODES = {"lines": mode_lines, "oversize": mode_oversize, "length": mode_length, "truncated": mode_truncated,
         "unix": mode_unix, "proxy": mode_proxy}

if __name__ == "__main__":
    MODES[sys.argv[1]](*sys.argv[2:])
