package mpicheck

import (
	"errors"
	"fmt"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// checkErrors: invalid arguments fail at once, on the calling rank, with
// the documented error class.
func checkErrors(c *mpishim.Comm) error {
	n := c.Size()
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"send to rank n", c.Send(nil, n, 0), mpishim.ErrRank},
		{"send to rank -1", c.Send(nil, -1, 0), mpishim.ErrRank},
		{"send with tag -2", c.Send(nil, 0, -2), mpishim.ErrTag},
		{"send with AnyTag", c.Send(nil, 0, mpishim.AnyTag), mpishim.ErrTag},
		{"receive from rank n", second(c.Recv(nil, n, 0)), mpishim.ErrRank},
		{"irecv with tag -5", second(c.Irecv(nil, 0, -5).Wait()), mpishim.ErrTag},
		{"probe from rank n", second(c.Probe(n, 0)), mpishim.ErrRank},
		{"bcast from root n", c.Bcast(nil, n), mpishim.ErrRank},
		{"reduce to root -1", mpishim.ReduceT(c, []int32{1}, nil, mpishim.Sum, -1), mpishim.ErrRank},
		{"bitwise and of floats", mpishim.AllreduceT(c, []float64{1}, []float64{0}, mpishim.Band), mpishim.ErrOp},
		{"unknown op", mpishim.AllreduceT(c, []int32{1}, []int32{0}, mpishim.Op(99)), mpishim.ErrOp},
		{"allreduce of strings", c.Allreduce([]string{"x"}, nil, mpishim.Sum), mpishim.ErrType},
		{"allreduce into another type", c.Allreduce([]int32{1}, []int64{0}, mpishim.Sum), mpishim.ErrType},
	}
	for _, k := range cases {
		if !errors.Is(k.err, k.want) {
			return fmt.Errorf("%s: got %v, want %v", k.name, k.err, k.want)
		}
	}
	return nil
}

func second[A any](_ A, err error) error { return err }

// checkOrder: messages from one sender are received in send order,
// per tag and across tags (non-overtaking), from every sender including
// oneself.
func checkOrder(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	const k = 30
	for dst := range n {
		for seq := range k {
			if err := mpishim.SendT(c, []int32{int32(r), int32(seq)}, dst, seq%3); err != nil {
				return err
			}
		}
	}
	for src := range n {
		// First the tag-2 messages, which were sent after others still
		// queued, then everything else with AnyTag: each stream in order.
		var want []int
		for seq := 2; seq < k; seq += 3 {
			want = append(want, seq)
		}
		tags := make([]int, len(want))
		for i := range tags {
			tags[i] = 2
		}
		for seq := range k {
			if seq%3 != 2 {
				want = append(want, seq)
				tags = append(tags, mpishim.AnyTag)
			}
		}
		for i, seq := range want {
			v := []int32{-1, -1}
			st, err := mpishim.RecvT(c, v, src, tags[i])
			if err != nil {
				return err
			}
			if v[0] != int32(src) || v[1] != int32(seq) || st.Source != src || st.Tag != seq%3 || mpishim.ElemCount[int32](st) != 2 {
				return fmt.Errorf("from %d with tag %d: got %v %+v, want message %d", src, tags[i], v, st, seq)
			}
		}
	}
	return nil
}

// checkWildcards: AnySource and AnyTag receives report who sent what.
func checkWildcards(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	if err := mpishim.SendT(c, []int64{int64(r)}, 0, 100+r); err != nil {
		return err
	}
	if r != 0 {
		return nil
	}
	seen := make([]bool, n)
	for range n {
		v := []int64{-1}
		st, err := mpishim.RecvT(c, v, mpishim.AnySource, mpishim.AnyTag)
		if err != nil {
			return err
		}
		if st.Source < 0 || st.Source >= n || seen[st.Source] || v[0] != int64(st.Source) || st.Tag != 100+st.Source || st.Count != 8 {
			return fmt.Errorf("wildcard receive: %+v data %d", st, v[0])
		}
		seen[st.Source] = true
	}
	return nil
}

