// Peer is the JeroMQ 0.3 (ZMTP 2.0) peer of mqwire's tests.
//
//   java Peer KIND bind|connect URL ROLE COUNT [ARG...]
//
// It binds or connects a socket of KIND (PUSH, PULL, REQ, REP, PUB, SUB,
// DEALER, ROUTER, PAIR), prints "ready URL", then plays ROLE:
//   send     send COUNT messages: "msg-<i>", "second", "" (three frames)
//   recv     print COUNT messages, one line each
//   echo     receive and send back COUNT messages (REP, ROUTER, PAIR)
//   request  send "req-<i>" and print the reply, COUNT times (REQ, DEALER)
//   publish  send "<topic>-<i>" for every topic ARG, every 20 ms, until
//            standard input closes
// A message prints as its frames, space-separated: hex, or "." when empty.
// ARGs of the form id=X set the socket's identity, sub=T subscribe.
import java.util.ArrayList;
import java.util.List;
import org.zeromq.ZMQ;

public class Peer {
    static String render(List<byte[]> frames) {
        StringBuilder b = new StringBuilder();
        for (byte[] f : frames) {
            if (b.length() > 0) b.append(' ');
            if (f.length == 0) { b.append('.'); continue; }
            for (byte x : f) b.append(String.format("%02x", x));
        }
        return b.toString();
    }

    static List<byte[]> recv(ZMQ.Socket s) {
        List<byte[]> frames = new ArrayList<>();
        do {
            byte[] f = s.recv(0);
            if (f == null) throw new RuntimeException("receive timed out");
            frames.add(f);
        } while (s.hasReceiveMore());
        return frames;
    }

    static void send(ZMQ.Socket s, List<byte[]> frames) {
        for (int i = 0; i < frames.size(); i++) {
            s.send(frames.get(i), i < frames.size() - 1 ? ZMQ.SNDMORE : 0);
        }
    }

    static int type(String kind) {
        switch (kind) {
            case "PUSH": return ZMQ.PUSH;
            case "PULL": return ZMQ.PULL;
            case "REQ": return ZMQ.REQ;
            case "REP": return ZMQ.REP;
            case "PUB": return ZMQ.PUB;
            case "SUB": return ZMQ.SUB;
            case "DEALER": return ZMQ.DEALER;
            case "ROUTER": return ZMQ.ROUTER;
            case "PAIR": return ZMQ.PAIR;
        }
        throw new IllegalArgumentException("unknown socket type " + kind);
    }

    public static void main(String[] a) throws Exception {
        String kind = a[0], how = a[1], url = a[2], role = a[3];
        int count = Integer.parseInt(a[4]);
        ZMQ.Context ctx = ZMQ.context(1);
        ZMQ.Socket s = ctx.socket(type(kind));
        s.setLinger(1000);
        s.setReceiveTimeOut(15000);
        List<String> topics = new ArrayList<>();
        for (int i = 5; i < a.length; i++) {
            if (a[i].startsWith("id=")) s.setIdentity(a[i].substring(3).getBytes());
            else if (a[i].startsWith("sub=")) s.subscribe(a[i].substring(4).getBytes());
            else topics.add(a[i]);
        }
        if (how.equals("bind")) {
            if (url.endsWith(":*")) {
                int port = s.bindToRandomPort(url.substring(0, url.length() - 2));
                url = url.substring(0, url.length() - 1) + port;
            } else {
                s.bind(url);
            }
        } else {
            s.connect(url);
        }
        System.out.println("ready " + url);
        System.out.flush();
        switch (role) {
            case "send":
                for (int i = 0; i < count; i++) {
                    List<byte[]> m = new ArrayList<>();
                    m.add(("msg-" + i).getBytes());
                    m.add("second".getBytes());
                    m.add(new byte[0]);
                    send(s, m);
                }
                break;
            case "recv":
                for (int i = 0; i < count; i++) System.out.println(render(recv(s)));
                break;
            case "echo":
                for (int i = 0; i < count; i++) send(s, recv(s));
                break;
            case "request":
                for (int i = 0; i < count; i++) {
                    s.send(("req-" + i).getBytes(), 0);
                    System.out.println(render(recv(s)));
                }
                break;
            case "publish":
                // Until the test closes standard input: a subscriber's
                // subscriptions reach a publisher some time after it connects.
                Thread publisher = new Thread(() -> {
                    try {
                        for (int i = 0; ; i++) {
                            for (String t : topics) s.send((t + "-" + i).getBytes(), 0);
                            Thread.sleep(20);
                        }
                    } catch (InterruptedException e) {
                        // the test is done
                    }
                });
                publisher.setDaemon(true);
                publisher.start();
                while (System.in.read() != -1) { }
                System.exit(0);
                break;
            default:
                throw new IllegalArgumentException("unknown role " + role);
        }
        System.out.flush();
        // Wait for the test to close standard input, so that what was sent
        // goes out before the socket closes.
        while (System.in.read() != -1) { }
        s.close();
        ctx.term();
    }
}
