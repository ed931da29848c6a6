package router_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
)

// A ROUTER knows the peers it dials by the ids it gave the dials
// (ConnectRoutingID), whatever they announce: a DEALER with an identity of
// its own, one without, and a ROUTER, which announces none; and it keeps
// the id when the dialer connects again to a new peer at the same address.
func TestConnectRoutingID(t *testing.T) {
	for _, tr := range []string{"inproc", "ipc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			r := must(router.New(router.RouterMandatory(true), socket.Identity([]byte("client")), socket.ReconnectInterval(10*time.Millisecond)))
			defer r.Close()
			named := must(dealer.New(socket.Identity([]byte("announced"))))
			defer named.Close()
			anon := must(dealer.New())
			defer anon.Close()
			peerRouter := must(router.New())
			defer peerRouter.Close()
			urls := map[string]string{}
			for id, s := range map[string]*socket.Socket{"alpha": named, "beta": anon, "gamma": peerRouter} {
				urls[id] = must(s.Listen(testutil.URL(t, tr))).URL()
				must(r.Dial(urls[id], socket.ConnectRoutingID([]byte(id))))
			}
			socktest.WaitPipes(t, r, 3)
			for id, s := range map[string]*socket.Socket{"alpha": named, "beta": anon} {
				sendParts(t, r, id, "to-"+id)
				if got := fmt.Sprint(recvParts(t, s)); got != "[to-"+id+"]" {
					t.Fatalf("%s got %s", id, got)
				}
				sendParts(t, s, "from-"+id)
				if got := fmt.Sprint(recvParts(t, r)); got != "["+id+" from-"+id+"]" {
					t.Fatalf("router got %s from %s", got, id)
				}
			}
			// ROUTER to ROUTER: the listening one knows us by our identity.
			sendParts(t, r, "gamma", "hi")
			if got := fmt.Sprint(recvParts(t, peerRouter)); got != "[client hi]" {
				t.Fatalf("peer ROUTER got %s", got)
			}
			sendParts(t, peerRouter, "client", "ho")
			if got := fmt.Sprint(recvParts(t, r)); got != "[gamma ho]" {
				t.Fatalf("router got %s from the peer ROUTER", got)
			}

			// A new peer at alpha's address is alpha again.
			named.Close()
			deadline := time.Now().Add(5 * time.Second)
			for r.Stats().Pipes > 2 {
				if time.Now().After(deadline) {
					t.Fatal("the router kept alpha's connection")
				}
				time.Sleep(time.Millisecond)
			}
			again := must(dealer.New(socket.Identity([]byte("another"))))
			defer again.Close()
			must(again.Listen(urls["alpha"]))
			socktest.WaitPipes(t, r, 3)
			sendParts(t, r, "alpha", "again")
			if got := fmt.Sprint(recvParts(t, again)); got != "[again]" {
				t.Fatalf("the new alpha got %s", got)
			}
			if ps := r.PipeStats(); len(ps) != 3 {
				t.Fatalf("pipes %+v", ps)
			}
		})
	}
}

// A dial whose ConnectRoutingID another connection holds is refused as a
// duplicate identity is; with RouterHandover it takes the id over.
func TestConnectRoutingIDTaken(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(router.New(router.RouterMandatory(true)))
	defer r.Close()
	ev := r.Events(64)
	first := must(dealer.New())
	defer first.Close()
	second := must(dealer.New())
	defer second.Close()
	must(r.Dial(must(first.Listen(testutil.URL(t, "tcp"))).URL(), socket.ConnectRoutingID([]byte("dup"))))
	socktest.WaitPipes(t, r, 1)
	must(r.Dial(must(second.Listen(testutil.URL(t, "tcp"))).URL(), socket.ConnectRoutingID([]byte("dup"))))
	deadline := time.After(5 * time.Second)
	for rejected := false; !rejected; {
		select {
		case e := <-ev:
			if e.Type == socket.EventPipeRejected {
				if !errors.Is(e.Err, router.ErrDuplicateID) {
					t.Fatalf("rejected with %v", e.Err)
				}
				rejected = true
			}
		case <-deadline:
			t.Fatal("the second dial's connection was not refused")
		}
	}
	sendParts(t, r, "dup", "first")
	if got := fmt.Sprint(recvParts(t, first)); got != "[first]" {
		t.Fatalf("got %s", got)
	}
}

// ConnectRoutingID is checked when Dial is called: only a ROUTER takes it,
// and only an id a ROUTER could route by.
func TestConnectRoutingIDChecked(t *testing.T) {
	testutil.CheckGoroutines(t)
	d := must(dealer.New())
	defer d.Close()
	if _, err := d.Dial("tcp://127.0.0.1:1", socket.ConnectRoutingID([]byte("x"))); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Fatalf("on a DEALER: %v", err)
	}
	r := must(router.New())
	defer r.Close()
	for _, id := range [][]byte{nil, {}, {0, 'x'}, []byte(strings.Repeat("x", 256))} {
		if _, err := r.Dial("tcp://127.0.0.1:1", socket.ConnectRoutingID(id)); !errors.Is(err, socket.ErrBadOption) {
			t.Fatalf("id %q: %v", id, err)
		}
	}
	if n := len(r.PipeStats()); n != 0 || r.Stats().DialFailures != 0 {
		t.Fatalf("a refused Dial left %d pipes, %d dial failures", n, r.Stats().DialFailures)
	}
	if _, err := r.Dial("tcp://127.0.0.1:1", socket.ConnectRoutingID([]byte(strings.Repeat("x", 255)))); err != nil {
		t.Fatalf("a 255-byte id: %v", err)
	}
}

// A ROUTER names the peers it dials, and addresses them by those names as
// soon as they are connected, whatever identity they announce.
func Example_connectRoutingID() {
	backend, _ := dealer.New()
	defer backend.Close()
	l, _ := backend.Listen("inproc://backend-example")

	r, _ := router.New(router.RouterMandatory(true))
	defer r.Close()
	r.Dial(l.URL(), socket.ConnectRoutingID([]byte("backend")))
	for r.Stats().Pipes == 0 { // until the connection is up
		time.Sleep(time.Millisecond)
	}

	m := socket.NewMessageBytes([]byte("backend")) // the routing id first
	m.Frames = [][]byte{[]byte("job")}
	r.Send(m)
	job, _ := backend.Recv()
	backend.Send(socket.NewMessageBytes(append(job.Body, " done"...)))
	a, _ := r.Recv() // [backend, job done]
	fmt.Printf("%s: %s\n", a.Body, a.Frames[0])
	// Output: backend: job done
}
