module github.com/mqwire/mqwire

go 1.26

require (
	github.com/go-zeromq/zmq4 v0.17.0
	go.nanomsg.org/mangos/v3 v3.4.2
	golang.org/x/sys v0.5.0
)

require (
	github.com/Microsoft/go-winio v0.5.2 // indirect
	github.com/go-zeromq/goczmq/v4 v4.2.2 // indirect
	golang.org/x/sync v0.7.0 // indirect
	golang.org/x/text v0.15.0 // indirect
)
