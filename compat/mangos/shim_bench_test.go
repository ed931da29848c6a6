package mangos_test

import (
	"testing"

	mg "go.nanomsg.org/mangos/v3"
	mgpull "go.nanomsg.org/mangos/v3/protocol/pull"
	mgpush "go.nanomsg.org/mangos/v3/protocol/push"

	mw "github.com/mqwire/mqwire/compat/mangos"
	mwpull "github.com/mqwire/mqwire/compat/mangos/protocol/pull"
	mwpush "github.com/mqwire/mqwire/compat/mangos/protocol/push"
	"github.com/mqwire/mqwire/internal/testutil"
)

// msgSocket is what the push/pull benchmark needs of either library's
// socket, M being its *Message.
type msgSocket[M any] interface {
	NewListener(addr string, options map[string]interface{}) (listenerOf, error)
	Dial(addr string) error
	SendMsg(m M) error
	RecvMsg() (M, error)
	Send(b []byte) error
	Recv() ([]byte, error)
	Close() error
}

// listenerOf is what both libraries' listeners have.
type listenerOf interface {
	Listen() error
	Address() string
}

// BenchmarkShimPushPull streams 64-byte messages push to pull with the
// same program on mangos v3 and on the shim, over tcp and ipc: what a
// mangos user gains by changing the imports. Messages come from each
// library's NewMessage and go back with Free, as careful mangos code does.
func BenchmarkShimPushPull(b *testing.B) {
	for _, tr := range []string{"tcp", "ipc"} {
		b.Run("mangos/"+tr, func(b *testing.B) {
			tx, rx := mustMG(b, mgpush.NewSocket), mustMG(b, mgpull.NewSocket)
			benchPushPull(b, tr, mgAdapter{tx}, mgAdapter{rx},
				func() *mg.Message { m := mg.NewMessage(64); m.Body = m.Body[:64]; return m },
				(*mg.Message).Free)
		})
		b.Run("shim/"+tr, func(b *testing.B) {
			tx, rx := mustMW(b, mwpush.NewSocket), mustMW(b, mwpull.NewSocket)
			benchPushPull(b, tr, mwAdapter{tx}, mwAdapter{rx},
				func() *mw.Message { m := mw.NewMessage(64); m.Body = m.Body[:64]; return m },
				(*mw.Message).Free)
		})
		// Send and Recv of byte slices, as simpler mangos code does.
		b.Run("mangos-bytes/"+tr, func(b *testing.B) {
			tx, rx := mustMG(b, mgpush.NewSocket), mustMG(b, mgpull.NewSocket)
			benchPushPull[*mg.Message](b, tr, mgAdapter{tx}, mgAdapter{rx}, nil, nil)
		})
		b.Run("shim-bytes/"+tr, func(b *testing.B) {
			tx, rx := mustMW(b, mwpush.NewSocket), mustMW(b, mwpull.NewSocket)
			benchPushPull[*mw.Message](b, tr, mwAdapter{tx}, mwAdapter{rx}, nil, nil)
		})
	}
}

// benchPushPull streams b.N messages from tx to rx: made by newMsg and
// given back by free, or, with newMsg nil, as byte slices (Send, Recv).
func benchPushPull[M any](b *testing.B, tr string, tx, rx msgSocket[M], newMsg func() M, free func(M)) {
	l, err := rx.NewListener(testutil.URL(b, tr), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Listen(); err != nil {
		b.Fatal(err)
	}
	if err := tx.Dial(l.Address()); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64)
	b.ReportAllocs()
	b.ResetTimer()
	sent := make(chan error, 1)
	go func() {
		body := make([]byte, 64)
		for range b.N {
			var err error
			if newMsg != nil {
				err = tx.SendMsg(newMsg())
			} else {
				err = tx.Send(body)
			}
			if err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for i := range b.N {
		if newMsg == nil {
			if _, err := rx.Recv(); err != nil {
				b.Fatalf("receive %d: %v", i, err)
			}
			continue
		}
		m, err := rx.RecvMsg()
		if err != nil {
			b.Fatalf("receive %d: %v", i, err)
		}
		free(m)
	}
	if err := <-sent; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	tx.Close()
	rx.Close()
}

func mustMG(b *testing.B, f func() (mg.Socket, error)) mg.Socket {
	s, err := f()
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func mustMW(b *testing.B, f func() (mw.Socket, error)) mw.Socket {
	s, err := f()
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// The adapters give both sockets NewListener with one result type.
type mgAdapter struct{ mg.Socket }

func (a mgAdapter) NewListener(addr string, o map[string]interface{}) (listenerOf, error) {
	return a.Socket.NewListener(addr, o)
}

type mwAdapter struct{ mw.Socket }

func (a mwAdapter) NewListener(addr string, o map[string]interface{}) (listenerOf, error) {
	return a.Socket.NewListener(addr, o)
}
