package zmq4

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	gozmq4 "github.com/go-zeromq/zmq4"
)

// TestQueueAsZmq4 runs the same random pushes, peeks, pops and inits on
// this package's Queue and on zmq4's, and checks that they agree after
// every step: the length, and the front message's frames.
func TestQueueAsZmq4(t *testing.T) {
	rng := rand.New(rand.NewPCG(38, 1))
	ours, theirs := NewQueue(), gozmq4.NewQueue()
	for step := range 200_000 {
		switch op := rng.IntN(1000); {
		case op < 550: // pushes outnumber pops, so the queue grows and wraps
			frames := [][]byte{[]byte(fmt.Sprint(step))}
			if step%7 == 0 {
				frames = append(frames, nil, []byte("x"))
			}
			ours.Push(NewMsgFrom(frames...))
			theirs.Push(gozmq4.NewMsgFrom(frames...))
		case op < 999:
			if theirs.Len() > 0 {
				ours.Pop()
				theirs.Pop()
			}
		default:
			ours.Init()
			theirs.Init()
		}
		if ours.Len() != theirs.Len() {
			t.Fatalf("step %d: Len %d, zmq4's %d", step, ours.Len(), theirs.Len())
		}
		m, ok := ours.Peek()
		want, wantOK := theirs.Peek()
		if ok != wantOK {
			t.Fatalf("step %d: Peek reports %v, zmq4's %v", step, ok, wantOK)
		}
		if !slices.EqualFunc(m.Frames, want.Frames, bytes.Equal) {
			t.Fatalf("step %d: front message %q, zmq4's %q", step, m.Frames, want.Frames)
		}
	}
}

// TestQueuePopEmpty checks that popping an empty queue panics, as zmq4's
// does, and that Peek on one reports false.
func TestQueuePopEmpty(t *testing.T) {
	q := NewQueue()
	if _, ok := q.Peek(); ok {
		t.Error("Peek on an empty queue reported a message")
	}
	defer func() {
		if recover() == nil {
			t.Error("Pop on an empty queue did not panic")
		}
	}()
	q.Pop()
}

// TestQueueNoAllocs checks that a queue that has grown to its length
// pushes and pops without allocating.
func TestQueueNoAllocs(t *testing.T) {
	q := NewQueue()
	m := NewMsgString("hello")
	for range 100 {
		q.Push(m)
	}
	if n := testing.AllocsPerRun(1000, func() {
		q.Push(m)
		q.Pop()
	}); n != 0 {
		t.Errorf("%.1f allocations a push and pop, want 0", n)
	}
}
