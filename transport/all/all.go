// Package all registers every built-in transport: tcp, ipc, inproc, shm
// (shared memory, Linux only; elsewhere its URLs fail with ErrNotSupported)
// and ws (SP over WebSocket).
package all

import (
	_ "github.com/mqwire/mqwire/transport/inproc" // inproc://
	_ "github.com/mqwire/mqwire/transport/ipc"    // ipc://
	_ "github.com/mqwire/mqwire/transport/shm"    // shm:// (Linux)
	_ "github.com/mqwire/mqwire/transport/tcp"    // tcp://, tcp4://, tcp6://
	_ "github.com/mqwire/mqwire/transport/ws"     // ws://, ws4://, ws6://
)
