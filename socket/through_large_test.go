package socket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
)

// valve is a tcp relay in front of a listener whose upstream direction
// (dialer to listener) passes only as many bytes as the test allows, so
// that a message can be made to stop inside its body.
type valve struct {
	ln     net.Listener
	mu     sync.Mutex
	cond   *sync.Cond
	budget int64 // bytes that may pass; -1: any
	conns  []net.Conn
	wg     sync.WaitGroup
}

// newValve relays connections made to its URL to target, a tcp URL.
func newValve(t *testing.T, target string) (*valve, string) {
	t.Helper()
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	v := &valve{ln: ln, budget: -1}
	v.cond = sync.NewCond(&v.mu)
	addr := target[len("tcp://"):]
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			v.mu.Lock()
			v.conns = append(v.conns, c, u)
			v.mu.Unlock()
			v.wg.Add(2)
			go func() { defer v.wg.Done(); v.up(c, u) }()
			go func() { defer v.wg.Done(); io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(v.close)
	return v, "tcp://" + ln.Addr().String()
}

// up copies from the dialer to the listener within the budget.
func (v *valve) up(from, to net.Conn) {
	defer to.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		for b := buf[:n]; len(b) > 0; {
			v.mu.Lock()
			for v.budget == 0 {
				v.cond.Wait()
			}
			k := int64(len(b))
			if v.budget > 0 {
				k = min(k, v.budget)
				v.budget -= k
			}
			v.mu.Unlock()
			if _, err := to.Write(b[:k]); err != nil {
				return
			}
			b = b[k:]
		}
		if err != nil {
			return
		}
	}
}

// allow lets n more bytes pass, then holds; n < 0 lets everything pass.
func (v *valve) allow(n int64) {
	v.mu.Lock()
	v.budget = n
	v.cond.Broadcast()
	v.mu.Unlock()
}

func (v *valve) close() {
	v.ln.Close()
	v.mu.Lock()
	for _, c := range v.conns {
		c.Close()
	}
	v.budget = -1
	v.cond.Broadcast()
	v.mu.Unlock()
	v.wg.Wait()
}

// largeCase is a receiver reading through and a sender of single-body
// messages to it, in one dialect.
type largeCase struct {
	name string
	// ends makes the receiver (listening at the returned URL's target)
	// and the sender, which dials url.
	ends func(t *testing.T) (rx, tx *socket.Socket)
	// body returns what rx received as the body tx sent.
	body func(m *socket.Message) []byte
	// frames, if set, makes the message tx sends of a body.
	frames func(body []byte) *socket.Message
}

var largeCases = []largeCase{
	{"sp", func(t *testing.T) (*socket.Socket, *socket.Socket) {
		return must(rep.New(socket.MaxRecvSize(0))), must(req.New())
	}, func(m *socket.Message) []byte { return m.Body }, nil},
	{"zmtp", func(t *testing.T) (*socket.Socket, *socket.Socket) {
		return must(router.New(socket.MaxRecvSize(0))), must(dealer.New(socket.DialDialect(socket.DialectZMTP)))
	}, func(m *socket.Message) []byte { return m.Frames[0] }, nil}, // Body: the routing id
	// A REP facing a libzmq REQ gets each request behind an empty
	// delimiter frame (sent here by a DEALER, which need not wait for
	// replies).
	{"zmtp-rep", func(t *testing.T) (*socket.Socket, *socket.Socket) {
		return must(rep.New(socket.MaxRecvSize(0))), must(dealer.New(socket.DialDialect(socket.DialectZMTP)))
	}, func(m *socket.Message) []byte { return m.Body }, func(body []byte) *socket.Message {
		m := socket.NewMessage(0)
		m.Frames = [][]byte{body}
		return m
	}},
	// A REP behind a broker (a ROUTER-DEALER proxy) gets each request
	// behind the client's routing id and the delimiter.
	{"zmtp-envelope", func(t *testing.T) (*socket.Socket, *socket.Socket) {
		return must(rep.New(socket.MaxRecvSize(0))), must(dealer.New(socket.DialDialect(socket.DialectZMTP)))
	}, func(m *socket.Message) []byte { return m.Body }, func(body []byte) *socket.Message {
		m := socket.NewMessageBytes([]byte("client-7"))
		m.Frames = [][]byte{{}, body}
		return m
	}},
	// A DEALER's frames in front of a large one, to a ROUTER.
	{"zmtp-lead", func(t *testing.T) (*socket.Socket, *socket.Socket) {
		return must(router.New(socket.MaxRecvSize(0))), must(dealer.New(socket.DialDialect(socket.DialectZMTP)))
	}, func(m *socket.Message) []byte { return m.Frames[2] }, func(body []byte) *socket.Message {
		m := socket.NewMessageBytes([]byte("kind"))
		m.Frames = [][]byte{[]byte("v2"), body}
		return m
	}},
	// PULL reads its stream in chunks (chunk.go): another path.
	{"sp-pull", func(t *testing.T) (*socket.Socket, *socket.Socket) {
		return must(pull.New(socket.MaxRecvSize(0))), must(push.New())
	}, func(m *socket.Message) []byte { return m.Body }, nil},
	{"zmtp-pull", func(t *testing.T) (*socket.Socket, *socket.Socket) {
		return must(pull.New(socket.MaxRecvSize(0))), must(push.New(socket.DialDialect(socket.DialectZMTP)))
	}, func(m *socket.Message) []byte { return m.Body }, nil},
}

