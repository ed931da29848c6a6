package mangos

// Socket is a socket of one protocol, made by the protocol package's
// NewSocket (req.NewSocket and so on). Its methods are safe for concurrent
// use.
type Socket interface {
	// Info names the socket's protocol and its peer's.
	Info() ProtocolInfo
	// Close closes the socket, its dialers, listeners and pipes.
	Close() error
	// Send sends a copy of b.
	Send(b []byte) error
	// Recv receives a message's body.
	Recv() ([]byte, error)
	// SendMsg sends m, which the socket then owns (unless it fails).
	SendMsg(m *Message) error
	// RecvMsg receives a message, with the pipe it came on.
	RecvMsg() (*Message, error)
	// Dial connects to addr, waiting for the first attempt unless
	// OptionDialAsynch is set, and keeps the connection up.
	Dial(addr string) error
	// DialOptions is Dial with the dialer's options.
	DialOptions(addr string, options map[string]interface{}) error
	// NewDialer makes a dialer that has not started.
	NewDialer(addr string, options map[string]interface{}) (Dialer, error)
	// Listen listens on addr.
	Listen(addr string) error
	// ListenOptions is Listen with the listener's options.
	ListenOptions(addr string, options map[string]interface{}) error
	// NewListener makes a listener that has not started.
	NewListener(addr string, options map[string]interface{}) (Listener, error)
	// GetOption returns an option's value.
	GetOption(name string) (interface{}, error)
	// SetOption sets an option, checking its name and value.
	SetOption(name string, value interface{}) error
	// OpenContext opens a context (req, rep, surveyor, respondent).
	OpenContext() (Context, error)
	// SetPipeEventHook sets the pipe event hook and returns the one before.
	SetPipeEventHook(hook PipeEventHook) PipeEventHook
}

// Context is one independent conversation on a socket: a request and its
// reply, or a survey and its answers. Use one per goroutine.
type Context interface {
	// Close closes the context.
	Close() error
	// GetOption returns one of the context's options.
	GetOption(name string) (interface{}, error)
	// SetOption sets one of the context's options (deadlines, and
	// OptionRetryTime or OptionSurveyTime where they apply).
	SetOption(name string, value interface{}) error
	// Send sends a copy of b.
	Send(b []byte) error
	// Recv receives a message's body.
	Recv() ([]byte, error)
	// SendMsg sends m, which the context then owns (unless it fails).
	SendMsg(m *Message) error
	// RecvMsg receives a message.
	RecvMsg() (*Message, error)
}

// Dialer connects its socket to one address, again whenever the
// connection is lost.
type Dialer interface {
	// Close stops the dialer and closes its connection.
	Close() error
	// Dial starts the dialer: it waits for the first attempt unless
	// OptionDialAsynch is set.
	Dial() error
	// Address returns the address dialed.
	Address() string
	// SetOption sets one of the dialer's options, before Dial.
	SetOption(name string, value interface{}) error
	// GetOption returns one of the dialer's options.
	GetOption(name string) (interface{}, error)
}

// Listener accepts connections on one address for its socket.
type Listener interface {
	// Close stops the listener and closes the connections it accepted.
	Close() error
	// Listen starts the listener.
	Listen() error
	// Address returns the address listened on; after Listen, a tcp port
	// of 0 is replaced by the one the system chose.
	Address() string
	// SetOption sets one of the listener's options, before Listen.
	SetOption(name string, value interface{}) error
	// GetOption returns one of the listener's options.
	GetOption(name string) (interface{}, error)
}

// Pipe is one connection of a socket.
type Pipe interface {
	// ID is the pipe's number, unique in the process.
	ID() uint32
	// Address is the address of the dialer or listener that made it.
	Address() string
	// GetOption returns OptionLocalAddr or OptionRemoteAddr (a net.Addr).
	GetOption(name string) (interface{}, error)
	// Listener returns the listener that accepted the pipe, or nil.
	Listener() Listener
	// Dialer returns the dialer that made the pipe, or nil.
	Dialer() Dialer
	// Close closes the pipe.
	Close() error
}

// PipeEvent is a point in a pipe's life at which the pipe event hook runs.
type PipeEvent int

// The points at which the pipe event hook runs, in this order.
const (
	// PipeEventAttaching: connected, not yet used; closing the pipe in
	// the hook refuses it.
	PipeEventAttaching PipeEvent = iota
	// PipeEventAttached: the socket uses the pipe.
	PipeEventAttached
	// PipeEventDetached: the pipe has closed.
	PipeEventDetached
)

// PipeEventHook is called synchronously, on the goroutine handling the
// pipe, at each PipeEvent. It must not block for long.
type PipeEventHook func(PipeEvent, Pipe)

// ProtocolInfo names a protocol and its peer, by number and name.
type ProtocolInfo struct {
	Self     uint16
	Peer     uint16
	SelfName string
	PeerName string
}

// The SP protocol numbers.
const (
	ProtoPair       = 0x10
	ProtoPair1      = 0x11
	ProtoPub        = 0x20
	ProtoSub        = 0x21
	ProtoReq        = 0x30
	ProtoRep        = 0x31
	ProtoPush       = 0x50
	ProtoPull       = 0x51
	ProtoSurveyor   = 0x62
	ProtoRespondent = 0x63
	ProtoBus        = 0x70
)
