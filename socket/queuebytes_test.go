package socket_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

// TestSendQueueBytes checks the byte bound of a stream pipe's send queue: a
// peer that reads nothing stops a push after about SendQueueBytes of large
// messages, far below its SendHWM, and a sender waiting for room goes on
// once the peer reads.
func TestSendQueueBytes(t *testing.T) {
	testutil.CheckGoroutines(t)
	const size = 256 << 10
	fill := func(t *testing.T, opts ...socket.Option) (s *socket.Socket, peer *streamtest.Peer, sent int) {
		s = must(push.New(append(opts, socket.SendHWM(50), socket.SendTimeout(200*time.Millisecond), socket.Linger(0))...))
		url := streamtest.URL(false)
		must(s.Listen(url))
		peer = must(streamtest.Connect(url))
		if _, err := peer.Handshake(sp.ProtoPull0); err != nil {
			t.Fatal(err)
		}
		waitPipes(t, s, 1)
		for sent < 60 {
			m := socket.NewMessage(size)
			if err := s.Send(m); err != nil {
				m.Free()
				if !errors.Is(err, socket.ErrTimeout) {
					t.Fatal(err)
				}
				break
			}
			sent++
		}
		return s, peer, sent
	}
	t.Run("bounded", func(t *testing.T) {
		s, peer, sent := fill(t, socket.SendQueueBytes(1<<20))
		defer s.Close()
		defer peer.Close()
		// The writer holds what it took before the peer stopped reading;
		// the queue holds 1 MiB more: 4 messages.
		if sent < 4 || sent > 12 {
			t.Errorf("%d messages of 256 KiB queued with a 1 MiB bound", sent)
		}
		done := make(chan error, 1)
		go func() {
			m := socket.NewMessage(size)
			err := s.SendContext(testCtx(t), m)
			if err != nil {
				m.Free()
			}
			done <- err
		}()
		for range sent + 1 {
			if _, err := peer.ReadMsg(1 << 20); err != nil {
				t.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			t.Errorf("a sender waiting for room: %v", err)
		}
	})
	t.Run("unbounded", func(t *testing.T) {
		s, peer, sent := fill(t, socket.SendQueueBytes(0))
		defer s.Close()
		defer peer.Close()
		if sent < 50 {
			t.Errorf("%d messages queued with no byte bound and SendHWM 50", sent)
		}
	})
	t.Run("checked", func(t *testing.T) {
		s := must(push.New())
		defer s.Close()
		if err := s.SetOption(socket.SendQueueBytes(-1)); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("SendQueueBytes(-1): %v", err)
		}
	})
}
