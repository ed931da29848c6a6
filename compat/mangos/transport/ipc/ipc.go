// Package ipc stands in for mangos's transport package of the same name,
// so that mangos code's imports resolve: the sockets of package mangos have
// every mqwire transport (ipc:// among them) without it. Importing it
// registers the transport with mqwire, as mangos code expects.
package ipc

import _ "github.com/mqwire/mqwire/transport/ipc" // registers the transport

// The options of an ipc:// listener's socket file, set (NewListener's
// options, its SetOption) before it listens. mqwire sets them between bind
// and listen, so that nobody connects before they hold, and a Listen whose
// chmod or chown fails fails (mangos sets them after, best effort).
const (
	// OptionIpcSocketPermissions (uint32 or os.FileMode, permission bits
	// only): the socket file's mode (mqwire's ipc.Permissions).
	OptionIpcSocketPermissions = "UNIX-IPC-CHMOD"
	// OptionIpcSocketOwner (int): the socket file's owner (mqwire's
	// ipc.Owner; the group is left as it is unless OptionIpcSocketGroup
	// is set too, where mangos would make it 0).
	OptionIpcSocketOwner = "UNIX-IPC-OWNER"
	// OptionIpcSocketGroup (int): the socket file's group.
	OptionIpcSocketGroup = "UNIX-IPC-GROUP"
	// OptionSecurityDescriptor (Windows): not offered (ErrBadOption).
	OptionSecurityDescriptor = "WIN-IPC-SECURITY-DESCRIPTOR"
	// OptionInputBufferSize and OptionOutputBufferSize are the buffer
	// sizes of mangos's Windows named pipes. mqwire's ipc is a Unix
	// domain socket on every system, Windows too, so they are not
	// offered (ErrBadOption, as mangos answers off Windows).
	OptionInputBufferSize  = "WIN-IPC-INPUT-BUFFER-SIZE"
	OptionOutputBufferSize = "WIN-IPC-OUTPUT-BUFFER-SIZE"
)
