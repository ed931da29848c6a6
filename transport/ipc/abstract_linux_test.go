package ipc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/socket"
)

// Sockets in Linux's abstract namespace, named as libzmq names them
// ("ipc://@name") and as nng does ("abstract://name"): the two are the
// same socket, no file appears, and a second listener is refused.
func TestAbstractNamespace(t *testing.T) {
	testutil.CheckGoroutines(t)
	name := fmt.Sprintf("mqwire-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	a, _ := pair.New()
	defer a.Close()
	l, err := a.Listen("abstract://" + name)
	if err != nil {
		t.Fatal(err)
	}
	if l.URL() != "abstract://"+name {
		t.Fatalf("URL %q", l.URL())
	}
	if _, err := os.Stat("@" + name); err == nil {
		t.Fatal("a file appeared for an abstract socket")
	}
	other, _ := pair.New()
	defer other.Close()
	if _, err := other.Listen("ipc://@" + name); !errors.Is(err, socket.ErrAddrInUse) {
		t.Fatalf("a second listener: %v, want ErrAddrInUse", err)
	}
	b, _ := pair.New()
	defer b.Close()
	if _, err := b.Dial("ipc://@" + name); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.SendContext(c, socket.NewMessageBytes([]byte("hi"))); err != nil {
		t.Fatal(err)
	}
	m, err := a.RecvContext(c)
	if err != nil || string(m.Body) != "hi" {
		t.Fatalf("got %v, %v", m, err)
	}
	// An escaped byte in an nng name.
	x, _ := pair.New()
	defer x.Close()
	if _, err := x.Listen("abstract://" + name + "%2Fx"); err != nil {
		t.Fatal(err)
	}
	y, _ := pair.New()
	defer y.Close()
	if _, err := y.Dial("ipc://@" + name + "/x"); err != nil {
		t.Fatal(err)
	}
	if err := y.SendContext(c, socket.NewMessageBytes([]byte("escaped"))); err != nil {
		t.Fatal(err)
	}
	if m, err := x.RecvContext(c); err != nil || string(m.Body) != "escaped" {
		t.Fatalf("got %v, %v", m, err)
	}
	for _, bad := range []string{"abstract://", "abstract://%zz"} {
		if _, err := a.Listen(bad); !errors.Is(err, socket.ErrBadURL) {
			t.Errorf("listen %q: %v, want ErrBadURL", bad, err)
		}
	}
}
