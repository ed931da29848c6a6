//go:build !plan9

package tcp_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/tcp"
)

// fakeProxy is a SOCKS5 proxy written by hand for the tests: it records
// what clients ask, and answers as its mode says.
type fakeProxy struct {
	ln   net.Listener
	user string // when set, the username/password method is required
	pass string
	// reply is the CONNECT reply's code (0: connect and relay); garbage
	// answers the greeting with version 4; silent answers nothing.
	reply   byte
	garbage bool
	silent  bool

	mu      sync.Mutex
	methods [][]byte // what each client offered
	targets []string // each request's address: "ATYP host:port"
	wg      sync.WaitGroup
}

func startProxy(t *testing.T, p *fakeProxy) *fakeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *fakeProxy) addr() string { return p.ln.Addr().String() }

func (p *fakeProxy) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	p.mu.Lock()
	p.methods = append(p.methods, methods)
	p.mu.Unlock()
	switch {
	case p.silent:
		io.Copy(io.Discard, c)
		return
	case p.garbage:
		c.Write([]byte{4, 0})
		return
	case p.user != "":
		if !bytes.Contains(methods, []byte{2}) {
			c.Write([]byte{5, 0xFF})
			return
		}
		c.Write([]byte{5, 2})
		var b [256]byte
		io.ReadFull(c, b[:2])
		user := make([]byte, b[1])
		io.ReadFull(c, user)
		io.ReadFull(c, b[:1])
		pass := make([]byte, b[0])
		io.ReadFull(c, pass)
		if string(user) != p.user || string(pass) != p.pass {
			c.Write([]byte{1, 1})
			return
		}
		c.Write([]byte{1, 0})
	default:
		c.Write([]byte{5, 0})
	}
	var req [4]byte
	if _, err := io.ReadFull(c, req[:]); err != nil {
		return
	}
	var host string
	switch req[3] {
	case 1, 4:
		ip := make([]byte, map[byte]int{1: 4, 4: 16}[req[3]])
		io.ReadFull(c, ip)
		host = net.IP(ip).String()
	case 3:
		var n [1]byte
		io.ReadFull(c, n[:])
		name := make([]byte, n[0])
		io.ReadFull(c, name)
		host = string(name)
	}
	var port [2]byte
	io.ReadFull(c, port[:])
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:]))))
	p.mu.Lock()
	p.targets = append(p.targets, strconv.Itoa(int(req[3]))+" "+target)
	p.mu.Unlock()
	if p.reply != 0 {
		c.Write([]byte{5, p.reply, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	// The reply goes in one write with what the target sent first (a
	// ZMTP listener's greeting), as a proxy may: the client must leave
	// those bytes to the dialect. The bound address is a domain name, the
	// longest form.
	reply := append([]byte{5, 0, 0, 3, 9}, "proxy.lan\x12\x34"...)
	up.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var first [64]byte
	n, _ := up.Read(first[:])
	up.SetReadDeadline(time.Time{})
	c.Write(append(reply, first[:n]...))
	c.SetDeadline(time.Time{})
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
}

func (p *fakeProxy) seen() (methods [][]byte, targets []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.methods, p.targets
}

// exchange checks that a message goes each way between a and b.
func exchange(t *testing.T, a, b *socket.Socket) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.SendContext(ctx, socket.NewMessageBytes([]byte("through"))); err != nil {
		t.Fatal(err)
	}
	if m, err := b.RecvContext(ctx); err != nil || string(m.Body) != "through" {
		t.Fatalf("received %v %v", m, err)
	}
	if err := b.SendContext(ctx, socket.NewMessageBytes([]byte("back"))); err != nil {
		t.Fatal(err)
	}
	if m, err := a.RecvContext(ctx); err != nil || string(m.Body) != "back" {
		t.Fatalf("received %v %v", m, err)
	}
}

// A dialer reaches its peer through a SOCKS5 proxy: an IPv4 address goes
// as one, a host name unresolved; the pipe names the peer, not the
// proxy. ZMTP's greeting, coming in the proxy's reply's write, is not
// lost.
func TestSOCKS(t *testing.T) {
	testutil.CheckGoroutines(t)
	px := startProxy(t, &fakeProxy{})
	l := must(pair.New())
	defer l.Close()
	ln := must(l.Listen("tcp://127.0.0.1:0"))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ln.URL(), "tcp://"))
	for i, host := range []string{"127.0.0.1", "localhost"} {
		d := must(pair.New())
		ev := d.Events(16)
		must(d.Dial("tcp://"+host+":"+port, tcp.DialSOCKS(tcp.SOCKS{Proxy: px.addr()})))
		exchange(t, d, l)
		for e := range ev {
			if e.Type == socket.EventConnected {
				if e.Remote != host+":"+port {
					t.Errorf("the pipe's peer is %q, want %q", e.Remote, host+":"+port)
				}
				break
			}
		}
		d.Close()
		methods, targets := px.seen()
		want := []string{"1 127.0.0.1:" + port, "3 localhost:" + port}[i]
		if len(targets) != i+1 || targets[i] != want || !bytes.Equal(methods[i], []byte{0}) {
			t.Errorf("the proxy was offered %v and asked for %v, want [0] and %q", methods, targets, want)
		}
	}

	r := must(router.New())
	defer r.Close()
	rl := must(r.Listen("tcp://127.0.0.1:0"))
	dl := must(dealer.New(socket.Identity([]byte("d"))))
	defer dl.Close()
	must(dl.Dial(rl.URL(), tcp.DialSOCKS(tcp.SOCKS{Proxy: px.addr()})))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dl.SendContext(ctx, socket.NewMessageBytes([]byte("zmtp"))); err != nil {
		t.Fatal(err)
	}
	if m, err := r.RecvContext(ctx); err != nil || string(m.Body) != "d" || len(m.Frames) != 1 || string(m.Frames[0]) != "zmtp" {
		t.Fatalf("router received %v %v", m, err)
	}
}

