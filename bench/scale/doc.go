// Package scale measures how mqwire behaves as things get big: a publisher
// fanning out to many subscribers, a publisher holding many subscriptions,
// many concurrent request/reply clients, the memory an idle connection
// holds, and the cost of a message against its size.
//
// Each measurement is a function that builds its sockets, checks that every
// message arrived (or counts what was dropped), closes everything and
// returns its figures. The tests of this package run them at a size fit for
// CI and check correctness; cmd/mqscale runs them at full size and writes
// docs/scale.md with SVG plots:
//
//	go run ./bench/scale/cmd/mqscale -out docs
//
// Set MQWIRE_SCALE=1 to make the tests use the full sizes too.
package scale
