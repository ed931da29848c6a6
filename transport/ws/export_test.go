package ws

import "testing"

// OfferOnly makes ZMTP dialers offer protocol alone until the test ends
// (to reach bare ZWS 2.0, which they otherwise offer after ZWS2.0/NULL).
// Tests that call it must not run in parallel.
func OfferOnly(t testing.TB, protocol string) {
	offerOverride = protocol
	t.Cleanup(func() { offerOverride = "" })
}
