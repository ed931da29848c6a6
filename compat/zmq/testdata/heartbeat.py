# A libzmq PUSH with ZMTP heartbeats on, for mqwire's heartbeat test:
#   heartbeat.py URL IVL_MS TIMEOUT_MS TTL_MS IDLE_MS
# It connects, sends b"one", stays idle (only heartbeats cross) for IDLE_MS,
# sends b"two", and prints "done".
import sys
import time

import zmq

url, ivl, timeout, ttl, idle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.setsockopt(zmq.LINGER, 5000)
s.setsockopt(zmq.HEARTBEAT_IVL, ivl)
s.setsockopt(zmq.HEARTBEAT_TIMEOUT, timeout)
s.setsockopt(zmq.HEARTBEAT_TTL, ttl)
s.connect(url)
print("ready", flush=True)
s.send(b"one")
time.sleep(idle / 1000)
s.send(b"two")
print("done", flush=True)
s.close()
ctx.term()
