// Package plain is the PLAIN security mechanism for package zmq4, at the
// import path zmq4's own is at (security/plain under the module).
package plain

import "github.com/mqwire/mqwire/compat/zmq4"

// Security returns the PLAIN mechanism with a user name and password: a
// socket that dials sends them; one that listens accepts a client that
// sends the same ones.
func Security(user, pass string) zmq4.Security { return zmq4.NewPlainSecurity(user, pass) }
