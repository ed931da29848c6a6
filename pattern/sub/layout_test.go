package sub

import (
	"testing"
	"unsafe"
)

// TestLayout checks what the proto struct's comment promises: the lock
// every delivery takes does not share a cache line with the receive queue
// pointer every Recv reads, wherever the struct starts.
func TestLayout(t *testing.T) {
	var p proto
	recvqEnd := unsafe.Offsetof(p.recvq) + unsafe.Sizeof(p.recvq)
	if gap := unsafe.Offsetof(p.mu) - recvqEnd; gap < 64 {
		t.Errorf("proto.mu starts %d bytes after recvq ends, want at least 64", gap)
	}
}
