package socket

import (
	"testing"
	"unsafe"
)

// TestMessageLayout checks what the Message struct's comments promise: the
// fields every hand-over touches share the first cache line, and the struct
// is exactly three lines long on a 64-bit system (on a 32-bit one, where
// it is smaller, only the first holds).
func TestMessageLayout(t *testing.T) {
	var m Message
	if got := unsafe.Sizeof(m); got != 192 && unsafe.Sizeof(uintptr(0)) == 8 {
		t.Errorf("Message is %d bytes, want 192", got)
	}
	hot := []struct {
		name string
		end  uintptr
	}{
		{"Header", unsafe.Offsetof(m.Header) + unsafe.Sizeof(m.Header)},
		{"Body", unsafe.Offsetof(m.Body) + unsafe.Sizeof(m.Body)},
		{"loan", unsafe.Offsetof(m.loan) + unsafe.Sizeof(m.loan)},
		{"Pipe", unsafe.Offsetof(m.Pipe) + unsafe.Sizeof(m.Pipe)},
		{"Control", unsafe.Offsetof(m.Control) + unsafe.Sizeof(m.Control)},
		{"free", unsafe.Offsetof(m.free) + unsafe.Sizeof(m.free)},
		{"class", unsafe.Offsetof(m.class) + unsafe.Sizeof(m.class)},
	}
	for _, f := range hot {
		if f.end > 64 {
			t.Errorf("Message.%s ends at byte %d, past the first cache line", f.name, f.end)
		}
	}
}

// TestRecvQueueLayout pins the receive queue's layout on a 64-bit system
// to the one its throughput was measured at: the queue is allocated on its
// own, in a size class that is a multiple of 64 bytes, so these offsets
// fix which fields share a cache line. Two fields added in session 37
// moved everything after them by 8 bytes and cost inproc 64 B about 10%;
// a change that moves them must be measured (alternated pairs of
// `mqperf inproc_thr 64`, and shm) and this test updated with the result.
func TestRecvQueueLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the layout is measured on 64-bit systems")
	}
	var q RecvQueue
	if got := unsafe.Sizeof(q); got != 800 {
		t.Errorf("RecvQueue is %d bytes, measured at 800", got)
	}
	for _, f := range []struct {
		name     string
		got, was uintptr
	}{
		{"runMax", unsafe.Offsetof(q.runMax), 104},
		{"anon", unsafe.Offsetof(q.anon), 120},
		{"pwaiting", unsafe.Offsetof(q.pwaiting), 312},
		{"mask", unsafe.Offsetof(q.mask), 392},
		{"pmu", unsafe.Offsetof(q.pmu), 520},
		{"tail", unsafe.Offsetof(q.tail), 528},
		{"cmu", unsafe.Offsetof(q.cmu), 640},
		{"head", unsafe.Offsetof(q.head), 656},
		{"runTaken", unsafe.Offsetof(q.runTaken), 688},
	} {
		if f.got != f.was {
			t.Errorf("RecvQueue.%s at byte %d, measured at %d", f.name, f.got, f.was)
		}
	}
	if unsafe.Offsetof(q.tail)/64 == unsafe.Offsetof(q.head)/64 {
		t.Error("the producers' and the consumers' positions share a cache line")
	}
}
