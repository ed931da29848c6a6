package respondent_test

import (
	"fmt"
	"time"

	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/surveyor"
)

// One respondent serving two surveyors: each answer goes back to the
// surveyor that asked.
func ExampleNew() {
	r, _ := respondent.New()
	defer r.Close()
	go func() {
		for {
			m, err := r.Recv()
			if err != nil {
				return // the socket is closed
			}
			// Answering is optional: a respondent may also just m.Free().
			m.Body = append(m.Body, " up"...)
			r.Send(m)
		}
	}()

	a, _ := surveyor.New()
	defer a.Close()
	a.Listen("inproc://example-respondent-a")
	b, _ := surveyor.New()
	defer b.Close()
	b.Listen("inproc://example-respondent-b")
	r.Dial("inproc://example-respondent-a")
	r.Dial("inproc://example-respondent-b")
	// A survey goes only to respondents already connected.
	for a.Stats().Pipes == 0 || b.Stats().Pipes == 0 {
		time.Sleep(time.Millisecond)
	}

	a.SendBytes([]byte("a: web"))
	b.SendBytes([]byte("b: db"))
	ans, _ := a.RecvBytes()
	fmt.Printf("%s\n", ans)
	ans, _ = b.RecvBytes()
	fmt.Printf("%s\n", ans)
	// Output:
	// a: web up
	// b: db up
}
