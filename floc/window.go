package floc

// window counts the messages and bytes to one destination over the last
// len(b) ticks, a tick being Window/Buckets of the Table's clock. Keeping
// running totals next to the ring makes the chatty test two comparisons
// instead of a sum over the buckets on every message.
type window struct {
	b     []bucket
	head  int64 // tick of the newest bucket
	i     int   // where the newest bucket is in b; a cursor, not head%len(b), to spare a division a message
	msgs  int64
	bytes int64
}

type bucket struct {
	msgs  int64
	bytes int64
}

func newWindow(buckets int, tick int64) window {
	return window{b: make([]bucket, buckets), head: tick}
}

// reset empties w for reuse by another destination, keeping its ring so
// that a forgotten counter's memory serves the next one.
func (w *window) reset(tick int64) {
	clear(w.b)
	w.head, w.i, w.msgs, w.bytes = tick, 0, 0, 0
}

// advance expires the buckets that fell out of the window by tick. A tick
// at or before head changes nothing: a clock that steps back counts into
// the newest bucket rather than rewriting history.
func (w *window) advance(tick int64) {
	if tick <= w.head {
		return
	}
	if tick-w.head >= int64(len(w.b)) {
		w.reset(tick)
		return
	}
	for ; w.head < tick; w.head++ {
		if w.i++; w.i == len(w.b) {
			w.i = 0
		}
		old := &w.b[w.i]
		w.msgs -= old.msgs
		w.bytes -= old.bytes
		*old = bucket{}
	}
}

func (w *window) add(tick int64, n int64) {
	w.advance(tick)
	cur := &w.b[w.i]
	cur.msgs++
	cur.bytes += n
	w.msgs++
	w.bytes += n
}

func (w *window) chatty(c *Config) bool {
	return w.msgs >= int64(c.MinMsgs) || w.bytes >= c.MinBytes
}
