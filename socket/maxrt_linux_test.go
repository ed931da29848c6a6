package socket_test

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

// A peer that stops reading, its window closed, costs its connection
// after TCPMaxRetransmitTime (the kernel's zero-window probes count), and
// the dialer connects again; without the option the connection stays.
func TestTCPMaxRetransmitTime(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, limit := range []time.Duration{0, 400 * time.Millisecond} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, 4)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					close(accepted)
					return
				}
				// A pull0 peer that answers the SP header, then reads no more.
				c.(*net.TCPConn).SetReadBuffer(8 << 10)
				var hdr [8]byte
				io.ReadFull(c, hdr[:])
				c.Write(sp.AppendHeader(nil, sp.ProtoPull0))
				accepted <- c
			}
		}()
		opts := []socket.Option{socket.SendBuffer(8 << 10), socket.ReconnectInterval(10 * time.Millisecond), socket.Linger(0)}
		if limit > 0 {
			opts = append(opts, socket.TCPMaxRetransmitTime(limit))
		}
		s := must(push.New(opts...))
		ev := s.Events(256)
		must(s.Dial("tcp://" + ln.Addr().String()))
		first := <-accepted
		// Fill the peer's window and our send buffer.
		stop := make(chan struct{})
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			body := make([]byte, 4<<10)
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				s.SendContext(ctx, socket.NewMessageBytes(body))
				cancel()
			}
		}()
		var lost error
		// Without the option, 2 s show that nothing drops the connection
		// (the kernel alone waits many minutes); with it, the loss comes
		// after the zero-window probes' backoff passes the limit (200,
		// 400, 800 ms...), later under load: up to 10 s.
		wait := 2 * time.Second
		if limit > 0 {
			wait = 10 * time.Second
		}
		deadline := time.After(wait)
	wait:
		for {
			select {
			case e := <-ev:
				if e.Type == socket.EventDisconnected {
					lost = e.Err
					break wait
				}
			case <-deadline:
				break wait
			}
		}
		close(stop)
		<-sent
		if limit == 0 {
			if lost != nil {
				t.Errorf("without the option the connection was lost: %v", lost)
			}
		} else {
			if !errors.Is(lost, syscall.ETIMEDOUT) {
				t.Errorf("with TCPMaxRetransmitTime(%v): lost with %v, want ETIMEDOUT", limit, lost)
			}
			// The dialer connects again.
			select {
			case c := <-accepted:
				c.Close()
			case <-time.After(5 * time.Second):
				t.Error("no second connection")
			}
		}
		s.Close()
		first.Close()
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	}
}
