//go:build linux

package interop_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/ipc"
)

// The user and group the access tests run peers as (Debian's nobody).
const nobodyID = 65534

// pushForever is a libzmq PUSH (pyzmq) that dials argv[1] and sends
// "hello" every 50 ms until it is killed.
const pushForever = `
import sys, time, zmq
s = zmq.Context().socket(zmq.PUSH)
s.connect(sys.argv[1])
while True:
    s.send(b"hello")
    time.sleep(0.05)
`

// credHook returns a PipeHook that sends the PeerCred of every pipe being
// added on creds (a zero one if the pipe has none), and closes the pipe
// when refuse says so.
func credHook(creds chan<- socket.PeerCred, refuse func(socket.PeerCred) bool) socket.Option {
	return socket.PipeHook(func(ev socket.PipeHookEvent, p *socket.Pipe) {
		if ev != socket.PipeAdding {
			return
		}
		var c socket.PeerCred
		p.ConnInfo(&c)
		select {
		case creds <- c:
		default:
		}
		if refuse != nil && refuse(c) {
			p.Close(nil)
		}
	})
}

// nextCred waits for the hook's next PeerCred.
func nextCred(t *testing.T, creds <-chan socket.PeerCred) socket.PeerCred {
	t.Helper()
	select {
	case c := <-creds:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no pipe came")
	}
	return socket.PeerCred{}
}

// startPeerProc starts a peer process (as the user cred names, if not nil)
// and kills it when t ends.
func startPeerProc(t *testing.T, cred *syscall.Credential, path string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s %s said: %s", filepath.Base(path), strings.Join(args, " "), out.String())
		}
	})
	return cmd
}

// recvHello waits up to d for a "hello" on s.
func recvHello(s *socket.Socket, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := s.RecvContext(ctx)
	if err != nil {
		return err
	}
	defer m.Free()
	if string(m.Body) != "hello" {
		return errors.New("got " + string(m.Body))
	}
	return nil
}

