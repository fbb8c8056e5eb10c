package mpishim

import "fmt"

// Tags of collective traffic. It travels on the communicator's collective
// context, so it never meets user messages. Every member enters blocking
// collectives in the same order and each pair's messages stay in order,
// so a tag per algorithm is enough to keep successive collectives apart.
const (
	tagBarrier = iota
	tagBcast
	tagReduce
	tagAllreduce
	tagGather
	tagScatter
	tagAllgather
	tagAlltoall
	tagScan
	tagGatherv
	tagScatterv
	tagAlltoallv
)

var tagNames = [...]string{"barrier", "bcast", "reduce", "allreduce", "gather", "scatter", "allgather", "alltoall",
	"scan", "gatherv", "scatterv", "alltoallv"}

func (c *Comm) csend(buf []byte, dst, tag int) error {
	if err := c.pr.p.Send(c.ranks[dst], c.ctx+1, int32(tag), buf); err != nil {
		return fmt.Errorf("mpishim: %s: send to rank %d: %w", tagNames[tag], dst, err)
	}
	return nil
}

// crecv receives a collective message; the buffer it returns is the
// caller's to keep or modify.
func (c *Comm) crecv(src, tag int) ([]byte, error) {
	m, err := c.pr.wait(c.pr.p.Post(c.ranks[src], c.ctx+1, int32(tag)), c.ranks[src])
	if err != nil {
		return nil, fmt.Errorf("mpishim: %s: receive from rank %d: %w", tagNames[tag], src, err)
	}
	return m.Data, nil
}

// fitLen returns b cut or zero-padded to n bytes, with an error when it
// had to change it. A collective that meets a wrong-sized contribution
// keeps going with the fitted one, so that no other rank waits forever
// for a message this one would then never send, and reports the error at
// the end.
func fitLen(b []byte, n int, tag int) ([]byte, error) {
	if len(b) == n {
		return b, nil
	}
	err := fmt.Errorf("%w: %s: got %d bytes, want %d (counts differ between ranks)", ErrCount, tagNames[tag], len(b), n)
	if len(b) > n {
		return b[:n], err
	}
	return append(b, make([]byte, n-len(b))...), err
}

// rel is this rank's rank relative to root, the numbering trees use.
func (c *Comm) rel(root int) int { return (c.rank - root + c.Size()) % c.Size() }

// abs maps a rank relative to root back to a rank in c.
func (c *Comm) abs(v, root int) int { return (v + root) % c.Size() }

// Barrier returns once every member has entered it (dissemination
// algorithm: ceil(log2 n) rounds of one message each way).
func (c *Comm) Barrier() error {
	n := c.Size()
	for k := 1; k < n; k <<= 1 {
		if err := c.csend(nil, (c.rank+k)%n, tagBarrier); err != nil {
			return err
		}
		if _, err := c.crecv((c.rank-k+n)%n, tagBarrier); err != nil {
			return err
		}
	}
	return nil
}

// Bcast copies root's buf into every member's buf (binomial tree). All
// members pass buffers of the same length.
func (c *Comm) Bcast(buf []byte, root int) error {
	if err := c.checkRank(root, "root"); err != nil {
		return err
	}
	n, v := c.Size(), c.rel(root)
	var bad error
	mask := 1
	for ; mask < n; mask <<= 1 {
		if v&mask != 0 {
			data, err := c.crecv(c.abs(v-mask, root), tagBcast)
			if err != nil {
				return err
			}
			data, bad = fitLen(data, len(buf), tagBcast)
			copy(buf, data)
			break
		}
	}
	for mask >>= 1; mask > 0; mask >>= 1 {
		if v+mask < n {
			if err := c.csend(buf, c.abs(v+mask, root), tagBcast); err != nil {
				return err
			}
		}
	}
	return bad
}

// subtree is the number of ranks in relative rank v's binomial subtree.
func subtree(v, n int) int {
	size := 1
	for mask := 1; mask < n && v&mask == 0; mask <<= 1 {
		size += max(0, min(mask, n-(v+mask)))
	}
	return size
}

// Gather collects every member's send, all of one length, into root's
// recv in rank order (binomial tree). recv is used only at root.
func (c *Comm) Gather(send, recv []byte, root int) error {
	if err := c.checkRank(root, "root"); err != nil {
		return err
	}
	n, blk, v := c.Size(), len(send), c.rel(root)
	// tmp collects this subtree's blocks in relative-rank order; at root 0
	// that is rank order, so it can be recv itself.
	var tmp []byte
	if v == 0 && root == 0 && len(recv) >= n*blk {
		tmp = recv[: 0 : n*blk]
	} else {
		tmp = make([]byte, 0, blk*subtree(v, n))
	}
	tmp = append(tmp, send...)
	var bad error
	for mask := 1; mask < n; mask <<= 1 {
		if v&mask != 0 {
			if err := c.csend(tmp, c.abs(v-mask, root), tagGather); err != nil {
				return err
			}
			return bad
		}
		if v+mask < n {
			data, err := c.crecv(c.abs(v+mask, root), tagGather)
			if err != nil {
				return err
			}
			data, err = fitLen(data, blk*min(mask, n-(v+mask)), tagGather)
			bad = cmp(bad, err)
			tmp = append(tmp, data...)
		}
	}
	if len(recv) < n*blk {
		return fmt.Errorf("%w: gather of %d bytes into %d", ErrTruncate, n*blk, len(recv))
	}
	unrotate(recv, tmp, root, blk, n)
	return bad
}

