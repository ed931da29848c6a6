# A libzmq peer for mqwire's ZMTP interop tests, driven by pyzmq.
#   peer.py TYPE bind|connect URL send|recv|echo|publish COUNT [TOPIC...]
# "send" sends COUNT three-frame messages [b"msg-<i>", b"second", b""];
# "recv" prints each message received as its frames in hex, "." for an
# empty frame, separated by spaces; "echo" sends each message back;
# "publish" sends b"b-<i>" then b"a-<i>" every 5 ms, COUNT times each;
# "request" sends b"req-<i>" and prints the reply, COUNT times.
# A SUB subscribes to each TOPIC. It prints "ready" once bound or
# connected, and "done" at the end.
import binascii
import sys

import zmq

import time

kind, how, url, role, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = zmq.Context()
s = ctx.socket(getattr(zmq, kind))
for topic in sys.argv[6:]:
    s.setsockopt(zmq.SUBSCRIBE, topic.encode())
s.setsockopt(zmq.LINGER, 5000)
s.setsockopt(zmq.RCVTIMEO, 10000)
getattr(s, how)(url)
print("ready", flush=True)
for i in range(count):
    if role == "send":
        s.send_multipart([b"msg-%d" % i, b"second", b""])
    elif role == "recv":
        frames = s.recv_multipart()
        print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)
    elif role == "echo":
        s.send_multipart(s.recv_multipart())
    elif role == "request":
        s.send(b"req-%d" % i)
        print(binascii.hexlify(s.recv()).decode(), flush=True)
    elif role == "publish":
        s.send(b"b-%d" % i)
        s.send(b"a-%d" % i)
        time.sleep(0.005)
print("done", flush=True)
s.close()
ctx.term()
