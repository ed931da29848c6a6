package zmq4

// Queue is a first-in, first-out queue of messages, as zmq4's: Push adds
// at the back, Peek and Pop look at and remove the front. It is a plain
// data structure, not safe for use by several goroutines at once. Here
// it is a ring that doubles when full, so that a queue that stays about
// the same length allocates nothing once it has grown.
type Queue struct {
	ring []Msg
	head int // index of the front message in ring
	n    int // messages queued
}

// NewQueue returns an empty queue.
func NewQueue() *Queue { return &Queue{} }

// Len returns how many messages are queued.
func (q *Queue) Len() int { return q.n }

// Init empties the queue; it keeps its room.
func (q *Queue) Init() {
	clear(q.ring)
	q.head, q.n = 0, 0
}

// Push adds msg at the back.
func (q *Queue) Push(msg Msg) {
	if q.n == len(q.ring) {
		q.grow()
	}
	q.ring[(q.head+q.n)%len(q.ring)] = msg
	q.n++
}

// grow doubles the ring (to 16 at first), the front moving to index 0.
func (q *Queue) grow() {
	ring := make([]Msg, max(16, 2*len(q.ring)))
	k := copy(ring, q.ring[q.head:])
	copy(ring[k:], q.ring[:q.head])
	q.ring, q.head = ring, 0
}

// Peek returns the front message, and false if the queue is empty.
func (q *Queue) Peek() (Msg, bool) {
	if q.n == 0 {
		return Msg{}, false
	}
	return q.ring[q.head], true
}

// Pop removes the front message. Popping an empty queue is a programming
// error and panics, as it does in zmq4.
func (q *Queue) Pop() {
	if q.n == 0 {
		panic("zmq4: Pop on an empty Queue")
	}
	q.ring[q.head] = Msg{} // the queue no longer holds the message's frames
	q.head = (q.head + 1) % len(q.ring)
	q.n--
}
