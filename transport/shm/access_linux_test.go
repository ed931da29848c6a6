package shm_test

import (
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/shm"
)

// A shm:// listener's set-up socket takes Permissions before anyone
// connects, and a pipe tells the peer process's credentials: here another
// process, this test binary run as the peer.
func TestAccessAndPeerCred(t *testing.T) {
	testutil.CheckGoroutines(t)
	url := shmURL(t)
	creds := make(chan socket.PeerCred, 4)
	s := must(pull.New(socket.PipeHook(func(ev socket.PipeHookEvent, p *socket.Pipe) {
		var c socket.PeerCred
		if ev == socket.PipeAdding && p.ConnInfo(&c) {
			creds <- c
		}
	})))
	defer s.Close()
	if _, err := s.Listen(url, shm.Permissions(0o640)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(strings.TrimPrefix(url, "shm://"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o640 {
		t.Fatalf("the socket file is %v", fi.Mode())
	}
	p := startPeer(t, "push", url, "sp", 1)
	select {
	case c := <-creds:
		want := socket.PeerCred{PID: p.cmd.Process.Pid, UID: os.Geteuid(), GID: os.Getegid()}
		if c != want {
			t.Fatalf("PeerCred %+v, want %+v", c, want)
		}
	case <-time.After(timeout):
		t.Fatal("no pipe")
	}
	m, err := s.RecvContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	m.Free()
	if _, err := s.Listen(shmURL(t), shm.Permissions(0o4600)); err == nil {
		t.Fatal("Permissions(0o4600) taken")
	}
}
