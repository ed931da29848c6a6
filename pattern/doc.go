// Package pattern is the home of mqwire's messaging patterns, one package
// each: req/rep, pub/sub, push/pull, pair (pair0), pair1, bus and
// surveyor/respondent, with the raw modes nng has and a device that forwards
// between two raw sockets. Every pattern's New returns a *socket.Socket; what
// is particular to a pattern (subscriptions, contexts, survey time) is a
// typed option or a function of its package.
package pattern