// A proxy that wants a username and password gets them; one that refuses
// them, or the connection asked for, or answers nonsense or nothing,
// fails the attempt with a typed error.
func TestSOCKSRefusals(t *testing.T) {
	testutil.CheckGoroutines(t)
	l := must(pair.New())
	defer l.Close()
	target := must(l.Listen("tcp://127.0.0.1:0")).URL()

	auth := startProxy(t, &fakeProxy{user: "ann", pass: "secret"})
	d := must(pair.New())
	must(d.Dial(target, tcp.DialSOCKS(tcp.SOCKS{Proxy: auth.addr(), Username: "ann", Password: "secret"}), socket.SynchronousDial()))
	exchange(t, d, l)
	d.Close()
	if methods, _ := auth.seen(); !bytes.Equal(methods[0], []byte{0, 2}) {
		t.Errorf("offered %v, want [0 2]", methods[0])
	}

	var se *tcp.SOCKSError
	for _, c := range []struct {
		name string
		px   *fakeProxy
		opt  tcp.SOCKS
		want func(error) bool
	}{
		{"wrong password", auth, tcp.SOCKS{Username: "ann", Password: "guess"}, func(err error) bool {
			return errors.As(err, &se) && strings.Contains(se.Reason, "username and password")
		}},
		{"no credentials", auth, tcp.SOCKS{}, func(err error) bool {
			return errors.As(err, &se) && strings.Contains(se.Reason, "every authentication method")
		}},
		{"connection refused", startProxy(t, &fakeProxy{reply: 5}), tcp.SOCKS{}, func(err error) bool {
			return errors.Is(err, syscall.ECONNREFUSED) && errors.As(err, &se) && se.Code == 5
		}},
		{"host unreachable", startProxy(t, &fakeProxy{reply: 4}), tcp.SOCKS{}, func(err error) bool { return errors.Is(err, syscall.EHOSTUNREACH) }},
		{"not allowed", startProxy(t, &fakeProxy{reply: 2}), tcp.SOCKS{}, func(err error) bool {
			return errors.As(err, &se) && se.Code == 2 && !errors.Is(err, syscall.ECONNREFUSED)
		}},
		{"garbage", startProxy(t, &fakeProxy{garbage: true}), tcp.SOCKS{}, func(err error) bool { return errors.Is(err, socket.ErrProtocol) }},
		{"silent", startProxy(t, &fakeProxy{silent: true}), tcp.SOCKS{}, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opt.Proxy = c.px.addr()
			d := must(pair.New(socket.ConnectTimeout(300 * time.Millisecond)))
			defer d.Close()
			_, err := d.Dial(target, tcp.DialSOCKS(c.opt), socket.SynchronousDial())
			if err == nil || !c.want(err) {
				t.Fatalf("Dial: %v", err)
			}
		})
	}
}

// TLS runs over the proxied connection (tls+tcp://), and an IPv6 peer is
// asked for as an IPv6 address.
func TestSOCKSTLSAndIPv6(t *testing.T) {
	testutil.CheckGoroutines(t)
	px := startProxy(t, &fakeProxy{})
	certs := testutil.NewTLSCerts(t)
	l := must(pair.New(socket.TLSConfig(certs.ServerConfig())))
	defer l.Close()
	d := must(pair.New(socket.TLSConfig(certs.ClientConfig())))
	defer d.Close()
	must(d.Dial(must(l.Listen("tls+tcp://127.0.0.1:0")).URL(), tcp.DialSOCKS(tcp.SOCKS{Proxy: px.addr()})))
	exchange(t, d, l)

	testutil.NeedIPv6Loopback(t)
	l6 := must(pair.New())
	defer l6.Close()
	d6 := must(pair.New())
	defer d6.Close()
	url := must(l6.Listen("tcp://[::1]:0")).URL()
	must(d6.Dial(url, tcp.DialSOCKS(tcp.SOCKS{Proxy: px.addr()})))
	exchange(t, d6, l6)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "tcp://"))
	if _, targets := px.seen(); targets[len(targets)-1] != "4 [::1]:"+port {
		t.Errorf("the proxy was asked for %v, want ATYP 4 and [::1]:%s last", targets, port)
	}
}

// Options that cannot work are refused at Dial.
func TestSOCKSChecked(t *testing.T) {
	s := must(pair.New())
	defer s.Close()
	long := strings.Repeat("u", 256)
	for _, p := range []tcp.SOCKS{
		{Proxy: "127.0.0.1"}, {Proxy: "127.0.0.1:0"}, {Proxy: ":1080"}, {Proxy: "127.0.0.1:http"},
		{Proxy: "127.0.0.1:1080", Username: long}, {Proxy: "127.0.0.1:1080", Username: "u", Password: long},
		{Proxy: "127.0.0.1:1080", Password: "p"},
	} {
		if _, err := s.Dial("tcp://127.0.0.1:5555", tcp.DialSOCKS(p)); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("DialSOCKS(%+v): %v, want ErrBadOption", p, err)
		}
	}
	if _, err := s.Dial("ipc:///tmp/x.sock", tcp.DialSOCKS(tcp.SOCKS{Proxy: "127.0.0.1:1080"})); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("on ipc: %v, want ErrOptionNotApplicable", err)
	}
}
