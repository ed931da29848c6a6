//go:build linux

package ipc_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/ipc"
)

// Only the listener's user may connect (the socket file is 0600 before
// anyone can), and a pipe hook checks each peer's credentials as well,
// refusing any other user's process at PipeAdding.
func ExamplePermissions() {
	dir, _ := os.MkdirTemp("", "example-ipc")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "jobs.sock")

	sameUser := socket.PipeHook(func(ev socket.PipeHookEvent, p *socket.Pipe) {
		var peer socket.PeerCred
		if ev == socket.PipeAdding && (!p.ConnInfo(&peer) || peer.UID != os.Geteuid()) {
			p.Close(nil) // refused
		}
	})
	sink, _ := pull.New(sameUser)
	defer sink.Close()
	if _, err := sink.Listen("ipc://"+path, ipc.Permissions(0o600)); err != nil {
		fmt.Println(err)
		return
	}
	fi, _ := os.Stat(path)
	fmt.Println("socket file:", fi.Mode().Perm())

	source, _ := push.New()
	defer source.Close()
	source.Dial("ipc://" + path)
	source.SendBytes([]byte("job 1"))
	m, _ := sink.Recv()
	fmt.Println(string(m.Body))
	m.Free()
	// Output:
	// socket file: -rw-------
	// job 1
}
