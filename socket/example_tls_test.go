package socket_test

import (
	"crypto/tls"
	"crypto/x509"
	"log"
	"os"

	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// TLS over tcp, as nng's tls+tcp:// transport: the listener serves its
// certificate, the dialer checks it against the authority it trusts (and
// the host in the URL). An nng or mangos peer with the same certificates
// connects the same way. (Compiled, not run: it needs certificate files.)
func ExampleTLSConfig() {
	cert, err := tls.LoadX509KeyPair("server.pem", "server-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	sink, _ := pull.New(socket.TLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}}))
	defer sink.Close()
	if _, err := sink.Listen("tls+tcp://*:5555"); err != nil {
		log.Fatal(err)
	}

	caPEM, err := os.ReadFile("ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	source, _ := push.New(socket.TLSConfig(&tls.Config{RootCAs: roots}))
	defer source.Close()
	source.Dial("tls+tcp://localhost:5555")

	source.SendBytes([]byte("over TLS"))
	b, _ := sink.RecvBytes()
	log.Printf("%s", b)
}
