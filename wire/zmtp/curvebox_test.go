package zmtp

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

// splitBoxSizes are body sizes around the block edges of the split path:
// the first block's 32 bytes, whole blocks, and halves of odd lengths.
var splitBoxSizes = []int{0, 1, 30, 31, 32, 33, 63, 64, 95, 96, 97, 127, 128, 129, 191, 1000, 4096 + 7, 65536, 200_013}

func boxKeyNonce(r *rand.Rand) (key [32]byte, nonce [24]byte) {
	for i := range key {
		key[i] = byte(r.Uint32())
	}
	for i := range nonce {
		nonce[i] = byte(r.Uint32())
	}
	return key, nonce
}

// The split seal and open give secretbox's results byte for byte, append
// to what out holds, and refuse a box changed anywhere, leaving out as it
// came.
func TestSplitBoxMatchesSecretbox(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range splitBoxSizes {
		key, nonce := boxKeyNonce(r)
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(r.Uint32())
		}
		head := []byte{0x5a}
		plain := append(append([]byte{}, head...), body...)
		prefix := []byte("prefix")

		want := secretbox.Seal(bytes.Clone(prefix), plain, &nonce, &key)
		got := sealSplit(bytes.Clone(prefix), head, body, &nonce, &key)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: sealSplit differs from secretbox.Seal", n)
		}
		box := want[len(prefix):]
		opened, ok := openSplit(bytes.Clone(prefix), box, &nonce, &key)
		if !ok || !bytes.Equal(opened, append(bytes.Clone(prefix), plain...)) {
			t.Fatalf("%d bytes: openSplit of secretbox's box: ok=%v, plaintext differs", n, ok)
		}
		for _, at := range []int{0, 15, 16, 16 + len(plain)/2, len(box) - 1} {
			bad := bytes.Clone(box)
			bad[at] ^= 1
			out, ok := openSplit(bytes.Clone(prefix), bad, &nonce, &key)
			if ok || !bytes.Equal(out, prefix) {
				t.Fatalf("%d bytes, byte %d changed: ok=%v, out %d bytes", n, at, ok, len(out))
			}
		}
	}
	if _, ok := openSplit(nil, make([]byte, secretbox.Overhead-1), new([24]byte), new([32]byte)); ok {
		t.Fatal("openSplit took a box shorter than its tag")
	}
}

// A MESSAGE large enough to be sealed in halves opens in the peer's
// session, and one small enough not to as well, from either side.
func TestSplitBoxMessages(t *testing.T) {
	old := splitBoxMin
	splitBoxMin = 200
	defer func() { splitBoxMin = old }()
	client, server := curvePair(t)
	for _, n := range []int{0, 198, 199, 200, 5000} {
		data := bytes.Repeat([]byte{byte(n)}, n)
		for _, pair := range [][2]*CurveSession{{client, server}, {server, client}} {
			msg := pair[0].AppendMessage(nil, FlagMore, data)
			h, hn, err := ParseFrameHeader(msg, 0)
			if err != nil {
				t.Fatal(err)
			}
			flags, got, err := pair[1].OpenMessage(msg[hn : hn+int(h.Size)])
			if err != nil || flags != FlagMore || !bytes.Equal(got, data) {
				t.Fatalf("%d bytes: flags %#x, err %v, data equal %v", n, flags, err, bytes.Equal(got, data))
			}
		}
	}
}

// FuzzOpenSplit opens arbitrary boxes with the split path and with
// secretbox: both must agree, and neither may fail otherwise than by
// refusing.
func FuzzOpenSplit(f *testing.F) {
	var key [32]byte
	var nonce [24]byte
	f.Add([]byte{})
	f.Add(make([]byte, secretbox.Overhead))
	f.Add(secretbox.Seal(nil, []byte("hello"), &nonce, &key))
	f.Add(secretbox.Seal(nil, bytes.Repeat([]byte{7}, 300), &nonce, &key))
	f.Fuzz(func(t *testing.T, box []byte) {
		want, wantOK := secretbox.Open(nil, box, &nonce, &key)
		got, gotOK := openSplit(nil, box, &nonce, &key)
		if gotOK != wantOK || !bytes.Equal(got, want) {
			t.Fatalf("openSplit: ok=%v, secretbox.Open: ok=%v", gotOK, wantOK)
		}
	})
}

func BenchmarkSealMessage1MiB(b *testing.B) {
	client, _ := curvePair(b)
	data := make([]byte, 1<<20)
	buf := make([]byte, 0, 2<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		buf = client.AppendMessage(buf[:0], 0, data)
	}
}

func BenchmarkOpenMessage1MiB(b *testing.B) {
	client, server := curvePair(b)
	data := make([]byte, 1<<20)
	msgs := make([][]byte, 0, 64)
	for range 64 {
		m := client.AppendMessage(nil, 0, data)
		_, hn, _ := ParseFrameHeader(m, 0)
		msgs = append(msgs, m[hn:])
	}
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		if i == len(msgs) { // nonces must go up: a new pair of sessions
			b.StopTimer()
			client, server = curvePair(b)
			msgs = msgs[:0]
			for range 64 {
				m := client.AppendMessage(nil, 0, data)
				_, hn, _ := ParseFrameHeader(m, 0)
				msgs = append(msgs, m[hn:])
			}
			i = 0
			b.StartTimer()
		}
		if _, _, err := server.OpenMessage(msgs[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
