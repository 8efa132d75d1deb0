#!/usr/bin/env python3
"""A TCP client the tests did not write in JavaScript: plain Python sockets.

Every mode prints one JSON object on stdout and exits 0, or exits 1 with a message.

  echo HOST PORT CLIENTS SIZE SEED
      CLIENTS threads each connect, send SIZE bytes (all 256 byte values first, then
      random bytes) in random-sized chunks while another thread reads, half-close
      (shutdown SHUT_WR), read until EOF. Prints {"results": [{"sent", "received",
      "sentSha256", "receivedSha256"}, ...]}.
  exchange HOST PORT JSON_CHUNKS [shutdown]
      Sends each string of the JSON array (UTF-8) with a short pause between them (so
      they arrive as separate segments), optionally half-closes, then reads until EOF.
      Prints {"received": "<text>", "eof": true|false} (+ "reset": true if the server reset).
  flood HOST PORT LIMIT
      Sends up to LIMIT bytes without ever reading, until a send blocks for 2 s.
      Prints {"sent": n}.
  late HOST PORT SIZE DELAY_MS SEED
      A writer thread sends SIZE random bytes and half-closes; the reader reads nothing
      for DELAY_MS, then everything until EOF (within 60 s). Prints {"sent", "received",
      "sentSha256", "receivedSha256", "eof"}.
"""
import hashlib
import json
import random
import socket
import sys
import threading
import time

TIMEOUT = 20.0


def connect(host, port):
    s = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    s.settimeout(TIMEOUT)
    return s


def read_to_eof(s):
    parts = []
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)


def echo_one(host, port, size, seed, out, index):
    rng = random.Random(seed)
    payload = (bytes(range(256)) + rng.randbytes(max(0, size - 256)))[:size]
    s = connect(host, port)
    received = {}

    def reader():
        received["data"] = read_to_eof(s)

    t = threading.Thread(target=reader)
    t.start()
    offset = 0
    while offset < len(payload):
        n = rng.randint(1, 32768)
        s.sendall(payload[offset:offset + n])
        offset += n
    s.shutdown(socket.SHUT_WR)
    t.join(TIMEOUT)
    s.close()
    data = received.get("data", b"")
    out[index] = {
        "sent": len(payload),
        "received": len(data),
        "sentSha256": hashlib.sha256(payload).hexdigest(),
        "receivedSha256": hashlib.sha256(data).hexdigest(),
    }


def read_until_eof(s):
    """Reads until the server's FIN or the socket's timeout: (bytes, whether FIN came)."""
    parts = []
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(parts), True
            parts.append(chunk)
    except socket.timeout:
        return b"".join(parts), False


def mode_echo(host, port, clients, size, seed):
    out = [None] * int(clients)
    threads = [
        threading.Thread(target=echo_one, args=(host, port, int(size), int(seed) * 1000 + i, out, i))
        for i in range(int(clients))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
    if any(r is None for r in out):
        raise SystemExit("some echo client did not finish")
    return {"results": out}


def mode_exchange(host, port, chunks, shutdown=None):
    """Sends the chunks, reads until FIN. A reset by the server (while sending or reading) is
    reported as "reset": true with what arrived before it, not raised."""
    s = connect(host, port)
    received, eof = b"", False
    try:
        for i, chunk in enumerate(json.loads(chunks)):
            if i:
                time.sleep(0.05)
            s.sendall(chunk.encode("utf-8"))
        if shutdown == "shutdown":
            s.shutdown(socket.SHUT_WR)
        s.settimeout(5.0)
        received, eof = read_until_eof(s)
    except (ConnectionResetError, BrokenPipeError):
        s.close()
        return {"received": received.decode("utf-8", "replace"), "eof": False, "reset": True}
    s.close()
    return {"received": received.decode("utf-8", "replace"), "eof": eof}


def mode_flood(host, port, limit):
    s = connect(host, port)
    s.settimeout(2.0)
    block = bytes(65536)
    sent = 0
    try:
        while sent < int(limit):
            sent += s.send(block)
    except socket.timeout:
        pass
    s.close()
    return {"sent": sent}


def mode_late(host, port, size, delay_ms, seed):
    data = random.Random(int(seed)).randbytes(int(size))
    s = connect(host, port)
    s.settimeout(60.0)

    def write():
        view = memoryview(data)
        for at in range(0, len(data), 65536):
            s.sendall(view[at:at + 65536])
        s.shutdown(socket.SHUT_WR)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    time.sleep(int(delay_ms) / 1000.0)
    received, eof = read_until_eof(s)
    writer.join(5.0)
    s.close()
    return {"sent": len(data), "received": len(received), "sentSha256": hashlib.sha256(data).hexdigest(),
            "receivedSha256": hashlib.sha256(received).hexdigest(), "eof": eof}


MODES = {"echo": mode_echo, "exchange": mode_exchange, "flood": mode_flood, "late": mode_late}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in MODES:
        raise SystemExit(__doc__)
    print(json.dumps(MODES[sys.argv[1]](*sys.argv[2:])))
