package mpishim_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// matmul is a non-commutative Combine over 2x2 integer matrices stored as
// 4 bytes (mod 256): inout = in * inout, the MPI argument order.
func matmul(inout, in []byte) error {
	for k := 0; k+4 <= len(in); k += 4 {
		a, b := in[k:k+4], inout[k:k+4]
		r := [4]byte{a[0]*b[0] + a[1]*b[2], a[0]*b[1] + a[1]*b[3], a[2]*b[0] + a[3]*b[2], a[2]*b[1] + a[3]*b[3]}
		copy(b, r[:])
	}
	return nil
}

func rankMatrix(r int) []byte { return []byte{byte(r + 1), 1, byte(2*r + 1), 3} }

// prefix is rankMatrix(0) * ... * rankMatrix(hi-1), in rank order.
func prefix(hi int) []byte {
	acc := []byte{1, 0, 0, 1}
	for r := 0; r < hi; r++ {
		m := rankMatrix(r)
		out := append([]byte(nil), m...)
		matmul(out, acc) // out = acc * m
		acc = out
	}
	return acc
}

// Non-commutative reductions must combine in rank order whatever the root
// and the number of members.
func TestNonCommutativeReductions(t *testing.T) {
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			run(t, n, func(c *mpishim.Comm) error {
				me := rankMatrix(c.Rank())
				for root := 0; root < n; root++ {
					got := make([]byte, 4)
					if err := c.ReduceFunc(me, got, matmul, false, root); err != nil {
						return err
					}
					if c.Rank() == root && !bytes.Equal(got, prefix(n)) {
						return fmt.Errorf("reduce to %d: %v, want %v", root, got, prefix(n))
					}
				}
				all := make([]byte, 4)
				if err := c.AllreduceFunc(me, all, matmul); err != nil {
					return err
				}
				if !bytes.Equal(all, prefix(n)) {
					return fmt.Errorf("allreduce: %v, want %v", all, prefix(n))
				}
				scan := make([]byte, 4)
				if err := c.ScanFunc(me, scan, matmul, false, false); err != nil {
					return err
				}
				if !bytes.Equal(scan, prefix(c.Rank()+1)) {
					return fmt.Errorf("scan: %v, want %v", scan, prefix(c.Rank()+1))
				}
				ex := []byte{9, 9, 9, 9}
				if err := c.ScanFunc(me, ex, matmul, false, true); err != nil {
					return err
				}
				if c.Rank() > 0 && !bytes.Equal(ex, prefix(c.Rank())) {
					return fmt.Errorf("exscan: %v, want %v", ex, prefix(c.Rank()))
				}
				if c.Rank() == 0 && !bytes.Equal(ex, []byte{9, 9, 9, 9}) {
					return fmt.Errorf("exscan wrote rank 0's buffer: %v", ex)
				}
				return nil
			})
		})
	}
}

// The v-collectives move blocks of a different size per member to and
// from arbitrary displacements.
func TestVCollectives(t *testing.T) {
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			run(t, n, func(c *mpishim.Comm) error {
				counts, displs := make([]int, n), make([]int, n)
				total := 0
				for i := range counts {
					counts[i], displs[i] = i+1, total+1 // a gap before each block
					total += i + 2
				}
				mine := bytes.Repeat([]byte{byte(c.Rank() + 1)}, c.Rank()+1)
				want := make([]byte, total)
				for i := range counts {
					copy(want[displs[i]:], bytes.Repeat([]byte{byte(i + 1)}, i+1))
				}
				for root := 0; root < n; root++ {
					got := make([]byte, total)
					if err := c.Gatherv(mine, got, counts, displs, root); err != nil {
						return err
					}
					if c.Rank() == root && !bytes.Equal(got, want) {
						return fmt.Errorf("gatherv to %d: %v, want %v", root, got, want)
					}
					back := make([]byte, c.Rank()+1)
					if err := c.Scatterv(want, counts, displs, back, root); err != nil {
						return err
					}
					if !bytes.Equal(back, mine) {
						return fmt.Errorf("scatterv from %d: %v, want %v", root, back, mine)
					}
				}
				got := make([]byte, total)
				if err := c.Allgatherv(mine, got, counts, displs); err != nil {
					return err
				}
				if !bytes.Equal(got, want) {
					return fmt.Errorf("allgatherv: %v, want %v", got, want)
				}
				// Alltoallv: member r sends r+1 bytes of value 10r+d to d.
				sc, sd, rc, rd := make([]int, n), make([]int, n), make([]int, n), make([]int, n)
				var send []byte
				for d := 0; d < n; d++ {
					sc[d], sd[d] = c.Rank()+1, len(send)
					send = append(send, bytes.Repeat([]byte{byte(10*c.Rank() + d)}, c.Rank()+1)...)
				}
				rtotal := 0
				for s := 0; s < n; s++ {
					rc[s], rd[s] = s+1, rtotal
					rtotal += s + 1
				}
				recv := make([]byte, rtotal)
				if err := c.Alltoallv(send, sc, sd, recv, rc, rd); err != nil {
					return err
				}
				for s := 0; s < n; s++ {
					if b := recv[rd[s] : rd[s]+rc[s]]; !bytes.Equal(b, bytes.Repeat([]byte{byte(10*s + c.Rank())}, s+1)) {
						return fmt.Errorf("alltoallv block from %d: %v", s, b)
					}
				}
				return nil
			})
		})
	}
}

// A synchronous send completes only once its message is matched, and a
// receive that never matched can be cancelled.
func TestSsendAndCancel(t *testing.T) {
	run(t, 2, func(c *mpishim.Comm) error {
		if c.Rank() == 0 {
			q := c.Issend([]byte("sync"), 1, 5)
			if _, done, _ := q.Test(); done {
				return fmt.Errorf("Issend complete before rank 1 posted a receive")
			}
			if err := c.Send(nil, 1, 6); err != nil { // tells rank 1 to receive
				return err
			}
			if _, err := q.Wait(); err != nil {
				return err
			}
			return nil
		}
		r := c.Irecv(make([]byte, 8), 0, 99)
		if !r.Cancel() {
			return fmt.Errorf("cancel of an unmatched receive failed")
		}
		if st, err := r.Wait(); err != nil || !st.Cancelled {
			return fmt.Errorf("cancelled receive: %+v, %v", st, err)
		}
		if _, err := c.Recv(nil, 0, 6); err != nil {
			return err
		}
		buf := make([]byte, 8)
		st, err := c.Recv(buf, 0, 5)
		if err != nil || string(buf[:st.Count]) != "sync" {
			return fmt.Errorf("ssend message: %q, %v", buf[:st.Count], err)
		}
		return nil
	})
}
