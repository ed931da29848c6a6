package pull_test

import (
	"fmt"
	"slices"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
)

// A sink collects results from several workers, taking from each in turn.
func ExampleNew() {
	sink, _ := pull.New()
	defer sink.Close()
	sink.Listen("inproc://example-sink")

	for _, name := range []string{"w1", "w2", "w3"} {
		worker, _ := push.New()
		defer worker.Close()
		worker.Dial("inproc://example-sink")
		worker.SendBytes([]byte(name + " done")) // waits for the connection
	}

	var got []string
	for range 3 {
		m, _ := sink.Recv()
		got = append(got, string(m.Body))
		m.Free()
	}
	slices.Sort(got) // the order between workers is not fixed
	fmt.Println(got)
	// Output: [w1 done w2 done w3 done]
}
