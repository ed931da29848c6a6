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