// TestReadThroughLargeCutShort: an application reading through that meets
// a large body reads it itself, and when its Recv's context ends inside
// the body (a deadline, a cancellation), what it read goes to the pipe's
// reader goroutine, which finishes the message: the next Recv gets it
// whole, the stream stays in step, the connection stays up.
func TestReadThroughLargeCutShort(t *testing.T) {
	for _, c := range largeCases {
		t.Run(c.name, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			rx, tx := c.ends(t)
			closeAll(t, tx, rx)
			v, url := newValve(t, must(rx.Listen(testutil.URL(t, "tcp"))).URL())
			must(tx.Dial(url))
			waitPipes(t, rx, 1)
			readThrough(t, rx, tx, c)

			big := bytes.Repeat([]byte("0123456789abcdef"), 40<<10) // 640 KiB: held in the upfront budget
			v.allow(0)
			cutShort(t, rx, func() {
				sendBody(t, c, tx, big)
				v.allow(200 << 10)
			})
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			if _, err := rx.RecvContext(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("Recv cancelled with part of a large body: %v", err)
			}
			v.allow(-1)
			m, err := rx.RecvContext(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.body(m); !bytes.Equal(got, big) {
				t.Fatalf("the large body came %d bytes long, or changed (want %d)", len(got), len(big))
			}
			m.Free()
			for i := range 3 { // in step after it, reading through again
				readThroughOne(t, rx, tx, c, fmt.Sprint("after ", i))
			}
			if st := rx.Stats(); st.Connects != 1 || st.ProtocolErrors != 0 {
				t.Errorf("connects %d, protocol errors %d: want 1 and 0", st.Connects, st.ProtocolErrors)
			}
		})
	}
}

// TestReadThroughLargeHandedOnClose: a large body handed to the reader
// goroutine unfinished is let go when the socket closes: no goroutine
// stays, and the upfront budget it held is given back.
func TestReadThroughLargeHandedOnClose(t *testing.T) {
	for _, c := range largeCases {
		t.Run(c.name, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			rx, tx := c.ends(t)
			defer tx.Close()
			defer rx.Close() // closed by the test, unless it fails first
			v, url := newValve(t, must(rx.Listen(testutil.URL(t, "tcp"))).URL())
			must(tx.Dial(url))
			waitPipes(t, rx, 1)
			readThrough(t, rx, tx, c)
			v.allow(0)
			cutShort(t, rx, func() {
				sendBody(t, c, tx, bytes.Repeat([]byte{7}, 640<<10))
				v.allow(100 << 10)
			})
			if socket.UpfrontInUse() == 0 {
				t.Error("the large body holds none of the upfront budget")
			}
			rx.Close()
			waitFor(t, "the upfront budget back", func() bool { return socket.UpfrontInUse() == 0 })
		})
	}
}

