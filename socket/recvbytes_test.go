package socket_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

// rawPeer listens s on a fresh streamtest address and returns a raw peer
// connected to it that has made the SP handshake as proto, closed when t
// ends.
func rawPeer(t *testing.T, s *socket.Socket, proto uint16) *streamtest.Peer {
	t.Helper()
	url := streamtest.URL(false)
	must(s.Listen(url))
	peer := must(streamtest.Connect(url))
	t.Cleanup(func() { peer.Close() })
	if _, err := peer.Handshake(proto); err != nil {
		t.Fatal(err)
	}
	return peer
}

// writeUntilStalled has a raw peer write count messages, message i of
// size(i) bytes filled with i, on a goroutine, and returns how many it had
// written once it stalled (no progress for 300 ms) or finished, and the
// channel its end comes on. The streamtest connection holds nothing: a
// write returns once the socket has read it.
func writeUntilStalled(t *testing.T, peer *streamtest.Peer, count int, size func(int) int) (int, <-chan error) {
	t.Helper()
	var written atomic.Int32
	done := make(chan error, 1)
	go func() {
		for i := range count {
			if err := peer.WriteMsg(bytes.Repeat([]byte{byte(i)}, size(i))); err != nil {
				done <- err
				return
			}
			written.Add(1)
		}
		done <- nil
	}()
	last, since := int32(-1), time.Now()
	for {
		n := written.Load()
		if n == int32(count) || n == last && time.Since(since) > 300*time.Millisecond {
			return int(n), done
		}
		if n != last {
			last, since = n, time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRecvQueueBytes checks the byte bound of a stream pipe's share of the
// receive queue: a peer sending large messages to a socket nobody reads
// stops after about RecvQueueBytes of them, far below RecvHWM (before the
// bound, RecvHWM of MaxRecvSize each: a gigabyte per connection at the
// defaults), and everything arrives, in order, once the application reads.
func TestRecvQueueBytes(t *testing.T) {
	testutil.CheckGoroutines(t)
	const size, count = 256 << 10, 40
	run := func(t *testing.T, opts ...socket.Option) int {
		s := must(pull.New(append(opts, socket.RecvHWM(100), socket.MaxRecvSize(0))...))
		defer s.Close()
		peer := rawPeer(t, s, sp.ProtoPush0)
		written, done := writeUntilStalled(t, peer, count, func(int) int { return size })
		for i := range count {
			m := must(s.RecvContext(testCtx(t)))
			if len(m.Body) != size || m.Body[0] != byte(i) || m.Body[size-1] != byte(i) {
				t.Fatalf("message %d: %d bytes of %d", i, len(m.Body), m.Body[0])
			}
			m.Free()
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return written
	}
	t.Run("bounded", func(t *testing.T) {
		// 1 MiB queued (4 messages) and the one the reader holds.
		if n := run(t, socket.RecvQueueBytes(1<<20)); n < 4 || n > 6 {
			t.Errorf("the peer wrote %d messages of 256 KiB to a socket with a 1 MiB bound", n)
		}
	})
	t.Run("default", func(t *testing.T) {
		if n := run(t); n < 16 || n > 18 {
			t.Errorf("the peer wrote %d messages of 256 KiB under the default bound (4 MiB)", n)
		}
	})
	t.Run("below one message", func(t *testing.T) {
		// An empty share takes one message however large.
		if n := run(t, socket.RecvQueueBytes(1000)); n < 1 || n > 3 {
			t.Errorf("the peer wrote %d messages of 256 KiB to a socket with a 1000-byte bound", n)
		}
	})
	t.Run("unbounded", func(t *testing.T) {
		if n := run(t, socket.RecvQueueBytes(0)); n != count {
			t.Errorf("the peer wrote %d of %d messages with no byte bound and RecvHWM 100", n, count)
		}
	})
	t.Run("checked", func(t *testing.T) {
		s := must(pull.New())
		defer s.Close()
		if err := s.SetOption(socket.RecvQueueBytes(-1)); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("RecvQueueBytes(-1): %v", err)
		}
		must(s.Listen(streamtest.URL(false)))
		if err := s.SetOption(socket.RecvQueueBytes(1 << 20)); !errors.Is(err, socket.ErrBadState) {
			t.Errorf("RecvQueueBytes after Listen: %v", err)
		}
	})
}

// TestRecvQueueBytesPreferNew: an SP subscriber that keeps the newest
// messages (sub.PreferNew, the default) makes room under the byte bound by
// dropping as many of its oldest as a new message needs, so a slow reader
// gets the newest, and the publisher is never held up. 40 messages of 10
// KiB, then one of 250 KiB (taken, since what is queued before it is below
// the bound), then five of 10 KiB: the first of those needs every small
// one before the large one gone.
func TestRecvQueueBytesPreferNew(t *testing.T) {
	testutil.CheckGoroutines(t)
	const large, count = 40, 46
	size := func(i int) int {
		if i == large {
			return 250 << 10
		}
		return 10 << 10
	}
	s := must(sub.New(sub.Subscribe(nil), socket.RecvQueueBytes(300<<10), socket.MaxRecvSize(0)))
	defer s.Close()
	peer := rawPeer(t, s, sp.ProtoPub0)
	written, done := writeUntilStalled(t, peer, count, size)
	if written != count {
		t.Fatalf("the publisher was held up after %d of %d messages", written, count)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got []int
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		m, err := s.RecvContext(ctx)
		cancel()
		if err != nil {
			break
		}
		got = append(got, int(m.Body[0]))
		m.Free()
	}
	if want := []int{40, 41, 42, 43, 44, 45}; !slices.Equal(got, want) {
		t.Errorf("a slow subscriber got %v, want %v", got, want)
	}
}
