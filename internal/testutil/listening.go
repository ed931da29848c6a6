package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ListeningIn reads Linux's socket tables and reports whether the process
// pid (any process, if pid is 0) has a socket listening at addr: a TCP
// port on 127.0.0.1 (network "tcp", addr "127.0.0.1:port") or a Unix
// socket path (network "unix").
// known is false when the tables cannot be read (not Linux); then ready
// says nothing. Tests use it to wait for a peer process to listen without
// connecting to it (a connection that closes in its handshake makes nng
// back off), and to tell the peer's socket from another process's on a
// port picked in advance.
//
// When pid's descriptors cannot be read for lack of permission, any
// listener at addr counts as pid's. A process that has ended holds none.
func ListeningIn(pid int, network, addr string) (ready, known bool) {
	file, match := "/proc/net/unix", func(fs []string) (inode string, ok bool) {
		// Num RefCount Protocol Flags Type St Inode Path; flag 0x10000
		// marks a listening socket.
		ok = len(fs) > 7 && fs[3] == "00010000" && filepath.Clean(fs[7]) == filepath.Clean(addr)
		if ok {
			inode = fs[6]
		}
		return inode, ok
	}
	if network == "tcp" {
		host, p, _ := strings.Cut(addr, ":")
		port, err := strconv.Atoi(p)
		if err != nil || host != "127.0.0.1" {
			return false, false
		}
		local := fmt.Sprintf("0100007F:%04X", port)
		file, match = "/proc/net/tcp", func(fs []string) (inode string, ok bool) {
			// sl local rem st ... inode; state 0A is LISTEN.
			ok = len(fs) > 9 && fs[1] == local && fs[3] == "0A"
			if ok {
				inode = fs[9]
			}
			return inode, ok
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return false, false
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		if inode, ok := match(strings.Fields(line)); ok && (pid == 0 || holds(pid, inode)) {
			return true, true
		}
	}
	return false, true
}

// holds reports whether process pid has the socket with the given inode
// open.
func holds(pid int, inode string) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return os.IsPermission(err)
	}
	want := "socket:[" + inode + "]"
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && l == want {
			return true
		}
	}
	return false
}
