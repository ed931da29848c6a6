# A libzmq peer for mqwire's ZMTP interop tests, driven by pyzmq.
#   peer.py TYPE bind|connect URL send|recv|echo|publish COUNT [TOPIC...]
# "send" sends COUNT three-frame messages [b"msg-<i>", b"second", b""];
# "recv" prints each message received as its frames in hex, "." for an
# empty frame, separated by spaces; "echo" sends each message back;
# "publish" sends b"b-<i>" then b"a-<i>" every 5 ms, COUNT times each;
# "request" sends b"req-<i>" and prints the reply, COUNT times.
# "flood" (PUSH) sends 64-byte messages until it is killed.
# "steer" (REQ) sends each extra argument cmd=NAME as a message and prints
# the reply's frames (a zmq_proxy_steerable command and its answer).
# "late-recv" (SUB) waits a second without reading, then prints the first
# 8 bytes of each message in hex until one starts with b"a-end" (COUNT is
# ignored). "nodrop-publish" (XPUB, with ZMQ_XPUB_NODROP and a send
# high-water mark of 4) waits for a subscription, sends 16 KiB messages
# b"a-" + <i, 4 bytes big-endian> until a send times out (100 ms), prints
# "sent <n>", then sends b"a-end", waiting as long as it takes.
# "count-subs" (XPUB) reads subscriptions until it has COUNT distinct ones
# or none comes for 2 s, and prints "subs <n>".
# "dealer" sends b"req-<i>" and prints the reply's frames; "route-echo"
# (ROUTER) prints each message, routing id first, and sends it back;
# "router-send" (ROUTER, with a routing id and target=ID) sends
# [ID, b"r-<i>"] and prints the reply; "dealer-req" is a DEALER speaking to a REP: ["", b"req-<i>"], then it
# prints the reply's frames.
# A SUB subscribes to each TOPIC (but "invert=1" sets ZMQ_INVERT_MATCHING,
# on any type, and "verboser=1" ZMQ_XPUB_VERBOSER on an XPUB); other types take the first extra
# argument without "=" as their routing id (ZMQ_ROUTING_ID). PLAIN and CURVE
# options (plain_*=..., curve_*=...) and the "handshake" role are described
# further down. It prints "ready" once bound or
# connected (a bound one adds its endpoint), and "done" at the end.
import binascii
import sys

import zmq

import time

kind, how, url, role, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = zmq.Context()
s = ctx.socket(getattr(zmq, kind))
if role == "nodrop-publish":  # before bind or connect: the high-water mark applies to pipes made after
    s.setsockopt(zmq.XPUB_NODROP, 1)
    s.setsockopt(zmq.SNDHWM, 4)
if "invert=1" in sys.argv[6:]:  # ZMQ_INVERT_MATCHING (PUB, XPUB, SUB)
    s.setsockopt(zmq.INVERT_MATCHING, 1)
if "verboser=1" in sys.argv[6:]:  # ZMQ_XPUB_VERBOSER (XPUB): every subscription and cancel passed up
    s.setsockopt(zmq.XPUB_VERBOSER, 1)
for topic in sys.argv[6:] if kind == "SUB" else []:
    if "=" not in topic:
        s.setsockopt(zmq.SUBSCRIBE, topic.encode())
s.setsockopt(zmq.LINGER, 5000)
# socks=HOST:PORT connects through that SOCKS5 proxy (ZMQ_SOCKS_PROXY);
# socks_auth=USER:PASS adds ZMQ_SOCKS_USERNAME and ZMQ_SOCKS_PASSWORD.
socks = dict(a.split("=", 1) for a in sys.argv[6:] if a.startswith("socks"))
if "socks" in socks:
    s.setsockopt(zmq.SOCKS_PROXY, socks["socks"].encode())
