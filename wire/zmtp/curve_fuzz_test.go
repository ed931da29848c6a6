package zmtp

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/mqwire/mqwire/wire"
)

// FuzzCurve feeds a CURVE server, then a CURVE client, a transcript of
// commands (each a 2-byte length, then a command body): whatever the peer
// sends, parsing returns a typed error or goes on, never panics. Both sides
// take their randomness from a fixed stream, so that the seeds (a whole
// handshake and messages each way) stay valid transcripts: mutations then
// reach the checks behind each box, not only the length checks.

var curveFuzzMu sync.Mutex // curveRand is shared

// repeatable makes the handshakes' randomness a fixed stream until undo.
func repeatable(seed uint64) (undo func()) {
	curveFuzzMu.Lock()
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	curveRand = rand.NewChaCha8(key)
	return func() {
		curveRand = cryptoReader
		curveFuzzMu.Unlock()
	}
}

var cryptoReader = curveRand

// Fixed long-term keys of the fuzzed handshakes.
var (
	fuzzServerSecret = CurveKey{1, 2, 3}
	fuzzClientSecret = CurveKey{4, 5, 6}
)

// curveTranscript makes, with repeatable randomness, a whole exchange:
// HELLO, WELCOME, INITIATE, READY, then two MESSAGEs each way.
func curveTranscript() (toServer, toClient [][]byte) {
	undo := repeatable(1)
	defer undo()
	sPub, _ := CurvePublicKey(fuzzServerSecret)
	cPub, _ := CurvePublicKey(fuzzClientSecret)
	c, _ := NewCurveClient(sPub, cPub, fuzzClientSecret)
	s, _ := NewCurveServer(fuzzServerSecret)
	hello := body(c.AppendHello(nil))
	must(s.ParseHello(hello))
	w, _ := s.AppendWelcome(nil)
	must(c.ParseWelcome(body(w)))
	in, _ := c.AppendInitiate(nil, Property{Name: PropSocketType, Value: []byte("REQ")})
	_, _, err := s.ParseInitiate(body(in))
	must(err)
	r, _ := s.AppendReady(nil, Property{Name: PropSocketType, Value: []byte("REP")})
	_, err = c.ParseReady(body(r))
	must(err)
	cs, _ := c.Session()
	ss, _ := s.Session()
	toServer = [][]byte{hello, body(in),
		body(cs.AppendMessage(nil, FlagMore, []byte("a"))),
		body(cs.AppendMessage(nil, FlagCommand, AppendCommand(nil, CmdPing, []byte{0, 1})))}
	toClient = [][]byte{body(w), body(r),
		body(ss.AppendMessage(nil, 0, []byte("reply"))),
		body(ss.AppendMessage(nil, 0, nil))}
	return toServer, toClient
}

