package surveyor_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
)

func ExampleNew() {
	s, _ := surveyor.New(surveyor.SurveyTime(200 * time.Millisecond))
	defer s.Close()
	s.Listen("inproc://example-survey")

	r, _ := respondent.New()
	defer r.Close()
	r.Dial("inproc://example-survey")
	go func() {
		for {
			m, err := r.Recv()
			if err != nil {
				return
			}
			m.Body = append(m.Body[:0], "here"...)
			r.Send(m)
		}
	}()
	for s.Stats().Pipes == 0 {
		time.Sleep(time.Millisecond)
	}

	s.SendBytes([]byte("who is there?"))
	for {
		b, err := s.RecvBytes()
		if errors.Is(err, socket.ErrTimeout) {
			fmt.Println("survey over")
			break
		}
		fmt.Printf("answer: %s\n", b)
	}
	// Output:
	// answer: here
	// survey over
}