if "socks_auth" in socks:
    user, password = socks["socks_auth"].split(":", 1)
    s.setsockopt(zmq.SOCKS_USERNAME, user.encode())
    s.setsockopt(zmq.SOCKS_PASSWORD, password.encode())
s.setsockopt(zmq.RCVTIMEO, 10000)
if kind != "SUB" and len(sys.argv) > 6 and "=" not in sys.argv[6]:
    s.setsockopt(zmq.ROUTING_ID, sys.argv[6].encode())  # IDENTITY for other types
# PLAIN, as extra arguments: plain_user=U plain_password=P make a PLAIN
# client; plain_server=U:P a PLAIN server whose ZAP handler (pyzmq's
# ThreadAuthenticator) knows that one user. Role "handshake" prints how the
# first handshake ended, as libzmq's monitor reports it: "event <n> <value>".
plain = dict(a.split("=", 1) for a in sys.argv[6:] if "=" in a and a.startswith("plain_"))
auth = None
if "plain_user" in plain:
    s.setsockopt(zmq.PLAIN_USERNAME, plain["plain_user"].encode())
    s.setsockopt(zmq.PLAIN_PASSWORD, plain.get("plain_password", "").encode())
if "plain_server" in plain:
    from zmq.auth.thread import ThreadAuthenticator
    auth = ThreadAuthenticator(ctx)
    auth.start()
    user, password = plain["plain_server"].split(":", 1)
    auth.configure_plain(domain="*", passwords={user: password})
    s.setsockopt(zmq.PLAIN_SERVER, 1)
# CURVE, as extra arguments (keys in Z85): curve_server=SECRET makes a CURVE
# server, with no ZAP handler unless curve_allow=PUBLIC also names the one
# client key that pyzmq's ThreadAuthenticator lets in; curve_client=
# SERVERPUBLIC,PUBLIC,SECRET a CURVE client (Z85 has ":" but no ",").
curve = dict(a.split("=", 1) for a in sys.argv[6:] if "=" in a and a.startswith("curve_"))
if "curve_server" in curve:
    s.setsockopt(zmq.CURVE_SECRETKEY, curve["curve_server"].encode())
    s.setsockopt(zmq.CURVE_SERVER, 1)
if "curve_allow" in curve:
    import os, tempfile
    from zmq.auth.thread import ThreadAuthenticator
    certs = tempfile.mkdtemp()
    with open(os.path.join(certs, "client.key"), "w") as f:
        f.write('metadata\ncurve\n    public-key = "%s"\n' % curve["curve_allow"])
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=certs)
if "curve_client" in curve:
    server, public, secret = curve["curve_client"].split(",")
    s.setsockopt(zmq.CURVE_SERVERKEY, server.encode())
    s.setsockopt(zmq.CURVE_PUBLICKEY, public.encode())
    s.setsockopt(zmq.CURVE_SECRETKEY, secret.encode())
mon = s.get_monitor_socket() if role == "handshake" else None
getattr(s, how)(url)
# A bound peer says where it listens: "tcp://127.0.0.1:*" binds a port the
# kernel picks, which no other process can take between pick and bind.
print("ready " + s.getsockopt(zmq.LAST_ENDPOINT).decode() if how == "bind" else "ready", flush=True)
if role == "nodrop-publish":
    s.recv()  # the subscription
    s.setsockopt(zmq.SNDTIMEO, 100)
    n, body = 0, bytearray(16 << 10)
    body[:2] = b"a-"
    while True:
        body[2:6] = n.to_bytes(4, "big")
        try:
            s.send(bytes(body))
        except zmq.Again:
            break
        n += 1
    print("sent", n, flush=True)
    s.setsockopt(zmq.SNDTIMEO, -1)
    s.send(b"a-end")
    count = 0
if role == "count-subs":
    s.setsockopt(zmq.RCVTIMEO, 2000)
    subs = set()
    try:
        while len(subs) < count:
            m = s.recv()
            if m[:1] == b"\x01":
                subs.add(m[1:])
    except zmq.Again:
        pass
    print("subs", len(subs), flush=True)
    count = 0
