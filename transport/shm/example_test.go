//go:build linux

package shm_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// A pipeline over shared memory. The URL's path is a Unix socket used only
// to set the connection up.
func Example() {
	dir, _ := os.MkdirTemp("", "example-shm")
	defer os.RemoveAll(dir)
	url := "shm://" + filepath.Join(dir, "pipeline.sock")

	sink, _ := pull.New()
	defer sink.Close()
	sink.Listen(url)
	source, _ := push.New()
	defer source.Close()
	source.Dial(url)

	source.SendBytes([]byte("small"))
	m, _ := sink.Recv()
	fmt.Println(len(m.Body), m.Loaned())
	m.Free()

	// A large body arrives without a copy: it is lent from the shared memory.
	source.Send(socket.NewMessage(256 << 10))
	m, _ = sink.Recv()
	fmt.Println(len(m.Body), m.Loaned())
	m.Detach() // copy it out, to keep it and give the memory back to the sender
	fmt.Println(len(m.Body), m.Loaned())
	m.Free()
	// Output:
	// 5 false
	// 262144 true
	// 262144 false
}
