package surveyor

import (
	"context"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/socket"
)

// TestCloseStopsSurveyTimers: the survey timer keeps running after a
// survey ends (it is not stopped for every survey), so Close must stop it;
// otherwise each closed socket would stay reachable from a timer until it
// went off.
func TestCloseStopsSurveyTimers(t *testing.T) {
	s, err := New(SurveyTime(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	r, err := respondent.New()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l, err := s.Listen(testutil.URL(t, "inproc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	for s.Stats().Pipes == 0 {
		time.Sleep(time.Millisecond)
	}
	p := s.Protocol().(*proto)
	c, err := NewContext(s)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type conversation struct {
		send func(context.Context, *socket.Message) error
		recv func(context.Context) (*socket.Message, error)
	}
	for _, v := range []conversation{{s.SendContext, s.RecvContext}, {c.Send, c.Recv}} {
		if err := v.send(ctx, socket.NewMessageBytes([]byte("q"))); err != nil {
			t.Fatal(err)
		}
		m, err := r.RecvContext(ctx)
		if err == nil {
			err = r.SendContext(ctx, m)
		}
		if err == nil {
			m, err = v.recv(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		m.Free()
	}
	p.mu.Lock()
	timed := len(p.timers)
	p.mu.Unlock()
	if timed != 2 {
		t.Fatalf("%d contexts with a timer after two surveys, want 2", timed)
	}
	s.Close()
	for _, c := range []*Context{p.def, c} {
		if c.timer.Armed() {
			t.Error("a survey timer was still running after Close")
		}
	}
	if len(p.timers) != 0 {
		t.Errorf("%d timed contexts after Close", len(p.timers))
	}
}
