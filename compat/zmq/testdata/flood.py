# A libzmq end of a flood with ZMTP heartbeats on, for mqwire's tests:
#   flood.py pull N IVL_MS   binds a PULL on a free tcp port, prints
#                            "endpoint URL", takes N messages numbered
#                            0..N-1 (8-byte big-endian, then padding) and
#                            prints "ok", or what went wrong
#   flood.py push URL N IVL_MS   connects a PUSH to URL, sends N such
#                            messages, prints "done", and closes once a
#                            line comes on its standard input (closing
#                            earlier, with heartbeats unread, resets the
#                            connection and loses what is still in flight)
# Both set HEARTBEAT_IVL to IVL_MS and HEARTBEAT_TIMEOUT to 10 s.
import struct
import sys
import time

import zmq

ctx = zmq.Context()
mode = sys.argv[1]
if mode == "pull":
    n, ivl = int(sys.argv[2]), int(sys.argv[3])
    s = ctx.socket(zmq.PULL)
    s.setsockopt(zmq.HEARTBEAT_IVL, ivl)
    s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 10000)
    s.setsockopt(zmq.RCVTIMEO, 60000)  # as the Go side's floodWait
    s.bind("tcp://127.0.0.1:*")
    print("endpoint", s.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
    for i in range(n):
        try:
            m = s.recv()
        except zmq.Again:
            print("timed out at message", i, flush=True)
            sys.exit(1)
        if i % 1024 == 0:
            time.sleep(0.0003)  # behind now and then: mqwire's writes then leave rests
        (got,) = struct.unpack(">Q", m[:8])
        if got != i or len(m) != 8 + i % 100:
            print("message", i, "is number", got, "of", len(m), "bytes", flush=True)
            sys.exit(1)
    print("ok", flush=True)
else:
    url, n, ivl = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 20000)
    s.setsockopt(zmq.HEARTBEAT_IVL, ivl)
    s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 10000)
    s.connect(url)
    for i in range(n):
        s.send(struct.pack(">Q", i) + bytes(i % 100))
    print("done", flush=True)
    sys.stdin.readline()
s.close()
ctx.term()
