//go:build linux

package mangos_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	mgrep "go.nanomsg.org/mangos/v3/protocol/rep"
	mgreq "go.nanomsg.org/mangos/v3/protocol/req"
	mgipc "go.nanomsg.org/mangos/v3/transport/ipc"

	mw "github.com/mqwire/mqwire/compat/mangos"
	mwrep "github.com/mqwire/mqwire/compat/mangos/protocol/rep"
	mwipc "github.com/mqwire/mqwire/compat/mangos/transport/ipc"
	"github.com/mqwire/mqwire/internal/testutil"
)

// An ipc:// listener's socket file options make the file what mangos's
// make it (the same mode for the same value), a bad value fails with
// ErrBadValue, and the options are an ipc:// listener's only.
func TestShimIPCSocketOptions(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, o := range [][2]string{
		{mwipc.OptionIpcSocketPermissions, mgipc.OptionIpcSocketPermissions},
		{mwipc.OptionIpcSocketOwner, mgipc.OptionIpcSocketOwner},
		{mwipc.OptionIpcSocketGroup, mgipc.OptionIpcSocketGroup},
		{mwipc.OptionSecurityDescriptor, mgipc.OptionSecurityDescriptor},
		{mwipc.OptionInputBufferSize, mgipc.OptionInputBufferSize},
		{mwipc.OptionOutputBufferSize, mgipc.OptionOutputBufferSize},
	} {
		if o[0] != o[1] {
			t.Errorf("option %q, mangos's is %q", o[0], o[1])
		}
	}
	dir := testutil.ShortTempDir(t)
	for i, v := range []interface{}{uint32(0o600), fs.FileMode(0o640), uint32(0o666)} {
		mine := filepath.Join(dir, "mw.sock")
		s := shim(t, mwrep.NewSocket)
		l, err := s.NewListener("ipc://"+mine, map[string]interface{}{mwipc.OptionIpcSocketPermissions: v})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Listen(); err != nil {
			t.Fatal(err)
		}
		theirs := filepath.Join(dir, "mg.sock")
		m, err := mgrep.NewSocket()
		if err != nil {
			t.Fatal(err)
		}
		if err := m.ListenOptions("ipc://"+theirs, map[string]interface{}{mgipc.OptionIpcSocketPermissions: v}); err != nil {
			t.Fatal(err)
		}
		a, b := mode(t, mine), mode(t, theirs)
		if a != b {
			t.Errorf("%d: %v (%T): the shim's file is %v, mangos's %v", i, v, v, a, b)
		}
		l.Close()
		m.Close()
		s.Close()
	}
	s := shim(t, mwrep.NewSocket)
	l, err := s.NewListener("ipc://"+filepath.Join(dir, "x.sock"), nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name  string
		value interface{}
		want  error
	}{
		{mwipc.OptionIpcSocketPermissions, uint32(0o4600), mw.ErrBadValue},
		{mwipc.OptionIpcSocketPermissions, 0o600, mw.ErrBadValue}, // an int: mangos takes uint32 or FileMode
		{mwipc.OptionIpcSocketOwner, "root", mw.ErrBadValue},
		{mwipc.OptionIpcSocketGroup, -1, mw.ErrBadValue},
		{mwipc.OptionSecurityDescriptor, "D:", mw.ErrBadOption},
		{mwipc.OptionInputBufferSize, 4096, mw.ErrBadOption},  // Windows named pipes'
		{mwipc.OptionOutputBufferSize, 4096, mw.ErrBadOption}, // likewise
	}
	for _, c := range bad {
		if err := l.SetOption(c.name, c.value); err != c.want {
			t.Errorf("SetOption(%s, %v): %v, want %v", c.name, c.value, err, c.want)
		}
	}
	tl, err := s.NewListener("tcp://127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.SetOption(mwipc.OptionIpcSocketPermissions, uint32(0o600)); err != mw.ErrBadOption {
		t.Errorf("on a tcp listener: %v, want ErrBadOption", err)
	}
}

// With the socket file given away (OptionIpcSocketOwner and Group) and
// 0600, the file is the other user's; that takes root.
func TestShimIPCSocketOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user takes root")
	}
	testutil.CheckGoroutines(t)
	path := filepath.Join(testutil.ShortTempDir(t), "o.sock")
	s := shim(t, mwrep.NewSocket)
	if err := s.ListenOptions("ipc://"+path, map[string]interface{}{
		mwipc.OptionIpcSocketOwner: 65534, mwipc.OptionIpcSocketGroup: 65534, mwipc.OptionIpcSocketPermissions: uint32(0o600),
	}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if uid, gid := owner(fi); uid != 65534 || gid != 65534 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the file is %v, %d:%d", fi.Mode(), uid, gid)
	}
}

// A pipe tells the peer's process, user and group ids over ipc, as
// mangos's do on Linux; a mangos REQ in this process is the peer here.
func TestShimPeerCred(t *testing.T) {
	testutil.CheckGoroutines(t)
	path := filepath.Join(testutil.ShortTempDir(t), "c.sock")
	s := shim(t, mwrep.NewSocket)
	got := make(chan [3]interface{}, 1)
	s.SetPipeEventHook(func(ev mw.PipeEvent, p mw.Pipe) {
		if ev != mw.PipeEventAttached {
			return
		}
		var v [3]interface{}
		for i, name := range []string{mw.OptionPeerPID, mw.OptionPeerUID, mw.OptionPeerGID} {
			v[i], _ = p.GetOption(name)
		}
		if _, err := p.GetOption(mw.OptionPeerZone); err != mw.ErrBadOption {
			t.Errorf("OptionPeerZone: %v", err)
		}
		got <- v
	})
	if err := s.Listen("ipc://" + path); err != nil {
		t.Fatal(err)
	}
	c, err := mgreq.NewSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Dial("ipc://" + path); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if want := [3]interface{}{os.Getpid(), os.Geteuid(), os.Getegid()}; v != want {
			t.Fatalf("the pipe told %v, want %v", v, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no pipe")
	}
}

// mode returns the mode of the file at path.
func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

// owner returns a file's owner and group.
func owner(fi fs.FileInfo) (uid, gid int) {
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}
