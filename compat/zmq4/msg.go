package zmq4

import (
	"bytes"
	"fmt"
)

// MsgType says whether a message is the application's or a ZMTP command;
// Recv returns only the application's.
type MsgType byte

// The message types.
const (
	UsrMsg MsgType = 0
	CmdMsg MsgType = 1
)

// Msg is a message: its frames, the parts of a multipart message.
type Msg struct {
	Frames [][]byte
	Type   MsgType
	err    error
}

// NewMsg returns a message of one frame.
func NewMsg(frame []byte) Msg { return Msg{Frames: [][]byte{frame}} }

// NewMsgFrom returns a message of the frames given.
func NewMsgFrom(frames ...[]byte) Msg { return Msg{Frames: frames} }

// NewMsgString returns a message of one frame holding frame's bytes.
func NewMsgString(frame string) Msg { return NewMsg([]byte(frame)) }

// NewMsgFromString returns a message of a frame for each string.
func NewMsgFromString(frames []string) Msg {
	m := Msg{Frames: make([][]byte, len(frames))}
	for i, f := range frames {
		m.Frames[i] = []byte(f)
	}
	return m
}

// Err returns the error the message carries, if any (Recv returns its
// errors itself: this is always nil for a message it returned).
func (msg Msg) Err() error { return msg.err }

// Bytes returns the frames' bytes, one after the other.
func (msg Msg) Bytes() []byte { return bytes.Join(msg.Frames, nil) }

// String describes the message, its frames quoted.
func (msg Msg) String() string {
	var b bytes.Buffer
	b.WriteString("Msg{Frames:{")
	for i, f := range msg.Frames {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", f)
	}
	b.WriteString("}}")
	return b.String()
}

// Clone returns a copy of the message that shares no bytes with it.
func (msg Msg) Clone() Msg {
	c := Msg{Frames: make([][]byte, len(msg.Frames)), Type: msg.Type, err: msg.err}
	for i, f := range msg.Frames {
		c.Frames[i] = bytes.Clone(f)
		if c.Frames[i] == nil {
			c.Frames[i] = []byte{}
		}
	}
	return c
}
