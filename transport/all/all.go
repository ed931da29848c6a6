// Package all registers every built-in transport: tcp, ipc, inproc and shm
// (shared memory, Linux only; elsewhere its URLs fail with ErrNotSupported).
package all

import (
	_ "github.com/mqwire/mqwire/transport/inproc" // inproc://
	_ "github.com/mqwire/mqwire/transport/ipc"    // ipc://
	_ "github.com/mqwire/mqwire/transport/shm"    // shm:// (Linux)
	_ "github.com/mqwire/mqwire/transport/tcp"    // tcp://, tcp4://, tcp6://
)
