# A libzmq peer for mqwire's ZMTP interop tests, driven by pyzmq.
#   peer.py TYPE bind|connect URL send|recv|echo|publish COUNT [TOPIC...]
# "send" sends COUNT three-frame messages [b"msg-<i>", b"second", b""];
# "recv" prints each message received as its frames in hex, "." for an
# empty frame, separated by spaces; "echo" sends each message back;
# "publish" sends b"b-<i>" then b"a-<i>" every 5 ms, COUNT times each;
# "request" sends b"req-<i>" and prints the reply, COUNT times.
# "dealer" sends b"req-<i>" and prints the reply's frames; "route-echo"
# (ROUTER) prints each message, routing id first, and sends it back.
# A SUB subscribes to each TOPIC; other types take the first extra
# argument as their routing id (ZMQ_ROUTING_ID). It prints "ready" once bound or
# connected, and "done" at the end.
import binascii
import sys

import zmq

import time

kind, how, url, role, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = zmq.Context()
s = ctx.socket(getattr(zmq, kind))
for topic in sys.argv[6:] if kind == "SUB" else []:
    s.setsockopt(zmq.SUBSCRIBE, topic.encode())
s.setsockopt(zmq.LINGER, 5000)
s.setsockopt(zmq.RCVTIMEO, 10000)
if kind != "SUB" and len(sys.argv) > 6:
    s.setsockopt(zmq.ROUTING_ID, sys.argv[6].encode())  # IDENTITY for other types
getattr(s, how)(url)
print("ready", flush=True)
if role == "xsubscribe":  # XSUB: each "+TOPIC" is sent as 1+topic, "-TOPIC" as 0+topic
    for arg in sys.argv[6:]:
        s.send((b"\x01" if arg[0] == "+" else b"\x00") + arg[1:].encode())
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
    elif role == "dealer":  # DEALER: send b"req-<i>", print the reply's frames
        s.send(b"req-%d" % i)
        frames = s.recv_multipart()
        print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)
    elif role == "route-echo":  # ROUTER: print each message, send it back to its sender
        frames = s.recv_multipart()
        print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)
        s.send_multipart(frames)
    elif role == "xsubscribe":  # XSUB: print each message (after sending the subscriptions below)
        frames = s.recv_multipart()
        print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)
print("done", flush=True)
s.close()
ctx.term()
