package req

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
)

// By default a request over ZMTP waits for its reply however long the job
// takes, as a libzmq REQ's does: the resend interval (shortened here, in
// place of the 60 s default, without setting the option) neither sends it
// again nor closes the connection. Over SP the same default resends, as
// nng does; and with ResendInterval set, ZMTP resends too.
func TestSlowReplyDefault(t *testing.T) {
	for _, c := range []struct {
		name       string
		dialect    socket.Dialect
		peer       func(...socket.Option) (*socket.Socket, error) // it echoes what it gets
		setOption  bool
		wantCopies int
	}{
		{"zmtp-default-waits", socket.DialectZMTP, router.New, false, 1},
		{"sp-default-resends", socket.DialectSP, rep.NewRaw, false, 2},
		{"zmtp-set-resends", socket.DialectZMTP, router.New, true, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			r, err := c.peer()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			opts := []socket.Option{socket.DialDialect(c.dialect)}
			if c.setOption {
				opts = append(opts, ResendInterval(100*time.Millisecond))
			}
			q, err := New(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if !c.setOption {
				q.Protocol().(*proto).resend.Store(int64(100 * time.Millisecond))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			sendJob(ctx, t, q, r)
			first, err := r.RecvContext(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// The job takes 400 ms, four resend intervals (a copy sent
			// again may take longer to come on a loaded machine: the
			// connection closes and the dialer reconnects first).
			window := 400 * time.Millisecond
			if c.wantCopies > 1 {
				window = 3 * time.Second
			}
			copies := 1
			wait, waitCancel := context.WithTimeout(ctx, window)
			for copies < c.wantCopies || c.wantCopies == 1 {
				m, err := r.RecvContext(wait)
				if err != nil {
					break
				}
				copies++
				first.Free()
				first = m
			}
			waitCancel()
			if c.wantCopies == 1 && copies != 1 {
				t.Fatalf("the router got the request %d times, want once", copies)
			}
			if c.wantCopies > 1 && copies < 2 {
				t.Fatalf("the router got the request once, want it again")
			}
			if c.wantCopies > 1 {
				return
			}
			if err := r.SendContext(ctx, first); err != nil { // echo the envelope and body
				t.Fatal(err)
			}
			got, err := q.RecvContext(ctx)
			if err != nil || string(got.Body) != "job" {
				t.Fatalf("reply %v %v", got, err)
			}
			if n := q.Stats().Connects; n != 1 {
				t.Fatalf("%d connections, want 1: the slow request's connection was closed", n)
			}
		})
	}
}

// With ResendInterval(0) nothing is kept to send again, so a request whose
// connection closes before its reply is lost: Recv fails with an error
// matching socket.ErrNoPeer, as nng's does with ECONNRESET, in either
// dialect, rather than wait for a reply that cannot come.
func TestLostRequestFailsRecv(t *testing.T) {
	for _, dialect := range []socket.Dialect{socket.DialectSP, socket.DialectZMTP} {
		t.Run(fmt.Sprint(dialect), func(t *testing.T) {
			testutil.CheckGoroutines(t)
			r, err := rep.New()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			q, err := New(ResendInterval(0), socket.DialDialect(dialect))
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			sendJob(ctx, t, q, r)
			if _, err := r.RecvContext(ctx); err != nil {
				t.Fatal(err)
			}
			r.Close() // the connection goes before the reply
			if m, err := q.RecvContext(ctx); !errors.Is(err, socket.ErrNoPeer) {
				t.Fatalf("Recv: %v %v, want an error matching ErrNoPeer", m, err)
			}
			if _, err := q.RecvContext(ctx); !errors.Is(err, socket.ErrBadState) {
				t.Fatalf("a second Recv: %v, want ErrBadState (no request out)", err)
			}
		})
	}
}

// sendJob connects q to r over tcp and sends the request "job".
func sendJob(ctx context.Context, t *testing.T, q, r *socket.Socket) {
	t.Helper()
	l, err := r.Listen(testutil.URL(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	if err := q.SendContext(ctx, socket.NewMessageBytes([]byte("job"))); err != nil {
		t.Fatal(err)
	}
}
