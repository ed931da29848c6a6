module github.com/mqwire/mqwire

go 1.26.0

require (
	github.com/go-zeromq/zmq4 v0.17.0
	go.nanomsg.org/mangos/v3 v3.4.2
	golang.org/x/crypto v0.59.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/Microsoft/go-winio v0.5.2 // indirect
	github.com/go-zeromq/goczmq/v4 v4.2.2 // indirect
	github.com/gorilla/websocket v1.5.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)