// Real peers' credentials reach a PipeHook (nng's NNG_OPT_IPC_PEER_PID,
// _UID, _GID): nngcat dialing an mqwire listener, an mqwire dialer at
// nngcat's listener (the listener's process), libzmq dialing.
func TestIPCPeerCred(t *testing.T) {
	testutil.CheckGoroutines(t)
	nngcat := needTool(t, "nngcat")
	dir := testutil.ShortTempDir(t)
	self := socket.PeerCred{UID: os.Geteuid(), GID: os.Getegid()}

	t.Run("nngcat dials", func(t *testing.T) {
		url := "ipc://" + filepath.Join(dir, "a.sock")
		creds := make(chan socket.PeerCred, 4)
		s, _ := pull.New(credHook(creds, nil))
		defer s.Close()
		if _, err := s.Listen(url); err != nil {
			t.Fatal(err)
		}
		cmd := startPeerProc(t, nil, nngcat, "--push", "--dial", url, "--data", "hello", "--interval", "1")
		c := nextCred(t, creds)
		if want := (socket.PeerCred{PID: cmd.Process.Pid, UID: self.UID, GID: self.GID}); c != want {
			t.Fatalf("PeerCred %+v, want nngcat's %+v", c, want)
		}
		if err := recvHello(s, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("nngcat listens", func(t *testing.T) {
		url := "ipc://" + filepath.Join(dir, "b.sock")
		cmd := startPeerProc(t, nil, nngcat, "--pull", "--listen", url, "--ascii")
		creds := make(chan socket.PeerCred, 4)
		s, _ := push.New(credHook(creds, nil), socket.ReconnectInterval(10*time.Millisecond))
		defer s.Close()
		if _, err := s.Dial(url); err != nil {
			t.Fatal(err)
		}
		c := nextCred(t, creds)
		if want := (socket.PeerCred{PID: cmd.Process.Pid, UID: self.UID, GID: self.GID}); c != want {
			t.Fatalf("PeerCred %+v, want nngcat's %+v", c, want)
		}
	})

	t.Run("libzmq dials", func(t *testing.T) {
		py, err := testutil.PythonZMQ()
		if err != nil {
			testutil.NeedPeer(t, "pyzmq", err)
		}
		url := "ipc://" + filepath.Join(dir, "c.sock")
		creds := make(chan socket.PeerCred, 4)
		s, _ := pull.New(credHook(creds, nil))
		defer s.Close()
		if _, err := s.Listen(url); err != nil {
			t.Fatal(err)
		}
		cmd := startPeerProc(t, nil, py, "-c", pushForever, url)
		c := nextCred(t, creds)
		if want := (socket.PeerCred{PID: cmd.Process.Pid, UID: self.UID, GID: self.GID}); c != want {
			t.Fatalf("PeerCred %+v, want python's %+v", c, want)
		}
		if err := recvHello(s, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

// Who may connect, against real peers run as another user: the socket
// file's Permissions keep nngcat out or let it in (nng's
// NNG_OPT_IPC_PERMISSIONS), and a PipeHook refuses a libzmq peer by its
// user id, as libzmq's ZMQ_IPC_FILTER_UID did.
func TestIPCAccess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running peers as another user takes root (the README's test command runs as root)")
	}
	testutil.CheckGoroutines(t)
	nngcat := needTool(t, "nngcat")
	dir := testutil.ShortTempDir(t)
	if err := os.Chmod(dir, 0o755); err != nil { // others may reach the socket files
		t.Fatal(err)
	}
	nobody := &syscall.Credential{Uid: nobodyID, Gid: nobodyID}

	t.Run("0600 keeps others out", func(t *testing.T) {
		url := "ipc://" + filepath.Join(dir, "a.sock")
		s, _ := pull.New()
		defer s.Close()
		if _, err := s.Listen(url, ipc.Permissions(0o600)); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(nngcat, "--push", "--dial", url, "--data", "hello")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "ermission") {
			t.Fatalf("nngcat as nobody: %v, %q; want permission denied", err, out)
		}
		if err := recvHello(s, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("received: %v", err)
		}
		// The owner's peers connect.
		startPeerProc(t, nil, nngcat, "--push", "--dial", url, "--data", "hello", "--interval", "1")
		if err := recvHello(s, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("0666 lets others in", func(t *testing.T) {
		url := "ipc://" + filepath.Join(dir, "b.sock")
		creds := make(chan socket.PeerCred, 4)
		s, _ := pull.New(credHook(creds, nil))
		defer s.Close()
		if _, err := s.Listen(url, ipc.Permissions(0o666)); err != nil {
			t.Fatal(err)
		}
		cmd := startPeerProc(t, nobody, nngcat, "--push", "--dial", url, "--data", "hello", "--interval", "1")
		if c, want := nextCred(t, creds), (socket.PeerCred{PID: cmd.Process.Pid, UID: nobodyID, GID: nobodyID}); c != want {
			t.Fatalf("PeerCred %+v, want %+v", c, want)
		}
		if err := recvHello(s, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Owner", func(t *testing.T) {
		// The file given to nobody, 0600: nobody's nngcat connects.
		url := "ipc://" + filepath.Join(dir, "c.sock")
		s, _ := pull.New()
		defer s.Close()
		if _, err := s.Listen(url, ipc.Owner(nobodyID, nobodyID), ipc.Permissions(0o600)); err != nil {
			t.Fatal(err)
		}
		startPeerProc(t, nobody, nngcat, "--push", "--dial", url, "--data", "hello", "--interval", "1")
		if err := recvHello(s, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("libzmq refused by uid", func(t *testing.T) {
		py, err := testutil.PythonZMQ()
		if err != nil {
			testutil.NeedPeer(t, "pyzmq", err)
		}
		url := "ipc://" + filepath.Join(dir, "d.sock")
		creds := make(chan socket.PeerCred, 64)
		s, _ := pull.New(credHook(creds, func(c socket.PeerCred) bool { return c.UID != 0 }))
		defer s.Close()
		ev := s.Events(64)
		if _, err := s.Listen(url, ipc.Permissions(0o666)); err != nil {
			t.Fatal(err)
		}
		cmd := startPeerProc(t, nobody, py, "-c", pushForever, url)
		if c := nextCred(t, creds); c.UID != nobodyID || c.PID != cmd.Process.Pid {
			t.Fatalf("PeerCred %+v", c)
		}
		if err := recvHello(s, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a refused peer's message: %v", err)
		}
		waitRefused(t, ev)
		// root's libzmq peer is let in.
		startPeerProc(t, nil, py, "-c", pushForever, url)
		if err := recvHello(s, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

// waitRefused waits for an event saying that a pipe hook refused a pipe.
func waitRefused(t *testing.T, ev <-chan socket.Event) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-ev:
			if errors.Is(e.Err, socket.ErrPipeRefused) {
				return
			}
		case <-deadline:
			t.Fatal("no event of a refused pipe")
		}
	}
}