// cutShort has rx wait for a message with a timeout, reading through, and
// meanwhile calls send, which must send a large message only part of
// which arrives: the Recv must time out inside the body and hand what it
// read to the pipe's reader goroutine.
func cutShort(t *testing.T, rx *socket.Socket, send func()) {
	t.Helper()
	handed := socket.LargeHandOvers()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	got := recvAsync(rx, ctx)
	time.Sleep(20 * time.Millisecond) // Recv waits, holding the read turn
	send()
	if r := await(t, got, "Recv of part of a large body"); !errors.Is(r.err, socket.ErrTimeout) {
		t.Fatalf("Recv with part of a large body: %q, %v, want a timeout", r.body, r.err)
	}
	if socket.LargeHandOvers() == handed {
		t.Fatal("the Recv did not hand a large body over unfinished")
	}
}

// sendBody sends one message of body from tx, framed as c wants.
func sendBody(t *testing.T, c largeCase, tx *socket.Socket, body []byte) {
	t.Helper()
	m := socket.NewMessageBytes(body)
	if c.frames != nil {
		m.Free()
		m = c.frames(body)
	}
	if err := tx.SendContext(testCtx(t), m); err != nil {
		t.Fatal(err)
	}
}

// readThrough sends small messages from tx until rx reads through (its
// Recv, waiting before each message is sent, took the read turn).
func readThrough(t *testing.T, rx, tx *socket.Socket, c largeCase) {
	t.Helper()
	for i := 0; !socket.ReadsThrough(rx); i++ {
		if i == 100 {
			t.Fatal("the receiver does not read through")
		}
		readThroughOne(t, rx, tx, c, "warm-up")
	}
}

// readThroughOne has rx wait for a message, then sends it body from tx.
func readThroughOne(t *testing.T, rx, tx *socket.Socket, c largeCase, body string) {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		m, err := rx.RecvContext(testCtx(t))
		if err != nil {
			got <- []byte(err.Error())
			return
		}
		got <- append([]byte(nil), c.body(m)...)
		m.Free()
	}()
	time.Sleep(time.Millisecond)
	sendBody(t, c, tx, []byte(body))
	select {
	case b := <-got:
		if string(b) != body {
			t.Fatalf("got %q, want %q", b, body)
		}
	case <-time.After(timeout):
		t.Fatal("Recv did not end")
	}
}

// TestReadThroughLargeLeadFrames: a large message whose frames in front of
// the last are small (a REP behind a broker gets the client's routing id
// and the delimiter in front of each request) is read whole by an
// application reading through with a context that can end, and comes out
// as the reader goroutine would make it: the reply carries the envelope
// back, frame for frame.
func TestReadThroughLargeLeadFrames(t *testing.T) {
	testutil.CheckGoroutines(t)
	c := largeCases[slices.IndexFunc(largeCases, func(c largeCase) bool { return c.name == "zmtp-envelope" })]
	rx, tx := c.ends(t)
	closeAll(t, tx, rx)
	must(tx.Dial(must(rx.Listen(testutil.URL(t, "tcp"))).URL()))
	waitPipes(t, rx, 1)
	readThrough(t, rx, tx, c)
	for i := range 3 {
		big := bytes.Repeat([]byte{byte('a' + i)}, 300<<10+i)
		reads := socket.LargeAppReads()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got := recvAsync(rx, ctx)
		time.Sleep(time.Millisecond) // Recv waits, holding the read turn
		sendBody(t, c, tx, big)
		r := await(t, got, "Recv of a large request behind an envelope")
		cancel()
		if r.err != nil || r.body != string(big) {
			t.Fatalf("request %d: %d bytes, %v; want %d bytes", i, len(r.body), r.err, len(big))
		}
		if socket.LargeAppReads() == reads {
			t.Errorf("request %d: not read by the application", i)
		}
		if err := rx.SendContext(testCtx(t), socket.NewMessageBytes([]byte(fmt.Sprint("reply ", i)))); err != nil {
			t.Fatal(err)
		}
		m, err := tx.RecvContext(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"client-7", "", fmt.Sprint("reply ", i)}
		frames := []string{string(m.Body)}
		for _, f := range m.Frames {
			frames = append(frames, string(f))
		}
		if !slices.Equal(frames, want) {
			t.Fatalf("reply %d came as %q, want %q", i, frames, want)
		}
		m.Free()
	}
}

