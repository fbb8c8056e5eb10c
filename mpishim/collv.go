package mpishim

import (
	"fmt"

	"github.com/p2pdvm/p2pdvm/peal"
)

// The v-collectives move blocks of different sizes: counts[i] bytes for
// member i, at displs[i] in the root's (or every member's) buffer. They
// are linear at the root, as in MPICH: the blocks differ per member, so a
// tree would forward bytes only to reshuffle them.

// block returns buf[displs[i] : displs[i]+counts[i]], or an error when the
// block lies outside buf.
func block(buf []byte, counts, displs []int, i int, what string) ([]byte, error) {
	if len(counts) <= i || len(displs) <= i {
		return nil, fmt.Errorf("%w: %s: %d counts and %d displacements for member %d", ErrCount, what, len(counts), len(displs), i)
	}
	lo, n := displs[i], counts[i]
	if n < 0 || lo < 0 || lo+n > len(buf) {
		return nil, fmt.Errorf("%w: %s: block %d of %d bytes at %d outside a buffer of %d", ErrCount, what, i, n, lo, len(buf))
	}
	return buf[lo : lo+n : lo+n], nil
}

// postBlock posts a receive from member src straight into dst.
func (c *Comm) postBlock(src, tag int, dst []byte) *peal.Recv {
	return c.pr.p.PostInto(c.ranks[src], c.ctx+1, int32(tag), dst)
}

// waitBlock completes a receive posted by postBlock, copying the data in
// when it did not arrive in place and reporting a size mismatch.
func (c *Comm) waitBlock(r *peal.Recv, src, tag int, dst []byte) error {
	m, err := c.pr.wait(r, c.ranks[src])
	if err != nil {
		return fmt.Errorf("mpishim: %s: receive from rank %d: %w", tagNames[tag], src, err)
	}
	if len(m.Data) > 0 && (len(dst) == 0 || &m.Data[0] != &dst[0]) {
		copy(dst, m.Data)
	}
	if len(m.Data) != len(dst) {
		return fmt.Errorf("%w: %s: %d bytes from rank %d, expected %d", ErrCount, tagNames[tag], len(m.Data), src, len(dst))
	}
	return nil
}

// Gatherv collects member i's send into root's recv at displs[i], which
// must have room for counts[i] bytes. counts and displs matter only at
// root.
func (c *Comm) Gatherv(send, recv []byte, counts, displs []int, root int) error {
	if err := c.checkRank(root, "root"); err != nil {
		return err
	}
	if c.rank != root {
		return c.csend(send, root, tagGatherv)
	}
	blocks := make([][]byte, c.Size())
	for i := range blocks {
		b, err := block(recv, counts, displs, i, "gatherv")
		if err != nil {
			return err
		}
		blocks[i] = b
	}
	return c.collectBlocks(blocks, send, tagGatherv)
}

// collectBlocks receives block i from every member i but this one, whose
// block is copied from mine.
func (c *Comm) collectBlocks(blocks [][]byte, mine []byte, tag int) error {
	rs := make([]*peal.Recv, len(blocks))
	for i, b := range blocks {
		if i != c.rank {
			rs[i] = c.postBlock(i, tag, b)
		}
	}
	var bad error
	if len(mine) != len(blocks[c.rank]) {
		bad = fmt.Errorf("%w: %s: own block of %d bytes, expected %d", ErrCount, tagNames[tag], len(mine), len(blocks[c.rank]))
	}
	copy(blocks[c.rank], mine)
	for i, r := range rs {
		if r != nil {
			bad = cmp(bad, c.waitBlock(r, i, tag, blocks[i]))
		}
	}
	return bad
}

// Scatterv sends counts[i] bytes at displs[i] of root's send to member i,
// which receives them into recv. counts and displs matter only at root.
func (c *Comm) Scatterv(send []byte, counts, displs []int, recv []byte, root int) error {
	if err := c.checkRank(root, "root"); err != nil {
		return err
	}
	if c.rank != root {
		return c.waitBlock(c.postBlock(root, tagScatterv, recv), root, tagScatterv, recv)
	}
	var mine []byte
	for i := 0; i < c.Size(); i++ {
		b, err := block(send, counts, displs, i, "scatterv")
		if err != nil {
			return err
		}
		if i == root {
			mine = b
			continue
		}
		if err := c.csend(b, i, tagScatterv); err != nil {
			return err
		}
	}
	if len(mine) != len(recv) {
		return fmt.Errorf("%w: scatterv: own block of %d bytes into %d", ErrCount, len(mine), len(recv))
	}
	copy(recv, mine)
	return nil
}

// Allgatherv leaves every member's send at displs[i] of every member's
// recv: a Gatherv of the packed blocks to rank 0 and a binomial Bcast of
// them, so recv is written only inside the blocks.
func (c *Comm) Allgatherv(send, recv []byte, counts, displs []int) error {
	if len(counts) != c.Size() || len(displs) != c.Size() {
		return fmt.Errorf("%w: allgatherv: %d counts and %d displacements for %d members", ErrCount, len(counts), len(displs), c.Size())
	}
	packed := make([]int, len(counts))
	total := 0
	for i, n := range counts {
		if n < 0 {
			return fmt.Errorf("%w: allgatherv: count %d for member %d", ErrCount, n, i)
		}
		packed[i] = total
		total += n
	}
	all := make([]byte, total)
	bad := c.Gatherv(send, all, counts, packed, 0)
	if err := c.Bcast(all, 0); err != nil {
		return cmp(bad, err)
	}
	for i := range counts {
		b, err := block(recv, counts, displs, i, "allgatherv")
		if err != nil {
			return cmp(bad, err)
		}
		copy(b, all[packed[i]:packed[i]+counts[i]])
	}
	return bad
}

// Alltoallv sends scounts[i] bytes at sdispls[i] of send to member i and
// receives member i's block for this rank into recv at rdispls[i]. Every
// receive is posted before the first send, and sends start at the next
// rank up so that not everyone sends to rank 0 first.
func (c *Comm) Alltoallv(send []byte, scounts, sdispls []int, recv []byte, rcounts, rdispls []int) error {
	n := c.Size()
	rblocks := make([][]byte, n)
	for i := range rblocks {
		b, err := block(recv, rcounts, rdispls, i, "alltoallv")
		if err != nil {
			return err
		}
		rblocks[i] = b
	}
	sblocks := make([][]byte, n)
	for i := range sblocks {
		b, err := block(send, scounts, sdispls, i, "alltoallv")
		if err != nil {
			return err
		}
		sblocks[i] = b
	}
	rs := make([]*peal.Recv, n)
	for i := range rblocks {
		if i != c.rank {
			rs[i] = c.postBlock(i, tagAlltoallv, rblocks[i])
		}
	}
	var bad error
	for k := 1; k < n; k++ {
		dst := (c.rank + k) % n
		if err := c.csend(sblocks[dst], dst, tagAlltoallv); err != nil {
			bad = cmp(bad, err)
		}
	}
	if len(sblocks[c.rank]) != len(rblocks[c.rank]) {
		bad = cmp(bad, fmt.Errorf("%w: alltoallv: own block of %d bytes into %d", ErrCount, len(sblocks[c.rank]), len(rblocks[c.rank])))
	}
	copy(rblocks[c.rank], sblocks[c.rank])
	for i, r := range rs {
		if r != nil {
			bad = cmp(bad, c.waitBlock(r, i, tagAlltoallv, rblocks[i]))
		}
	}
	return bad
}
