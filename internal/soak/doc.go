// Package soak holds randomized concurrency tests across the transports:
// several senders and receivers, small queues that fill and drain, readers
// that pause and take deadlines, and bodies of every size around the
// readers' internal limits. Each message carries its sender, its sequence
// number and bytes derived from both, so that a message delivered twice,
// out of order, lost where it must not be, or with another's bytes, is
// caught. The package has no code outside its tests.
//
// A plain go test runs each case for a fraction of a second;
// MQWIRE_SOAK=1 runs them a hundred times longer.
package soak
