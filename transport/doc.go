// Package transport is the home of mqwire's transports. Each sub-package
// registers itself with the socket core when imported: tcp and ipc carry byte
// streams that a dialect frames, inproc hands messages over in memory.
// Transports know nothing of patterns. Import transport/all for every
// built-in transport (the pattern packages already do).
package transport