// checkProbe: Probe describes a message without taking it, and Iprobe
// finds nothing where nothing was sent.
func checkProbe(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	if err := c.Send(fill(make([]byte, 100+r), r), (r+1)%n, 9); err != nil {
		return err
	}
	from := (r - 1 + n) % n
	st, err := c.Probe(mpishim.AnySource, 9)
	if err != nil {
		return err
	}
	if st.Source != from || st.Tag != 9 || st.Count != 100+from {
		return fmt.Errorf("probe: %+v", st)
	}
	if _, ok, err := c.Iprobe(mpishim.AnySource, 10); ok || err != nil {
		return fmt.Errorf("iprobe found a message with a tag nobody sent (%v)", err)
	}
	if st2, ok, err := c.Iprobe(from, mpishim.AnyTag); !ok || err != nil || st2 != st {
		return fmt.Errorf("iprobe after probe: %+v %v %v", st2, ok, err)
	}
	buf := make([]byte, st.Count)
	if _, err := c.Recv(buf, st.Source, st.Tag); err != nil {
		return err
	}
	return same(buf, from, "probed message")
}

// checkPostOrder: pending receives match arriving messages in the order
// they were posted, whichever of them is more specific.
func checkPostOrder(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	to, from := (r+1)%n, (r-1+n)%n
	a, b := make([]byte, 1), make([]byte, 1)
	q1 := c.Irecv(a, mpishim.AnySource, 5)
	q2 := c.Irecv(b, from, 5)
	if _, done, err := q1.Test(); done || err != nil {
		return fmt.Errorf("receive completed before any send (%v)", err)
	}
	// Every receive is posted before anyone sends.
	if err := c.Barrier(); err != nil {
		return err
	}
	for _, v := range []byte{1, 2} {
		if err := second(mpishim.IsendT(c, []byte{v}, to, 5).Wait()); err != nil {
			return err
		}
	}
	if err := mpishim.Waitall(q1, q2); err != nil {
		return err
	}
	if a[0] != 1 || b[0] != 2 {
		return fmt.Errorf("receives completed out of post order: %d then %d", a[0], b[0])
	}
	st, done, err := q2.Test()
	if !done || err != nil || st.Source != from {
		return fmt.Errorf("test of a completed receive: %+v %v %v", st, done, err)
	}
	// Sendrecv around the ring.
	v := []float64{-1}
	st, err = mpishim.SendrecvT(c, []float64{float64(r)}, to, 6, v, from, 6)
	if err != nil || v[0] != float64(from) || st.Source != from {
		return fmt.Errorf("sendrecv: %v %+v %v", v, st, err)
	}
	return nil
}

// checkTruncate: a message longer than the buffer fills the buffer,
// reports its full length and fails with ErrTruncate.
func checkTruncate(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	if err := c.Send(fill(make([]byte, 10), r), (r+1)%n, 3); err != nil {
		return err
	}
	from := (r - 1 + n) % n
	buf := make([]byte, 4)
	st, err := c.Recv(buf, from, 3)
	if !errors.Is(err, mpishim.ErrTruncate) || st.Count != 10 || st.Source != from {
		return fmt.Errorf("short receive: %+v %v", st, err)
	}
	return same(buf, from, "truncated message")
}

// checkIsolation: user messages with the tags and peers collectives use
// do not disturb collectives, and are still there afterwards.
func checkIsolation(c *mpishim.Comm) error {
	n, r := c.Size(), c.Rank()
	for tag := range 8 {
		if err := c.Send([]byte{byte(tag)}, (r+1)%n, tag); err != nil {
			return err
		}
	}
	if err := c.Barrier(); err != nil {
		return err
	}
	v := []int64{int64(r)}
	if err := mpishim.AllreduceT(c, v, v, mpishim.Sum); err != nil {
		return err
	}
	if v[0] != int64(n*(n-1)/2) {
		return fmt.Errorf("allreduce beside user traffic: %d", v[0])
	}
	buf := make([]byte, 2)
	if err := c.Bcast(buf, 0); err != nil {
		return err
	}
	for tag := range 8 {
		b := make([]byte, 1)
		if _, err := c.Recv(b, (r-1+n)%n, tag); err != nil || b[0] != byte(tag) {
			return fmt.Errorf("user message with tag %d: %v %v", tag, b, err)
		}
	}
	return nil
}