// TestReadThroughLargeLoan: over shm://, a body the peer lends (64 KiB) is
// taken by an application reading through with a context that can end, as
// a loan (no copy), in both dialects: the REP gets the request on its own
// goroutine, and the REQ the reply; a PULL (chunked reading) too.
func TestReadThroughLargeLoan(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("shm:// is Linux only")
	}
	for _, d := range []socket.Dialect{socket.DialectSP, socket.DialectZMTP} {
		t.Run(d.String(), func(t *testing.T) {
			testutil.CheckGoroutines(t)
			rx, tx := must(rep.New()), must(req.New(socket.DialDialect(d)))
			closeAll(t, tx, rx)
			must(tx.Dial(must(rx.Listen(testutil.URL(t, "shm"))).URL()))
			waitPipes(t, rx, 1)
			const size = 64 << 10
			loaned, byApp := 0, socket.LargeAppReads()
			for i := range 50 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := tx.SendContext(ctx, socket.NewMessage(size)); err != nil {
					t.Fatal(err)
				}
				m, err := rx.RecvContext(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if m.Loaned() {
					loaned++
				}
				if err := rx.SendContext(ctx, m); err != nil { // the request back as the reply
					t.Fatal(err)
				}
				if m, err = tx.RecvContext(ctx); err != nil || len(m.Body) != size {
					t.Fatalf("reply %d: %v", i, err)
				}
				m.Free()
				cancel()
			}
			if loaned < 40 {
				t.Errorf("%d of 50 requests came by loan", loaned)
			}
			if socket.LargeAppReads()-byApp < 30 {
				t.Errorf("%d of 100 large bodies read by the application", socket.LargeAppReads()-byApp)
			}
		})
		t.Run(d.String()+"-pull", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			rx, tx := must(pull.New()), must(push.New(socket.DialDialect(d)))
			closeAll(t, tx, rx)
			must(tx.Dial(must(rx.Listen(testutil.URL(t, "shm"))).URL()))
			waitPipes(t, rx, 1)
			loaned, byApp := 0, socket.LargeAppReads()
			for i := range 50 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				got := make(chan *socket.Message, 1)
				go func() {
					m, _ := rx.RecvContext(ctx)
					got <- m
				}()
				time.Sleep(100 * time.Microsecond) // Recv waits, holding the read turn
				if err := tx.SendContext(ctx, socket.NewMessage(64<<10)); err != nil {
					t.Fatal(err)
				}
				m := <-got
				cancel()
				if m == nil || len(m.Body) != 64<<10 {
					t.Fatalf("message %d did not come whole", i)
				}
				if m.Loaned() {
					loaned++
				}
				m.Free()
			}
			if loaned < 40 {
				t.Errorf("%d of 50 messages came by loan", loaned)
			}
			if socket.LargeAppReads()-byApp < 10 {
				t.Errorf("%d of 50 large bodies read by the application", socket.LargeAppReads()-byApp)
			}
		})
	}
}

