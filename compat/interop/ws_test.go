package interop_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"errors"
	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/ws"
	"github.com/mqwire/mqwire/wire"
	"time"
)

// TestWSLargeMessage sends a message of 1 MiB and 3 bytes each way between
// mqwire and the peer over ws, with each side listening in turn. mqwire's ws
// transport sends it in 64 KiB frames, which the peer must put back
// together, and takes the peer's as it comes: nng 1.5 sends a 1 MiB frame
// and a 3-byte continuation, nanomsg 1.1 one frame. mqwire's receive limit
// (1 MiB by default, header included) is raised here, nanomsg's in nnpeer.c;
// nng 1.5 has none.
func TestWSLargeMessage(t *testing.T) {
	testutil.CheckGoroutines(t)
	const size = 1<<20 + 3
	for _, c := range []*cPeer{nngPeer, nnPeer} {
		for _, dir := range directions {
			t.Run(c.lib+"/"+dir, func(t *testing.T) {
				t.Parallel()
				s := newSocket(t, "pair0", false)
				if err := s.SetOption(socket.MaxRecvSize(2 << 20)); err != nil {
					t.Fatal(err)
				}
				p := connectPeer(t, c, "ws", dir, s, "pair0")
				mqSend(t, s, sized(size, 1))
				if got, ok := p.recv(timeout); !ok || !bytes.Equal(got, sized(size, 1)) {
					t.Fatalf("peer received %d bytes (ok %v), want %d", len(got), ok, size)
				}
				p.send(sized(size, 2))
				if got, err := mqRecv(s, timeout); err != nil || !bytes.Equal(got, sized(size, 2)) {
					t.Fatalf("mqwire received %d bytes (%v), want %d", len(got), err, size)
				}
			})
		}
	}
}

// TestWSPathsShareAPort: an mqwire pull0 and rep0 listen on one port at
// different paths, as nng's sockets can; nngcat's push and req dial each
// path and reach the socket behind it.
func TestWSPathsShareAPort(t *testing.T) {
	testutil.CheckGoroutines(t)
	path := needTool(t, "nngcat")
	base := strings.TrimSuffix(freeURL(t, "ws"), "/test")
	pl := newSocket(t, "pull0", false)
	rp := newSocket(t, "rep0", false)
	if _, err := pl.Listen(base + "/push"); err != nil {
		t.Fatal(err)
	}
	if _, err := rp.Listen(base + "/ask"); err != nil {
		t.Fatal(err)
	}
	startProc(t, true, path, "--push0", "--dial", base+"/push", "--data", "pushed", "--count", "3", "--interval", "1")
	mqExpect(t, pl, []byte("pushed"))
	asker := startProc(t, true, path, "--req0", "--dial", base+"/ask", "--data", "question", "--quoted")
	mqExpect(t, rp, []byte("question"))
	mqSend(t, rp, []byte("answer"))
	if l, ok := asker.line(timeout); !ok || l != `"answer"` {
		t.Fatalf("nngcat's req printed %q (stderr: %s)", l, asker.stderr.String())
	}
}

// TestWSHandler runs every nngcat and nanocat case against mqwire sockets
// served through ws.NewHandler on an HTTP server of the test's own, beside
// a page of that server: the CLI dials the handler's path, and the page
// still answers plain requests once the CLIs are done.
func TestWSHandler(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tool := range []struct {
		name, dialFlag string
		cases          []cliCase
	}{{"nngcat", "--dial", nngcatCases}, {"nanocat", "--connect", nanocatCases}} {
		path := needTool(t, tool.name)
		for _, c := range tool.cases {
			t.Run(tool.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				e := &cliEnv{t: t, s: newSocket(t, c.mq, false), tool: path, lib: cliLibs[tool.name]}
				mux := http.NewServeMux()
				mux.HandleFunc("/page", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "a page") })
				srv := httptest.NewServer(mux)
				t.Cleanup(srv.Close)
				url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/mq"
				h, err := ws.NewHandler(e.s, url)
				if err != nil {
					t.Fatal(err)
				}
				mux.Handle("/mq", h)
				if h.Listener().URL() != url {
					t.Errorf("listener URL %q, want %q", h.Listener().URL(), url)
				}
				e.addr = []string{tool.dialFlag, url}
				c.run(e)
				resp, err := http.Get(srv.URL + "/page")
				if err != nil {
					t.Fatal(err)
				}
				page, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(page) != "a page" {
					t.Errorf("the server's page reads %q", page)
				}
			})
		}
	}
}

// TestWSDialHeader: an mqwire req dialing with extra header fields
// (ws.DialHeader) is served by nngcat's rep listening, whose server takes
// the fields in its stride.
func TestWSDialHeader(t *testing.T) {
	testutil.CheckGoroutines(t)
	path := needTool(t, "nngcat")
	url := freeURL(t, "ws")
	rep := startProc(t, true, path, "--rep0", "--listen", url, "--data", "answer", "--quoted")
	if !cliListens(t, rep, url) {
		t.Fatalf("nngcat ended: %s", rep.stderr.String())
	}
	rq := newSocket(t, "req0", false)
	hdr := http.Header{"Authorization": {"Bearer secret"}, "X-Client": {"mqwire"}}
	if _, err := rq.Dial(url, ws.DialHeader(hdr)); err != nil {
		t.Fatal(err)
	}
	mqSend(t, rq, []byte("question"))
	mqExpect(t, rq, []byte("answer"))
	if l, ok := rep.line(timeout); !ok || l != `"question"` {
		t.Fatalf("nngcat's rep printed %q (stderr: %s)", l, rep.stderr.String())
	}
}

