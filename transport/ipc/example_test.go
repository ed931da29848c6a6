package ipc_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
)

// An ipc URL is a path to a Unix socket, absolute after "ipc://" (three
// slashes) or relative. The listener removes the file when it closes.
func Example() {
	dir, _ := os.MkdirTemp("", "example-ipc")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "jobs.sock")

	sink, _ := pull.New()
	l, _ := sink.Listen("ipc://" + path)
	source, _ := push.New()
	defer source.Close()
	source.Dial(l.URL())

	source.SendBytes([]byte("job 1"))
	m, _ := sink.Recv()
	fmt.Println(string(m.Body))
	m.Free()

	_, err := os.Stat(path)
	fmt.Println("socket file:", err == nil)
	sink.Close()
	_, err = os.Stat(path)
	fmt.Println("after Close:", os.IsNotExist(err))
	// Output:
	// job 1
	// socket file: true
	// after Close: true
}