// transcriptServer returns a server that draws the same randomness as the
// transcript's: the client draws its short-term keys first.
func transcriptServer() *CurveServer {
	var pub CurveKey
	NewCurveClient(pub, pub, pub)
	s, _ := NewCurveServer(fuzzServerSecret)
	return s
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// joinCommands writes bodies as a fuzz input: a 2-byte length before each.
func joinCommands(bodies [][]byte) []byte {
	var b []byte
	for _, c := range bodies {
		b = binary.BigEndian.AppendUint16(b, uint16(len(c)))
		b = append(b, c...)
	}
	return b
}

// splitCommands reads what joinCommands wrote; a cut length takes the rest.
func splitCommands(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		n = min(n, len(b))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

func curveSeeds() [][]byte {
	toServer, toClient := curveTranscript()
	seeds := [][]byte{joinCommands(toServer), joinCommands(toClient)}
	// Cut short, and each command alone.
	seeds = append(seeds, joinCommands(toServer[:1]), joinCommands(toClient[:1]), joinCommands(toServer[:2]))
	seeds = append(seeds, toServer[0][:100], []byte{0, 0})
	return seeds
}

func FuzzCurve(f *testing.F) {
	for _, s := range curveSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cmds := splitCommands(in)
		checkCurveErr := func(what string, err error) bool {
			t.Helper()
			if err == nil {
				return true
			}
			if !errors.Is(err, wire.ErrProtocol) {
				t.Fatalf("%s: untyped error %v", what, err)
			}
			return false
		}
		// As the server: HELLO, INITIATE, then MESSAGEs.
		func() {
			undo := repeatable(1)
			defer undo()
			s := transcriptServer()
			if len(cmds) < 1 || !checkCurveErr("ParseHello", s.ParseHello(cmds[0])) {
				return
			}
			if _, err := s.AppendWelcome(nil); err != nil {
				t.Fatal(err)
			}
			if len(cmds) < 2 {
				return
			}
			if _, _, err := s.ParseInitiate(cmds[1]); !checkCurveErr("ParseInitiate", err) {
				return
			}
			if _, err := s.AppendReady(nil); err != nil {
				t.Fatal(err)
			}
			ss, err := s.Session()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range cmds[2:] {
				f, err := ss.AppendOpenedFrame([]byte("p"), m)
				if !checkCurveErr("AppendOpenedFrame", err) {
					if string(f) != "p" {
						t.Fatalf("AppendOpenedFrame failed and changed its buffer: %q", f)
					}
					return
				}
				h, hn, err := ParseFrameHeader(f[1:], 0)
				if err != nil || uint64(len(f)-1-hn) != h.Size {
					t.Fatalf("AppendOpenedFrame made a bad frame: %v, %d bytes after a header of %d", err, len(f)-1-hn, h.Size)
				}
			}
		}()
		// As the client: WELCOME, READY, then MESSAGEs.
		func() {
			undo := repeatable(1)
			defer undo()
			sPub, _ := CurvePublicKey(fuzzServerSecret)
			cPub, _ := CurvePublicKey(fuzzClientSecret)
			c, _ := NewCurveClient(sPub, cPub, fuzzClientSecret)
			c.AppendHello(nil)
			if len(cmds) < 1 || !checkCurveErr("ParseWelcome", c.ParseWelcome(cmds[0])) {
				return
			}
			if _, err := c.AppendInitiate(nil); err != nil {
				t.Fatal(err)
			}
			if len(cmds) < 2 {
				return
			}
			if _, err := c.ParseReady(cmds[1]); !checkCurveErr("ParseReady", err) {
				return
			}
			cs, err := c.Session()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range cmds[2:] {
				if _, _, err := cs.OpenMessage(m); !checkCurveErr("OpenMessage", err) {
					return
				}
			}
		}()
	})
}

// TestCurveTranscriptRuns checks that the seeds' transcripts are whole
// handshakes when replayed, so that the fuzzer starts from valid input.
func TestCurveTranscriptRuns(t *testing.T) {
	toServer, toClient := curveTranscript()
	undo := repeatable(1)
	s := transcriptServer()
	must(s.ParseHello(toServer[0]))
	s.AppendWelcome(nil)
	_, _, err := s.ParseInitiate(toServer[1])
	undo()
	if err != nil {
		t.Fatalf("replayed INITIATE: %v", err)
	}
	s.AppendReady(nil)
	ss, _ := s.Session()
	for i, m := range toServer[2:] {
		if _, _, err := ss.OpenMessage(m); err != nil {
			t.Fatalf("replayed client MESSAGE %d: %v", i, err)
		}
	}
	_ = toClient
}

// TestCurveSeedCorpus keeps testdata/fuzz/FuzzCurve in step with
// curveSeeds (MQWIRE_UPDATE_CORPUS=1 writes it).
func TestCurveSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzCurve")
	for _, s := range curveSeeds() {
		e := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(s)))
		sum := sha256.Sum256([]byte(e))
		path := filepath.Join(dir, "seed-"+hex.EncodeToString(sum[:8]))
		if got, err := os.ReadFile(path); err == nil && string(got) == e {
			continue
		}
		if os.Getenv("MQWIRE_UPDATE_CORPUS") != "1" {
			t.Errorf("%s: seed missing or different (run with MQWIRE_UPDATE_CORPUS=1)", path)
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(e), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
