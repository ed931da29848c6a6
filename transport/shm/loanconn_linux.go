//go:build linux

package shm

import (
	"fmt"
	"math"

	"github.com/mqwire/mqwire/socket"
)

// LoanMin is the smallest body this connection lends: LoanMin, or
// math.MaxInt when the connection has no slot pool ("?slots=0").
func (c *conn) LoanMin() int {
	if c.outp == nil {
		return math.MaxInt
	}
	return LoanMin
}

// Loan returns the first n bytes of a free slot of our pool, or ok=false
// when n is below LoanMin or above the slot size, no slot is free, or the
// connection is over. It never waits. The buffer must go to WriteLoan; until
// then it stays mapped, even if the connection is closed meanwhile.
func (c *conn) Loan(n int) ([]byte, bool) {
	if c.outp == nil || n < LoanMin || uint64(n) > c.outp.size {
		return nil, false
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.writeErr() != nil {
		return nil, false
	}
	if err := c.outp.drain(monoNow()); err != nil {
		c.setFail(err)
		return nil, false
	}
	buf, ok := c.outp.take(n)
	if ok {
		// The caller fills buf while it may race a Close: the mapping
		// stays until WriteLoan.
		c.refs.Add(1)
	}
	return buf, ok
}

// WriteLoan writes head inline, then a loan record that gives buf (from
// Loan) to the peer. buf is no longer the caller's afterwards, whatever the
// error: unsent, its slot is free again.
func (c *conn) WriteLoan(head, buf []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.outp == nil {
		return fmt.Errorf("%w: shm: WriteLoan on a connection without a slot pool", socket.ErrBadState)
	}
	idx, ok := c.outp.index(buf)
	if !ok {
		return fmt.Errorf("%w: shm: WriteLoan of a buffer that Loan did not give", socket.ErrBadState)
	}
	defer c.unref() // Loan's
	sent := false
	defer func() {
		if !sent {
			c.outp.giveBack(idx, monoNow())
		}
		c.armTrimLocked()
	}()
	if _, err := c.write(head); err != nil {
		return err
	}
	gen := c.outp.gen[idx] + 1
	var wt waiter
	for {
		if err := c.writeErr(); err != nil {
			return err
		}
		ok, err := c.out.writeLoan(idx, gen, 0, uint32(len(buf)))
		if err != nil {
			return err
		}
		if ok {
			c.outp.gen[idx] = gen
			c.outp.state[idx] = slotOnLoan
			sent = true
			signal(c.out.r.consWait, c.peerR)
			return nil
		}
		if err := c.wait(&wt, &c.ww, &c.wdl, c.hasLoanRoom); err != nil {
			return err
		}
	}
}

func (c *conn) hasLoanRoom() bool {
	if c.out.r.cap-(c.out.head-c.out.tail) >= recHeader+loanRecSize {
		return true
	}
	return c.out.loadTail() != nil || c.out.r.cap-(c.out.head-c.out.tail) >= recHeader+loanRecSize
}

// ReadLoan returns the next body in place when the peer lent it and it is
// n bytes long; it waits, as Read would, for the next record to be
// published. body aliases the peer's slot (which a hostile peer can still
// write to) until ReleaseLoan(token), which may be called from any
// goroutine, before or after Close. ok=false: the body comes through Read,
// and so does any error.
func (c *conn) ReadLoan(n int) (body []byte, token uint64, ok bool) {
	if c.inp == nil || n <= 0 {
		return nil, 0, false
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	var wt waiter
	for {
		if c.closed.Load() || c.fail.Load() != nil {
			return nil, 0, false
		}
		gone := c.peerGone.Load()
		switch c.in.peek() {
		case 1:
			return nil, 0, false
		case 2:
			signal(c.in.r.prodWait, c.peerW)
			rec := c.in.pending
			if rec.done != 0 || int(rec.len) != n {
				return nil, 0, false
			}
			c.in.pending = loanRec{}
			c.refs.Add(1) // the mapping stays until the loan comes back
			return c.inp.body(rec), loanToken(rec), true
		}
		if gone {
			return nil, 0, false
		}
		if err := c.wait(&wt, &c.rw, &c.rdl, c.in.ready); err != nil {
			return nil, 0, false
		}
	}
}

// readLoaned copies the pending loan's bytes out for Read, and gives the
// slot back once all are read.
func (c *conn) readLoaned(b []byte) int {
	p := &c.in.pending
	k := copy(b, c.inp.body(*p)[p.done:])
	p.done += uint32(k)
	if p.done == p.len {
		rec := *p
		*p = loanRec{}
		c.releaseIn(rec)
	}
	return k
}

// loanToken names a loan for ReleaseLoan: its slot and generation.
func loanToken(rec loanRec) uint64 { return uint64(rec.gen)<<32 | uint64(rec.idx) }

// ReleaseLoan gives back the body ReadLoan lent under token. A token that
// names no slot we hold (given back already) is ignored.
func (c *conn) ReleaseLoan(token uint64) {
	if c.inp == nil {
		return
	}
	if c.releaseIn(loanRec{idx: uint32(token), gen: uint32(token >> 32)}) {
		c.unref()
	}
}

// releaseIn gives a borrowed slot back to the peer, unless the connection
// is over (then the peer needs nothing back). It reports whether we held
// that slot in that generation: false for a slot given back already.
func (c *conn) releaseIn(rec loanRec) bool {
	tell := !c.closed.Load() && !c.peerGone.Load()
	held, err := c.inp.release(rec, tell)
	if err != nil {
		c.setFail(err)
	}
	return held
}