// A listener checking Origin (ws.CheckOrigin) and adding header fields to
// its answer (ws.ListenHeader, nng's NNG_OPT_WS_RESPONSE_HEADERS) still
// serves nngcat, which sends no Origin and takes the extra fields.
func TestWSListenOptions(t *testing.T) {
	testutil.CheckGoroutines(t)
	path := needTool(t, "nngcat")
	s := newSocket(t, "rep0", false)
	l, err := s.Listen("ws://127.0.0.1:0/q", ws.CheckOrigin(nil), ws.ListenHeader(http.Header{"Set-Cookie": {"session=abc"}}))
	if err != nil {
		t.Fatal(err)
	}
	rq := startProc(t, true, path, "--req0", "--dial", l.URL(), "--data", "question", "--quoted")
	m, err := mqRecv(s, timeout)
	if err != nil || string(m) != "question" {
		t.Fatalf("got %q, %v (nngcat: %s)", m, err, rq.stderr.String())
	}
	mqSend(t, s, []byte("answer"))
	if line, ok := rq.line(timeout); !ok || line != `"answer"` {
		t.Fatalf("nngcat's req printed %q (stderr: %s)", line, rq.stderr.String())
	}
}

// Frame limits (ws.DialFrameLimits, ws.ListenFrameLimits) against nng's
// NNG_OPT_WS_SENDMAXFRAME and NNG_OPT_WS_RECVMAXFRAME, set on the nng
// peer's endpoint: with each side's sent frames within what the other
// takes, 5000-byte messages cross both ways in fragments; frames longer
// than the receiver takes cost the connection, whichever side receives.
// nng 1.5.2's dialer does not apply its NNG_OPT_WS_SENDMAXFRAME (its
// connections keep the 1 MiB default; its listener's do), so when nng
// dials, only its receive limit is put to the test.
func TestWSFrameLimits(t *testing.T) {
	testutil.CheckGoroutines(t)
	body := bytes.Repeat([]byte("frames"), 1000)
	limits := ws.FrameLimits{Send: 1024, Recv: 512} // nng's are the mirror: 512:1024
	t.Run("both within", func(t *testing.T) {
		t.Parallel()
		s := newSocket(t, "pair0", false)
		p, url := peerListen(t, nngPeer, "ws", "wsframes=512:1024", "pair0", "listen")
		if _, err := s.Dial(url, ws.DialFrameLimits(limits)); err != nil {
			t.Fatal(err)
		}
		socktest.WaitPipes(t, s, 1)
		exchangeWith(t, s, p, body) // nng's frames of at most 512 pass our limit of 512
	})
	t.Run("nng dials", func(t *testing.T) {
		t.Parallel()
		s := newSocket(t, "pair0", false)
		l, err := s.Listen(listenURL(t, "ws"), ws.ListenFrameLimits(ws.FrameLimits{Send: 1024}))
		if err != nil {
			t.Fatal(err)
		}
		p, err := startPeer(t, nngPeer, "wsframes=512:1024", "pair0", "dial", l.URL())
		if err != nil {
			t.Fatal(err)
		}
		socktest.WaitPipes(t, s, 1)
		exchangeWith(t, s, p, body)
	})
	t.Run("ours too long for nng", func(t *testing.T) {
		t.Parallel()
		s := newSocket(t, "pair0", false)
		ev := s.Events(64)
		p, url := peerListen(t, nngPeer, "ws", "wsframes=512:1024", "pair0", "listen")
		if _, err := s.Dial(url); err != nil { // 64 KiB frames
			t.Fatal(err)
		}
		socktest.WaitPipes(t, s, 1)
		mqSend(t, s, body)
		socktest.WaitEvent(t, ev, socket.EventDisconnected)
		if got, ok := p.recv(500 * time.Millisecond); ok {
			t.Fatalf("nng received %d bytes in a frame above its limit", len(got))
		}
	})
	t.Run("nng's too long for us", func(t *testing.T) {
		t.Parallel()
		s := newSocket(t, "pair0", false)
		ev := s.Events(64)
		p, url := peerListen(t, nngPeer, "ws", "pair0", "listen") // 64 KiB frames
		if _, err := s.Dial(url, ws.DialFrameLimits(limits)); err != nil {
			t.Fatal(err)
		}
		socktest.WaitPipes(t, s, 1)
		p.send(body)
		if err := socktest.WaitEvent(t, ev, socket.EventDisconnected).Err; !errors.Is(err, wire.ErrTooLarge) {
			t.Fatalf("pipe closed with %v, want a FrameTooLargeError", err)
		}
	})
}

// exchangeWith sends body from s to the C peer p and back.
func exchangeWith(t *testing.T, s *socket.Socket, p *peer, body []byte) {
	t.Helper()
	mqSend(t, s, body)
	if got, ok := p.recv(timeout); !ok || !bytes.Equal(got, body) {
		t.Fatalf("%s received %d bytes (ok %v), want %d", p.name, len(got), ok, len(body))
	}
	p.send(body)
	if got, err := mqRecv(s, timeout); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("mqwire received %d bytes (%v), want %d", len(got), err, len(body))
	}
}
