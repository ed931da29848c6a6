# A libzmq peer for mqcat's ZeroMQ tests, driven by pyzmq.
#
#   zpeer.py TYPE bind|connect URL [SETTING...] ACTION...
#
# SETTING is id=ROUTING_ID, sub=TOPIC (SUB), plain_user=U, plain_password=P
# (a PLAIN client) or plain_server=U:P (a PLAIN server whose ZAP handler,
# pyzmq's ThreadAuthenticator, knows that one user and password),
# curve_server=SECRET (a CURVE server, any client key) or
# curve_client=SERVERPUBLIC,PUBLIC,SECRET (a CURVE client); keys in Z85.
# ACTION is one of:
#   send=F1|F2...  send a message of those frames (Python escapes: \x01)
#   recv           receive a message and print its frames in hex, "." for an
#                  empty frame, separated by spaces
#   echo           receive a message and send it back
#   handshake      print how the first handshake ended, as libzmq's monitor
#                  reports it: "ok", "auth" (refused by ZAP) or "event N"
#   sleep=SEC      wait
# A repeated action is written ACTION*N. The peer prints "ready" (with the
# bound endpoint when it binds) once bound or connected, "timeout" if a
# receive waits more than 10 s, and "done" at the end.
import binascii
import codecs
import sys
import time

import zmq

kind, how, url = sys.argv[1], sys.argv[2], sys.argv[3]
settings = [a for a in sys.argv[4:] if a.split("=", 1)[0] in ("id", "sub", "plain_user", "plain_password", "plain_server", "curve_server", "curve_client")]
actions = [a for a in sys.argv[4:] if a not in settings]
ctx = zmq.Context()
s = ctx.socket(getattr(zmq, kind))
s.setsockopt(zmq.LINGER, 2000)
s.setsockopt(zmq.RCVTIMEO, 10000)
auth = None
for a in settings:
    k, v = a.split("=", 1)
    if k == "id":
        s.setsockopt(zmq.ROUTING_ID, v.encode())
    elif k == "sub":
        s.setsockopt(zmq.SUBSCRIBE, v.encode())
    elif k == "plain_user":
        s.setsockopt(zmq.PLAIN_USERNAME, v.encode())
    elif k == "plain_password":
        s.setsockopt(zmq.PLAIN_PASSWORD, v.encode())
    elif k == "plain_server":
        from zmq.auth.thread import ThreadAuthenticator
        auth = ThreadAuthenticator(ctx)
        auth.start()
        user, password = v.split(":", 1)
        auth.configure_plain(domain="*", passwords={user: password})
        s.setsockopt(zmq.PLAIN_SERVER, 1)
    elif k == "curve_server":
        s.setsockopt(zmq.CURVE_SECRETKEY, v.encode())
        s.setsockopt(zmq.CURVE_SERVER, 1)
    elif k == "curve_client":
        server, public, secret = v.split(",")
        s.setsockopt(zmq.CURVE_SERVERKEY, server.encode())
        s.setsockopt(zmq.CURVE_PUBLICKEY, public.encode())
        s.setsockopt(zmq.CURVE_SECRETKEY, secret.encode())
mon = s.get_monitor_socket() if "handshake" in actions else None
if how == "bind":
    s.bind(url)
    print("ready", s.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
else:
    s.connect(url)
    print("ready", flush=True)


def show(frames):
    print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)


status = 0
try:
    for action in actions:
        name, _, n = action.partition("*")
        for _ in range(int(n or 1)):
            if name.startswith("send="):
                s.send_multipart([codecs.escape_decode(f.encode())[0] for f in name[5:].split("|")])
            elif name == "recv":
                show(s.recv_multipart())
            elif name == "echo":
                s.send_multipart(s.recv_multipart())
            elif name.startswith("sleep="):
                time.sleep(float(name[6:]))
            elif name == "handshake":
                from zmq.utils.monitor import recv_monitor_message
                mon.setsockopt(zmq.RCVTIMEO, 10000)
                while True:
                    e = recv_monitor_message(mon)["event"]
                    if e == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                        print("ok", flush=True)
                    elif e == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                        print("auth", flush=True)
                    elif e in (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL):
                        print("event", e, flush=True)
                    else:
                        continue
                    break
            else:
                raise SystemExit("unknown action " + action)
except zmq.Again:
    print("timeout", flush=True)
    status = 1
print("done", flush=True)
if mon is not None:
    s.disable_monitor()
    mon.close(0)
if auth:
    auth.stop()
s.close()
ctx.term()
sys.exit(status)