// unrotate writes blocks held in relative-rank order (block i belongs to
// member (i+first)%n) into recv in member order. With first == 0 the
// blocks were gathered in place and there is nothing to do.
func unrotate(recv, rel []byte, first, blk, n int) {
	if first == 0 {
		return
	}
	k := (n - first) * blk
	copy(recv[first*blk:], rel[:k])
	copy(recv, rel[k:])
}

// cmp keeps the first error.
func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// Scatter sends block i of root's send to member i's recv (binomial
// tree); the block size is len(recv), the same on every member. send is
// used only at root.
func (c *Comm) Scatter(send, recv []byte, root int) error {
	if err := c.checkRank(root, "root"); err != nil {
		return err
	}
	n, blk, v := c.Size(), len(recv), c.rel(root)
	var tmp []byte // this subtree's blocks in relative-rank order
	var bad error
	mask := 1
	if v == 0 {
		if len(send) < n*blk {
			bad = fmt.Errorf("%w: scatter of %d bytes to %d ranks of %d", ErrCount, len(send), n, blk)
			send = append(send[:len(send):len(send)], make([]byte, n*blk-len(send))...)
		}
		tmp = send
		if root != 0 {
			tmp = make([]byte, n*blk)
			k := (n - root) * blk
			copy(tmp, send[root*blk:n*blk])
			copy(tmp[k:], send[:root*blk])
		}
		for mask < n {
			mask <<= 1
		}
	} else {
		for ; v&mask == 0; mask <<= 1 {
		}
		data, err := c.crecv(c.abs(v-mask, root), tagScatter)
		if err != nil {
			return err
		}
		tmp, bad = fitLen(data, blk*subtree(v, n), tagScatter)
	}
	for mask >>= 1; mask > 0; mask >>= 1 {
		if v+mask < n {
			cnt := min(mask, n-(v+mask))
			if err := c.csend(tmp[mask*blk:(mask+cnt)*blk], c.abs(v+mask, root), tagScatter); err != nil {
				return err
			}
		}
	}
	copy(recv, tmp[:blk])
	return bad
}

// Allgather collects every member's send, all of one length, into every
// member's recv in rank order. Bruck's algorithm: in ceil(log2 n) rounds
// each rank passes the blocks it has to the rank k below it and takes k
// more from the rank k above, for any n.
func (c *Comm) Allgather(send, recv []byte) error {
	n, blk, r := c.Size(), len(send), c.rank
	// tmp holds the blocks of ranks r, r+1, ... (mod n); at rank 0 that is
	// rank order, so it can be recv itself.
	var tmp []byte
	if r == 0 && len(recv) >= n*blk {
		tmp = recv[: 0 : n*blk]
	} else {
		tmp = make([]byte, 0, n*blk)
	}
	tmp = append(tmp, send...)
	var bad error
	for k := 1; k < n; k <<= 1 {
		cnt := min(k, n-k)
		if err := c.csend(tmp[:cnt*blk], (r-k+n)%n, tagAllgather); err != nil {
			return err
		}
		data, err := c.crecv((r+k)%n, tagAllgather)
		if err != nil {
			return err
		}
		data, err = fitLen(data, cnt*blk, tagAllgather)
		bad = cmp(bad, err)
		tmp = append(tmp, data...)
	}
	if len(recv) < n*blk {
		return fmt.Errorf("%w: allgather of %d bytes into %d", ErrTruncate, n*blk, len(recv))
	}
	unrotate(recv, tmp, r, blk, n)
	return bad
}

// Alltoall sends block i of send to member i and receives member i's
// block into block i of recv; len(send)/Size() is the block size. In step
// i of n-1 each rank sends to the rank i above it and receives from the
// rank i below (pairwise exchange), so at most one block per step waits
// in any receiver's queue.
func (c *Comm) Alltoall(send, recv []byte) error {
	n, r := c.Size(), c.rank
	if len(send)%n != 0 {
		return fmt.Errorf("%w: alltoall of %d bytes over %d ranks", ErrCount, len(send), n)
	}
	blk := len(send) / n
	if len(recv) < len(send) {
		return fmt.Errorf("%w: alltoall of %d bytes into %d", ErrTruncate, len(send), len(recv))
	}
	copy(recv[r*blk:(r+1)*blk], send[r*blk:(r+1)*blk])
	var bad error
	for i := 1; i < n; i++ {
		dst, src := (r+i)%n, (r-i+n)%n
		if err := c.csend(send[dst*blk:(dst+1)*blk], dst, tagAlltoall); err != nil {
			return err
		}
		data, err := c.crecv(src, tagAlltoall)
		if err != nil {
			return err
		}
		data, err = fitLen(data, blk, tagAlltoall)
		bad = cmp(bad, err)
		copy(recv[src*blk:], data)
	}
	return bad
}
