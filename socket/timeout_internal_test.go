package socket

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey struct{}

// TestDeadlineCtx: the pooled timeout context behaves as context.WithTimeout
// of an uncancellable parent does: the parent's values, the deadline, Done
// closed and Err set once it passes and not before; a context whose timer
// fired is not reused, one ended in time is reused as new.
func TestDeadlineCtx(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKey{}, "v")
	ctx, w := withTimeout(parent, 20*time.Millisecond)
	if !deadlineOnly(ctx) {
		t.Fatalf("an uncancellable parent got %T", ctx)
	}
	if got := ctx.Value(ctxKey{}); got != "v" {
		t.Errorf("Value: %v, want the parent's", got)
	}
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > 20*time.Millisecond {
		t.Errorf("Deadline: %v %v", dl, ok)
	}
	if ctx.Err() != nil {
		t.Errorf("Err before the deadline: %v", ctx.Err())
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the deadline")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("Err after the deadline: %v", ctx.Err())
	}
	w.End()
	if w.dc.parent == nil {
		t.Error("a context whose timer fired went back to the pool")
	}

	ctx2, w2 := withTimeout(context.Background(), time.Hour)
	w2.End()
	if w2.dc.parent != nil {
		t.Error("a context ended in time was not released")
	}
	select {
	case <-ctx2.Done():
		t.Error("a context ended in time has Done closed")
	default:
	}

	// A cancellable parent gets the standard context, cancelled with it.
	cp, cancel := context.WithCancel(context.Background())
	ctx3, w3 := withTimeout(cp, time.Hour)
	defer w3.End()
	if deadlineOnly(ctx3) {
		t.Fatal("a cancellable parent got the pooled context")
	}
	cancel()
	<-ctx3.Done()
	if !errors.Is(ctx3.Err(), context.Canceled) {
		t.Errorf("Err after the parent's cancel: %v", ctx3.Err())
	}
}
