package reqid

import (
	"slices"
	"testing"

	"github.com/mqwire/mqwire/socket"
)

func TestTable(t *testing.T) {
	tb := NewTable[string]()
	tb.last = 0x7ffffffe // two ids before the low 31 bits wrap

	var ids []uint32
	for _, w := range []string{"a", "b", "c"} {
		m := socket.NewMessage(0)
		id := tb.Start(m, w)
		if id&0x80000000 == 0 {
			t.Fatalf("id %#x has the high bit clear", id)
		}
		if got := Of(m); got != id || len(m.Header) != 4 {
			t.Fatalf("header %x carries %#x, want the 4-byte word %#x", m.Header, got, id)
		}
		m.Free()
		ids = append(ids, id)
	}
	if want := []uint32{0xffffffff, 0x80000000, 0x80000001}; !slices.Equal(ids, want) {
		t.Fatalf("ids %#x, want %#x", ids, want)
	}

	if w, ok := tb.Waiting(ids[1]); !ok || w != "b" {
		t.Fatalf("Waiting(%#x) = %q, %v; want b", ids[1], w, ok)
	}
	tb.End(ids[1])
	if _, ok := tb.Waiting(ids[1]); ok {
		t.Fatal("an ended id still has a waiter")
	}
	all := slices.Sorted(tb.All())
	if !slices.Equal(all, []string{"a", "c"}) {
		t.Fatalf("All = %q, want a and c", all)
	}
}

func TestTablesStartApart(t *testing.T) {
	a, b := NewTable[int](), NewTable[int]()
	if a.last == b.last { // 1 in 2^31 by chance
		b = NewTable[int]()
	}
	if a.last == b.last {
		t.Fatal("two tables start at the same id")
	}
}
