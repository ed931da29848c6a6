package mangos_test

import (
	"testing"
	"time"

	mw "github.com/mqwire/mqwire/compat/mangos"
	mwpull "github.com/mqwire/mqwire/compat/mangos/protocol/pull"
	mwpush "github.com/mqwire/mqwire/compat/mangos/protocol/push"
	mwrep "github.com/mqwire/mqwire/compat/mangos/protocol/rep"
	mwreq "github.com/mqwire/mqwire/compat/mangos/protocol/req"
	"github.com/mqwire/mqwire/internal/testutil"
)

// Under OptionFailNoPeers a call already waiting when the last peer goes
// fails with ErrNoPeers, as mangos's do: a REQ waiting for its reply, on
// the socket and on a context, and a PUSH waiting for room.
func TestShimFailNoPeersWakes(t *testing.T) {
	testutil.CheckGoroutines(t)
	rq := shim(t, mwreq.NewSocket)
	rp := shim(t, mwrep.NewSocket)
	for _, o := range []string{mw.OptionRecvDeadline, mw.OptionSendDeadline} {
		rq.SetOption(o, time.Duration(0)) // wait for good
	}
	if err := rq.SetOption(mw.OptionFailNoPeers, true); err != nil {
		t.Fatal(err)
	}
	link(t, "tcp", rp, rq)
	c, err := rq.OpenContext()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errs := make(chan error, 2)
	go func() {
		if err := rq.Send([]byte("q1")); err != nil {
			errs <- err
			return
		}
		_, err := rq.Recv()
		errs <- err
	}()
	go func() {
		if err := c.Send([]byte("q2")); err != nil {
			errs <- err
			return
		}
		_, err := c.Recv()
		errs <- err
	}()
	for range 2 {
		shimRecv(t, rp) // both requests are out: their Recvs wait
	}
	rp.Close()
	for range 2 {
		select {
		case err := <-errs:
			if err != mw.ErrNoPeers {
				t.Errorf("waiting for a reply when the peer went: %v, want ErrNoPeers", err)
			}
		case <-time.After(timeout):
			t.Fatal("a receive still waits after the last peer went")
		}
	}

	ps := shim(t, mwpush.NewSocket)
	pl := shim(t, mwpull.NewSocket)
	ps.SetOption(mw.OptionSendDeadline, time.Duration(0))
	if err := pl.SetOption(mw.OptionReadQLen, 1); err != nil {
		t.Fatal(err)
	}
	if err := ps.SetOption(mw.OptionFailNoPeers, true); err != nil {
		t.Fatal(err)
	}
	link(t, "inproc", pl, ps)
	sent := make(chan error, 1)
	go func() {
		for {
			if err := ps.Send([]byte("flood")); err != nil {
				sent <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond) // the pull reads nothing: the sends wait
	pl.Close()
	select {
	case err := <-sent:
		if err != mw.ErrNoPeers {
			t.Errorf("a send waiting when the peer went: %v, want ErrNoPeers", err)
		}
	case <-time.After(timeout):
		t.Fatal("a send still waits after the last peer went")
	}
}