// TestMultipartNoAllocs: ZMTP messages of several frames cost no
// allocation a round trip, whatever their size: a REQ's request behind its
// empty delimiter and the reply behind the REP's envelope, a DEALER's
// [header, header, body] to a ROUTER that echoes it, a DEALER's ["",
// header, body] to a REP. Each message is read into one buffer of its
// size (readMultipart, or startLarge where the application waits with a
// context that can end, through_large.go), its envelope put in front of
// its body, where its first frames were. Over tcp and CURVE, with and
// without a context.
func TestMultipartNoAllocs(t *testing.T) {
	type pair struct {
		name           string
		client, server func(...socket.Option) (*socket.Socket, error)
		head           [][]byte // frames the client puts in front of the body
		idle           bool     // a second client, idle: the server reads on its pipes' goroutines
	}
	pairs := []pair{
		{"req-rep", req.New, rep.New, nil, false},
		{"dealer-router", dealer.New, router.New, [][]byte{[]byte("h1"), []byte("h2")}, false},
		{"dealer-rep", dealer.New, rep.New, [][]byte{nil, []byte("h1")}, false},
		{"dealer-router-2", dealer.New, router.New, [][]byte{[]byte("h1"), []byte("h2")}, true},
		{"req-rep-2", req.New, rep.New, nil, true},
	}
	for _, p := range pairs {
		for _, tr := range []string{"tcp", "curve+tcp"} {
			for _, size := range []int{100, 64 << 10} {
				for _, withCtx := range []bool{true, false} {
					name := fmt.Sprintf("%s/%s/%d/context=%v", p.name, tr, size, withCtx)
					t.Run(name, func(t *testing.T) {
						var srvOpt, cliOpt []socket.Option
						if tr == "curve+tcp" {
							k := newCurveKeys(t)
							srvOpt, cliOpt = []socket.Option{socket.CurveServer(k.ServerSecret, nil)}, []socket.Option{k.client()}
						}
						server := must(p.server(append(srvOpt, socket.MaxRecvSize(0))...))
						client := must(p.client(append(cliOpt, socket.DialDialect(socket.DialectZMTP), socket.MaxRecvSize(0))...))
						closeAll(t, client, server)
						url := must(server.Listen(testutil.URL(t, "tcp"))).URL()
						must(client.Dial(url))
						if p.idle {
							other := must(p.client(append(cliOpt, socket.DialDialect(socket.DialectZMTP))...))
							closeAll(t, other)
							must(other.Dial(url))
							waitPipes(t, server, 2)
						}
						ctx := context.Background()
						if withCtx {
							// A deadline for the whole subtest, 700 round
							// trips: 64 KiB under CURVE take several
							// milliseconds each on a 32-bit build, where
							// the ciphers have no assembly.
							c, cancel := context.WithTimeout(ctx, 2*time.Minute)
							t.Cleanup(cancel)
							ctx = c
						}
						op := func() {
							m := socket.NewMessage(size)
							for i := len(p.head) - 1; i >= 0; i-- {
								m.PushFrame(p.head[i])
							}
							if err := client.SendContext(ctx, m); err != nil {
								t.Fatal(err)
							}
							m, err := server.RecvContext(ctx)
							if err != nil {
								t.Fatal(err)
							}
							if err := server.SendContext(ctx, m); err != nil { // the request back as the reply
								t.Fatal(err)
							}
							if m, err = client.RecvContext(ctx); err != nil {
								t.Fatal(err)
							}
							if want := len(p.head); len(m.Frames) != want || len(m.Frames) > 0 && len(m.Frames[want-1]) != size || want == 0 && len(m.Body) != size {
								t.Fatalf("reply of %d frames behind the first (%d bytes), want %d and the body of %d bytes last", len(m.Frames), len(m.Body), want, size)
							}
							m.Free()
						}
						for range 200 {
							op()
						}
						testutil.AllocsBelow(t, 500, 0.5, "per round trip", op)
					})
				}
			}
		}
	}
}

// TestManySmallFrames: a message of many small frames, larger than the read
// buffer though none of its frames is, arrives whole, whether the
// application waits with a context that can end or not; one of more frames
// than the limit allows (frameLimit) closes the connection with a
// protocol error.
func TestManySmallFrames(t *testing.T) {
	for _, withCtx := range []bool{true, false} {
		t.Run(fmt.Sprintf("context=%v", withCtx), func(t *testing.T) {
			rx := must(router.New())
			tx := must(dealer.New(socket.DialDialect(socket.DialectZMTP)))
			closeAll(t, tx, rx)
			must(tx.Dial(must(rx.Listen(testutil.URL(t, "tcp"))).URL()))
			ctx := context.Background()
			if withCtx {
				ctx = testCtx(t)
			}
			const n = 30000 // 4 bytes each on the wire: about twice the read buffer
			m := socket.NewMessageBytes([]byte("f0"))
			for i := 1; i < n; i++ {
				m.Frames = append(m.Frames, fmt.Appendf(nil, "%02d", i%100))
			}
			if err := tx.SendContext(ctx, m); err != nil {
				t.Fatal(err)
			}
			got, err := rx.RecvContext(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Frames) != n || string(got.Frames[0]) != "f0" || string(got.Frames[n-1]) != fmt.Sprintf("%02d", (n-1)%100) {
				t.Fatalf("%d frames behind the routing id, want %d", len(got.Frames), n)
			}
			got.Free()
			// Over the limit's frames: 1 MiB allows 32,768.
			m = socket.NewMessage(0)
			m.Frames = make([][]byte, 40000)
			if err := tx.SendContext(ctx, m); err != nil {
				t.Fatal(err)
			}
			waitPipes(t, rx, 0)
			if rx.Stats().ProtocolErrors != 1 {
				t.Fatalf("protocol errors %d, want 1", rx.Stats().ProtocolErrors)
			}
		})
	}
}
