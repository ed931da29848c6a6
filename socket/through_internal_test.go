package socket

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestTurnSource: while the holder of the read turn reads a message too
// large for the buffer, a read cut short by a deadline in the past is
// tried again (the message must not be abandoned half read); otherwise the
// cut reaches the holder, who looks at why.
func TestTurnSource(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	p := &Pipe{conn: a}
	src := turnSource{p, a}
	buf := make([]byte, 8)

	a.SetReadDeadline(aLongTimeAgo)
	if _, err := src.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a read cut short: %v, want a deadline error", err)
	}

	p.readingLarge = true
	a.SetReadDeadline(aLongTimeAgo)
	go func() {
		time.Sleep(20 * time.Millisecond)
		b.Write([]byte("rest"))
	}()
	n, err := src.Read(buf)
	if err != nil || string(buf[:n]) != "rest" {
		t.Fatalf("inside a large message: %q, %v; want the rest of it", buf[:n], err)
	}
}

// TestCancelYield: an application that asked for the read turn and stops
// waiting (its context ended, or the pipe closed) withdraws the request
// when the reader has not answered yet, and otherwise takes the turn it
// was handed and gives it straight back, waking the reader; either way the
// reader goroutine reads again.
func TestCancelYield(t *testing.T) {
	newPipe := func() *Pipe {
		p := &Pipe{turnGiven: make(chan struct{}), turnBack: make(chan struct{}, 1)}
		p.rstate.Store(rsYield)
		return p
	}

	p := newPipe()
	p.cancelYield() // the reader has not looked: nothing to wait for
	if st := p.rstate.Load(); st != rsReading {
		t.Fatalf("withdrawn request: state %d, want rsReading", st)
	}
	select {
	case <-p.turnBack:
		t.Fatal("a withdrawn request woke the reader")
	default:
	}

	p = newPipe()
	handed := make(chan struct{})
	go func() { // the reader's side of handOver, just before the cancel
		p.rstate.CompareAndSwap(rsYield, rsApp)
		close(handed)
		p.turnGiven <- struct{}{}
	}()
	<-handed
	p.cancelYield()
	if st := p.rstate.Load(); st != rsReading {
		t.Fatalf("turn handed over, then cancelled: state %d, want rsReading", st)
	}
	select {
	case <-p.turnBack:
	default:
		t.Fatal("the turn went back without waking the reader")
	}
}
