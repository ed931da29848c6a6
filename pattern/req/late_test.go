package req_test

import (
	"context"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// A reply that came after its Recv gave up, and that the next Send
// abandons unread, is counted as late, as one that comes after the next
// Send is.
func TestAbandonedReplyCountedLate(t *testing.T) {
	testutil.CheckGoroutines(t)
	r, _ := rep.New()
	defer r.Close()
	l, err := r.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	q, _ := req.New()
	defer q.Close()
	if _, err := q.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.SendContext(ctx, socket.NewMessageBytes([]byte("slow job"))); err != nil {
		t.Fatal(err)
	}
	m, err := r.RecvContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := q.RecvContext(short); err == nil {
		t.Fatal("a reply before the replier sent one")
	}
	if err := r.SendContext(ctx, m); err != nil {
		t.Fatal(err)
	}
	// The reply reaches the requester, which no longer waits for it.
	for q.Stats().MessagesIn == 0 {
		if ctx.Err() != nil {
			t.Fatal("the late reply never came")
		}
		time.Sleep(time.Millisecond)
	}
	if err := q.SendContext(ctx, socket.NewMessageBytes([]byte("next"))); err != nil {
		t.Fatal(err)
	}
	for q.Stats().Dropped(socket.DropLate) != 1 {
		if ctx.Err() != nil {
			t.Fatalf("%d late replies counted, want 1", q.Stats().Dropped(socket.DropLate))
		}
		time.Sleep(time.Millisecond)
	}
}