if role == "late-recv":
    time.sleep(1)
    while True:
        f = s.recv()
        print(binascii.hexlify(f[:8]).decode(), flush=True)
        if f.startswith(b"a-end"):
            break
    count = 0
if role == "flood":  # PUSH: send 64-byte messages until killed (COUNT is ignored)
    body = b"f" * 64
    while True:
        s.send(body)
if role == "xsubscribe":  # XSUB: each "+TOPIC" is sent as 1+topic, "-TOPIC" as 0+topic
    for arg in sys.argv[6:]:
        s.send((b"\x01" if arg[0] == "+" else b"\x00") + arg[1:].encode())
if role == "steer":  # REQ: send each cmd=NAME as a proxy command, print the reply's frames (COUNT is ignored)
    for arg in sys.argv[6:]:
        if arg.startswith("cmd="):
            s.send(arg[4:].encode())
            frames = s.recv_multipart()
            print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)
    count = 0
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
    elif role == "dealer-req":  # DEALER talking to a REP: ["", b"req-<i>"], print the reply's frames
        s.send_multipart([b"", b"req-%d" % i])
        frames = s.recv_multipart()
        print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)
    elif role == "router-send":  # ROUTER to ROUTER: send [target, b"r-<i>"] once the target is there, print the reply
        target = next(a.split("=", 1)[1] for a in sys.argv[6:] if a.startswith("target=")).encode()
        s.setsockopt(zmq.ROUTER_MANDATORY, 1)
        while True:
            try:
                s.send_multipart([target, b"r-%d" % i])
                break
            except zmq.ZMQError:  # EHOSTUNREACH until the peer's handshake is done
                time.sleep(0.01)
        frames = s.recv_multipart()
        print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)
    elif role == "route-reverse":  # ROUTER: take COUNT messages, print each, send them back last first
        held = [s.recv_multipart() for _ in range(count)]
        for frames in held:
            print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)
        for frames in reversed(held):
            s.send_multipart(frames)
        break
    elif role == "route-window":  # ROUTER: take COUNT messages in batches (what comes within 0.3 s of a batch's first), print each, send each batch back last first
        got = 0
        while got < count:
            batch = [s.recv_multipart()]
            end = time.time() + 0.3
            while got + len(batch) < count:
                left = end - time.time()
                if left <= 0 or not s.poll(max(1, int(left * 1000))):
                    break
                batch.append(s.recv_multipart())
            for frames in batch:
                print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)
            for frames in reversed(batch):
                s.send_multipart(frames)
            got += len(batch)
        break
    elif role == "route-skip-first":  # ROUTER: print each message, send back all but the first (a server that swallows a request)
        frames = s.recv_multipart()
        print(" ".join(binascii.hexlify(f).decode() or "." for f in frames[1:]), flush=True)
        if i > 0:
            s.send_multipart(frames)
    elif role == "route-echo":  # ROUTER: print each message, send it back to its sender
        frames = s.recv_multipart()
        print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)
        s.send_multipart(frames)
    elif role == "xsubscribe":  # XSUB: print each message (after sending the subscriptions below)
        frames = s.recv_multipart()
        print(" ".join(binascii.hexlify(f).decode() or "." for f in frames), flush=True)
if role == "handshake":
    from zmq.utils.monitor import recv_monitor_message
    mon.setsockopt(zmq.RCVTIMEO, 10000)
    ends = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
            zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    try:
        while True:
            m = recv_monitor_message(mon)
            if m["event"] in ends:
                print("event", m["event"], m["value"], flush=True)
                break
    except zmq.Again:
        print("timeout", flush=True)
    s.disable_monitor()
    mon.close(0)
    s.setsockopt(zmq.LINGER, 0)
print("done", flush=True)
if auth:
    auth.stop()
s.close()
ctx.term()
