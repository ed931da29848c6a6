//go:build unix

package ipc_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/ipc"
)

// Permissions sets the socket file's mode whatever the umask, before the
// listener accepts anyone; the file goes when the listener closes.
func TestPermissions(t *testing.T) {
	testutil.CheckGoroutines(t)
	dir := testutil.ShortTempDir(t)
	old := syscall.Umask(0o077) // would make 0666 into 0600 without the option
	defer syscall.Umask(old)
	for _, mode := range []fs.FileMode{0o600, 0o660, 0o666, 0o777} {
		path := filepath.Join(dir, "p.sock")
		s, _ := pair.New()
		l, err := s.Listen("ipc://"+path, ipc.Permissions(mode))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != mode {
			t.Errorf("Permissions(%v): the file is %v", mode, fi.Mode())
		}
		d, _ := pair.New()
		if _, err := d.Dial("ipc://" + path); err != nil {
			t.Fatal(err)
		}
		exchange(t, d, s)
		d.Close()
		l.Close()
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after Close: %v", err)
		}
		s.Close()
	}
}

// Owner changes the file's owner and group before anyone connects; it
// takes chown's privilege.
func TestOwner(t *testing.T) {
	testutil.CheckGoroutines(t)
	dir := testutil.ShortTempDir(t)
	path := filepath.Join(dir, "o.sock")
	s, _ := pair.New()
	defer s.Close()
	if os.Geteuid() != 0 {
		// Giving a file away takes privilege: Listen fails, leaving nothing.
		if _, err := s.Listen("ipc://"+path, ipc.Owner(0, -1)); err == nil {
			t.Fatal("Owner(0, -1) without privilege: Listen did not fail")
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after the failed Listen: %v", err)
		}
		t.Skip("the rest gives the file to another user, which takes root")
	}
	l, err := s.Listen("ipc://"+path, ipc.Owner(65534, 65534), ipc.Permissions(0o600))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 65534 || st.Gid != 65534 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the file is %v, %d:%d", fi.Mode(), st.Uid, st.Gid)
	}
}

// The options are checked when given, and refused where they cannot hold.
func TestAccessOptionsRefused(t *testing.T) {
	testutil.CheckGoroutines(t)
	dir := testutil.ShortTempDir(t)
	s, _ := pair.New()
	defer s.Close()
	cases := []struct {
		url  string
		opt  socket.ListenOption
		want error
	}{
		{"ipc://" + filepath.Join(dir, "a.sock"), ipc.Permissions(0o1777), socket.ErrBadOption},
		{"ipc://" + filepath.Join(dir, "a.sock"), ipc.Permissions(fs.ModeSocket | 0o600), socket.ErrBadOption},
		{"ipc://" + filepath.Join(dir, "a.sock"), ipc.Owner(-2, 0), socket.ErrBadOption},
		{"tcp://127.0.0.1:0", ipc.Permissions(0o600), socket.ErrOptionNotApplicable},
		{"inproc://access", ipc.Owner(0, 0), socket.ErrOptionNotApplicable},
	}
	if runtime.GOOS == "linux" { // names in the abstract namespace have no file
		cases = append(cases, []struct {
			url  string
			opt  socket.ListenOption
			want error
		}{
			{"abstract://mqwire-access", ipc.Permissions(0o600), socket.ErrOptionNotApplicable},
			{"ipc://@mqwire-access", ipc.Permissions(0o600), socket.ErrOptionNotApplicable},
		}...)
	}
	for _, c := range cases {
		if _, err := s.Listen(c.url, c.opt); !errors.Is(err, c.want) {
			t.Errorf("Listen(%s, %v): %v, want %v", c.url, c.opt, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused Listen left a file: %v", err)
	}
	// With AcceptFrom nothing is bound: the option cannot hold.
	tl := &nullListener{closed: make(chan struct{})}
	if _, err := s.Listen("ipc://"+filepath.Join(dir, "b.sock"), socket.AcceptFrom(tl), ipc.Permissions(0o600)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("with AcceptFrom: %v", err)
	}
	select {
	case <-tl.closed:
	default:
		t.Error("the refused Listen did not close AcceptFrom's listener")
	}
}

// Each end of an ipc pipe tells the other process's credentials: here
// both are this process.
func TestPeerCred(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peer credentials are read on Linux only")
	}
	testutil.CheckGoroutines(t)
	path := filepath.Join(testutil.ShortTempDir(t), "c.sock")
	creds := make(chan socket.PeerCred, 2)
	hook := socket.PipeHook(func(ev socket.PipeHookEvent, p *socket.Pipe) {
		if ev != socket.PipeAdding {
			return
		}
		var c socket.PeerCred
		if !p.ConnInfo(&c) {
			t.Errorf("a pipe (dialed %v) has no PeerCred", p.Dialed())
		}
		var other struct{}
		if p.ConnInfo(&other) {
			t.Error("ConnInfo filled a type it does not know")
		}
		creds <- c
	})
	s, _ := pair.New(hook)
	defer s.Close()
	if _, err := s.Listen("ipc://" + path); err != nil {
		t.Fatal(err)
	}
	d, _ := pair.New(hook)
	defer d.Close()
	if _, err := d.Dial("ipc://" + path); err != nil {
		t.Fatal(err)
	}
	want := socket.PeerCred{PID: os.Getpid(), UID: os.Geteuid(), GID: os.Getegid()}
	for range 2 {
		select {
		case c := <-creds:
			if c != want {
				t.Errorf("PeerCred %+v, want %+v", c, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no pipe")
		}
	}
}

// exchange sends a message from d to s and waits for it.
func exchange(t *testing.T, d, s *socket.Socket) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.SendContext(ctx, socket.NewMessageBytes([]byte("hi"))); err != nil {
		t.Fatal(err)
	}
	if m, err := s.RecvContext(ctx); err != nil || string(m.Body) != "hi" {
		t.Fatalf("got %v, %v", m, err)
	}
}

// nullListener is an AcceptFrom listener that accepts nothing.
type nullListener struct{ closed chan struct{} }

func (l *nullListener) Accept() (socket.Conn, error) {
	<-l.closed
	return socket.Conn{}, net.ErrClosed
}
func (l *nullListener) Close() error {
	select {
	case <-l.closed:
	default:
		close(l.closed)
	}
	return nil
}
func (l *nullListener) URL() string { return "ipc://null" }
