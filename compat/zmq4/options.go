package zmq4

import (
	"log"
	"time"

	"github.com/mqwire/mqwire/socket"
)

// Option configures a socket when it is made.
type Option func(c *config)

// config is what the Options set; the zero value is not used (see
// defaults).
type config struct {
	id            SocketIdentity
	sec           Security
	retry         time.Duration
	dialTimeout   time.Duration
	timeout       time.Duration
	log           *log.Logger
	maxRetries    int
	autoReconnect bool
	native        []socket.Option
}

// zmq4's defaults.
const (
	defaultRetry      = 250 * time.Millisecond
	defaultTimeout    = 5 * time.Minute
	defaultMaxRetries = 10
)

func defaults() config {
	return config{
		retry:       defaultRetry,
		dialTimeout: defaultTimeout,
		timeout:     defaultTimeout,
		maxRetries:  defaultMaxRetries,
		sec:         nullSecurity{},
	}
}

// WithID sets the routing id the socket announces (ZMQ_ROUTING_ID), for
// a ROUTER peer to route to it by: REQ, DEALER and ROUTER sockets only.
func WithID(id SocketIdentity) Option { return func(c *config) { c.id = id } }

// WithSecurity sets the socket's security mechanism: NULL (the default) or
// PLAIN (security/plain).
func WithSecurity(sec Security) Option { return func(c *config) { c.sec = sec } }

// WithDialerRetry sets how long Dial waits between attempts to connect,
// and a dialer between attempts to reconnect.
func WithDialerRetry(retry time.Duration) Option { return func(c *config) { c.retry = retry } }

// WithDialerTimeout bounds each attempt to connect (ZMQ_CONNECT_TIMEOUT).
func WithDialerTimeout(timeout time.Duration) Option {
	return func(c *config) { c.dialTimeout = timeout }
}

// WithTimeout bounds how long Send waits for room (5 minutes by default).
func WithTimeout(timeout time.Duration) Option { return func(c *config) { c.timeout = timeout } }

// WithLogger sets where the socket logs the connections it loses and the
// handshakes that fail (by default, standard error with a "zmq4: " prefix).
func WithLogger(l *log.Logger) Option { return func(c *config) { c.log = l } }

// WithDialerMaxRetries sets how many times Dial tries again before it
// fails (10 by default); -1 tries for ever.
func WithDialerMaxRetries(maxRetries int) Option {
	return func(c *config) { c.maxRetries = maxRetries }
}

// WithAutomaticReconnect makes a dialed connection that is lost be made
// again (every WithDialerRetry); without it, as in zmq4, it stays lost.
func WithAutomaticReconnect(on bool) Option { return func(c *config) { c.autoReconnect = on } }

// WithOptions passes mqwire socket options (package socket, or a
// pattern's) to the socket underneath: CURVE security, high-water marks,
// linger, and the rest. It is this package's own: zmq4 has no such option.
func WithOptions(opts ...socket.Option) Option {
	return func(c *config) { c.native = append(c.native, opts...) }
}

// The names SetOption and GetOption take.
const (
	OptionSubscribe   = "SUBSCRIBE"
	OptionUnsubscribe = "UNSUBSCRIBE"
	OptionHWM         = "HWM"
)
