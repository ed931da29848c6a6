package core

import (
	"context"
	"sync"
	"time"

	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/socket"
)

// sockContext is a mangos Context on an mqwire context.
type sockContext struct {
	k  *sock
	nc nativeContext

	mu   sync.Mutex
	vals map[string]interface{} // the context's options (contextOptions the socket has)
}

func (c *sockContext) Close() error { return mapErr(c.nc.Close(), false) }

func (c *sockContext) GetOption(name string) (interface{}, error) {
	if q, ok := c.nc.(queueSizer); ok && name == mangos.OptionReadQLen {
		return q.QueueLen(), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.vals[name]; ok {
		return v, nil
	}
	return nil, mangos.ErrBadOption
}

// queueSizer is a context whose queue length is its own (sub's).
type queueSizer interface {
	QueueLen() int
	SetQueueLen(n int) error
}

// SetOption sets a deadline of the context, or its OptionRetryTime or
// OptionSurveyTime, which mqwire's contexts take from their socket: setting
// them on a context sets them on the socket. A sub context's
// OptionSubscribe, OptionUnsubscribe and OptionReadQLen are its own.
func (c *sockContext) SetOption(name string, value interface{}) error {
	if q, ok := c.nc.(queueSizer); ok && name == mangos.OptionReadQLen {
		n, isInt := value.(int)
		if !isInt {
			return mangos.ErrBadValue
		}
		return mapErr(optionErr(q.SetQueueLen(n)), false)
	}
	if sc, ok := c.nc.(subscriber); ok && (name == mangos.OptionSubscribe || name == mangos.OptionUnsubscribe) {
		v, err := checkType(name, value)
		if err != nil {
			return err
		}
		if name == mangos.OptionSubscribe {
			err = sc.Subscribe(v.([]byte))
		} else {
			err = sc.Unsubscribe(v.([]byte))
		}
		return mapErr(optionErr(err), false)
	}
	c.mu.Lock()
	_, ok := c.vals[name]
	c.mu.Unlock()
	if !ok {
		return mangos.ErrBadOption
	}
	v, err := checkType(name, value)
	if err != nil {
		return err
	}
	if name == mangos.OptionRetryTime || name == mangos.OptionSurveyTime {
		if err := c.k.SetOption(name, v); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.vals[name] = v
	c.mu.Unlock()
	return nil
}

// deadline returns parent bounded by the context's deadline named name
// (mangos's: 0 none, negative at once).
func (c *sockContext) deadline(parent context.Context, name string) (context.Context, context.CancelFunc) {
	c.mu.Lock()
	d, _ := c.vals[name].(time.Duration)
	c.mu.Unlock()
	switch {
	case d == 0:
		return parent, func() {}
	case d < 0:
		d = time.Nanosecond
	}
	return context.WithTimeout(parent, d)
}

func (c *sockContext) Send(b []byte) error { return c.k.sendBytes(b, c.sendNative) }

func (c *sockContext) Recv() ([]byte, error) { return c.k.recvBytes(c.recvNative) }

func (c *sockContext) SendMsg(m *mangos.Message) error { return c.k.sendMsg(m, c.sendNative) }

func (c *sockContext) RecvMsg() (*mangos.Message, error) { return c.k.recvMsg(c.recvNative) }

// sendNative sends m within the context's send deadline, or without
// waiting under the socket's OptionBestEffort.
func (c *sockContext) sendNative(parent context.Context, m *socket.Message) error {
	ctx, cancel := c.deadline(parent, mangos.OptionSendDeadline)
	defer cancel()
	if c.k.bestEffort.Load() {
		ctx, cancel = context.WithTimeout(ctx, time.Nanosecond)
		defer cancel()
	}
	return c.nc.Send(ctx, m)
}

// recvNative receives within the context's receive deadline.
func (c *sockContext) recvNative(parent context.Context) (*socket.Message, error) {
	ctx, cancel := c.deadline(parent, mangos.OptionRecvDeadline)
	defer cancel()
	return c.nc.Recv(ctx)
}
