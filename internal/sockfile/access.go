package sockfile

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/mqwire/mqwire/socket"
)

// Access is who may connect to a listener's socket file: its permission
// bits and its owner, set between bind and listen, so that no peer connects
// before they hold (connecting to a socket file takes write permission on
// it). The zero Access leaves the file as the process's umask and ids make
// it.
type Access struct {
	// Perm, when SetPerm, is the file's permission bits (0600: the
	// listener's user alone).
	Perm    fs.FileMode
	SetPerm bool
	// UID and GID, when SetOwner, are the file's owner and group; -1
	// leaves either as it is. Changing them takes the privilege chown
	// takes.
	UID, GID int
	SetOwner bool
}

// permKey and ownerKey carry PermissionsOption's and OwnerOption's
// values to the transport's ListenContext.
type (
	permKey  struct{}
	ownerKey struct{}
)

// PermissionsOption is a transport's Permissions listen option, named
// name, for its schemes: the socket file's permission bits (0 to 0777).
func PermissionsOption(name string, schemes []string, mode fs.FileMode) socket.ListenOption {
	var err error
	if mode&^fs.ModePerm != 0 {
		err = fmt.Errorf("%w: %s(%v): permission bits only (0 to 0777)", socket.ErrBadOption, name, mode)
	}
	return socket.TransportListenOption(name, schemes, permKey{}, mode, err)
}

// OwnerOption is a transport's Owner listen option, named name, for its
// schemes: the socket file's owner and group (-1 keeps either).
func OwnerOption(name string, schemes []string, uid, gid int) socket.ListenOption {
	var err error
	if uid < -1 || gid < -1 {
		err = fmt.Errorf("%w: %s(%d, %d): ids are 0 or more, or -1 to keep", socket.ErrBadOption, name, uid, gid)
	}
	return socket.TransportListenOption(name, schemes, ownerKey{}, [2]int{uid, gid}, err)
}

// AccessIn returns the access that PermissionsOption and OwnerOption put
// in a listener's context.
func AccessIn(ctx context.Context) Access {
	var a Access
	if m, ok := ctx.Value(permKey{}).(fs.FileMode); ok {
		a.Perm, a.SetPerm = m, true
	}
	if o, ok := ctx.Value(ownerKey{}).([2]int); ok {
		a.UID, a.GID, a.SetOwner = o[0], o[1], true
	}
	return a
}
