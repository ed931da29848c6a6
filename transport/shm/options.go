package shm

import (
	"io/fs"

	"github.com/mqwire/mqwire/internal/sockfile"
	"github.com/mqwire/mqwire/socket"
)

// Permissions sets the permission bits of the Unix socket file a shm://
// listener binds, through which its peers set their connections up: 0600
// lets only the listener's user connect, 0660 its group too. They are set
// before the listener accepts anyone, whatever the process's umask. Only
// permission bits (0 to 0777) are taken. (The shared memory itself is
// passed from one end to the other over that socket: it is not in the
// file system to be opened by others.)
func Permissions(mode fs.FileMode) socket.ListenOption {
	return sockfile.PermissionsOption("shm.Permissions", []string{"shm"}, mode)
}

// Owner sets the owner and group of a shm:// listener's socket file
// before it accepts anyone; -1 leaves either as it is. Changing them takes
// the privilege chown takes; without it Listen fails.
func Owner(uid, gid int) socket.ListenOption {
	return sockfile.OwnerOption("shm.Owner", []string{"shm"}, uid, gid)
}
