package core

import (
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"time"

	"github.com/mqwire/mqwire/compat/mangos"
	shimipc "github.com/mqwire/mqwire/compat/mangos/transport/ipc"
	shimws "github.com/mqwire/mqwire/compat/mangos/transport/ws"
	"github.com/mqwire/mqwire/socket"
)

// contextOptions are the options a context has, each its own copy of the
// socket's value when the context opened.
var contextOptions = []string{
	mangos.OptionRecvDeadline, mangos.OptionSendDeadline,
	mangos.OptionRetryTime, mangos.OptionSurveyTime,
}

// readOnly reports whether an option can only be read.
func readOnly(name string) bool {
	return name == mangos.OptionRaw
}

// checkType checks that value has the type option name takes, and is in
// its range, and returns it as the option keeps it (a string subscription
// becomes []byte).
func checkType(name string, value interface{}) (interface{}, error) {
	ok := false
	switch name {
	case mangos.OptionNoDelay:
		ok = value == true // mqwire always sends at once
	case mangos.OptionMaxRecvSize:
		n, isInt := value.(int)
		ok = isInt && n >= 0
	case mangos.OptionRecvDeadline, mangos.OptionSendDeadline, mangos.OptionRetryTime,
		mangos.OptionSurveyTime, mangos.OptionLinger, mangos.OptionReconnectTime,
		mangos.OptionMaxReconnectTime, mangos.OptionKeepAliveTime:
		_, ok = value.(time.Duration)
	case mangos.OptionWriteQLen, mangos.OptionReadQLen, mangos.OptionTTL:
		_, ok = value.(int)
	case mangos.OptionDialAsynch, mangos.OptionKeepAlive,
		mangos.OptionBestEffort, mangos.OptionFailNoPeers, shimws.OptionWebSocketCheckOrigin:
		_, ok = value.(bool)
	case mangos.OptionTLSConfig:
		_, ok = value.(*tls.Config)
	case shimipc.OptionIpcSocketPermissions:
		switch m := value.(type) {
		case uint32:
			ok = m&uint32(fs.ModePerm) == m
		case fs.FileMode:
			ok = m&fs.ModePerm == m
		}
	case shimipc.OptionIpcSocketOwner, shimipc.OptionIpcSocketGroup:
		n, isInt := value.(int)
		ok = isInt && n >= 0
	case mangos.OptionSubscribe, mangos.OptionUnsubscribe:
		switch v := value.(type) {
		case []byte:
			return v, nil
		case string:
			return []byte(v), nil
		}
	}
	if !ok {
		return nil, mangos.ErrBadValue
	}
	return value, nil
}

// optionErr returns mangos's error for an option mqwire refused: the bare
// value, as mangos code compares errors with ==.
func optionErr(err error) error {
	switch {
	case errors.Is(err, socket.ErrOptionNotApplicable):
		return mangos.ErrBadOption
	case errors.Is(err, socket.ErrBadOption):
		return mangos.ErrBadValue
	}
	return err
}

// errorMap gives mangos's error for each mqwire error that has one.
var errorMap = []struct {
	native error
	mangos error
}{
	{socket.ErrClosed, mangos.ErrClosed},
	{socket.ErrBadState, mangos.ErrProtoState},
	{socket.ErrNotSupported, mangos.ErrProtoOp},
	{socket.ErrTooLarge, mangos.ErrTooLong},
	{socket.ErrNoPeer, mangos.ErrNoPeers},
	{socket.ErrAddrInUse, mangos.ErrAddrInUse},
	{socket.ErrBadURL, mangos.ErrBadAddr},
	{socket.ErrPeerMismatch, mangos.ErrBadProto},
	{context.Canceled, mangos.ErrCanceled},
}

// isTimeout reports whether err is a passed deadline.
func isTimeout(err error) bool {
	return errors.Is(err, socket.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}
