package ipc

import (
	"io/fs"

	"github.com/mqwire/mqwire/internal/sockfile"
	"github.com/mqwire/mqwire/socket"
)

// Permissions sets the permission bits of the socket file an ipc://
// listener binds (nng's NNG_OPT_IPC_PERMISSIONS; mangos's
// OptionIpcSocketPermissions): 0600 lets only the listener's user connect,
// 0660 its group too, 0666 anyone (connecting takes write permission).
// They are set before the listener accepts anyone, whatever the process's
// umask. Only permission bits (0 to 0777) are taken; the option does not
// apply to abstract names, which have no file, and fails on systems where
// a socket file's mode cannot be set (Windows).
func Permissions(mode fs.FileMode) socket.ListenOption {
	return sockfile.PermissionsOption("ipc.Permissions", []string{"ipc"}, mode)
}

// Owner sets the owner and group of the socket file an ipc:// listener
// binds (mangos's OptionIpcSocketOwner and OptionIpcSocketGroup), before it
// accepts anyone; -1 leaves either as it is. Changing them takes the
// privilege chown takes; without it Listen fails.
func Owner(uid, gid int) socket.ListenOption {
	return sockfile.OwnerOption("ipc.Owner", []string{"ipc"}, uid, gid)
}
