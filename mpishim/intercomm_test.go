package mpishim_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// halves joins the lower and the upper half of the world (odd sizes give
// the upper half one more) in an intercommunicator, leaders talking over
// the world with tag 9.
func halves(w *mpishim.Comm) (local, ic *mpishim.Comm, low bool, err error) {
	n, me := w.Size(), w.Rank()
	low = me < n/2
	color, remote := 1, 0
	if low {
		color, remote = 0, n/2
	}
	if local, err = w.Split(color, me); err != nil {
		return nil, nil, low, err
	}
	ic, err = local.IntercommCreate(0, w, remote, 9)
	return local, ic, low, err
}

func TestIntercomm(t *testing.T) {
	for _, n := range []int{2, 3, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			run(t, n, func(w *mpishim.Comm) error {
				local, ic, low, err := halves(w)
				if err != nil {
					return err
				}
				me, nlow := w.Rank(), n/2
				if !ic.IsInter() || local.IsInter() || ic.Size() != local.Size() || len(ic.RemoteMembers()) != n-local.Size() {
					return fmt.Errorf("intercomm: inter %v size %d remote %v", ic.IsInter(), ic.Size(), ic.RemoteMembers())
				}
				// Rank r sends to remote rank r mod remote size; status
				// sources name the remote group.
				rsize := len(ic.RemoteMembers())
				if err := mpishim.SendT(ic, []int64{int64(me)}, ic.Rank()%rsize, 1); err != nil {
					return err
				}
				for r := 0; r < rsize; r++ {
					if r%ic.Size() != ic.Rank() {
						continue
					}
					got := []int64{-1}
					st, err := mpishim.RecvT(ic, got, mpishim.AnySource, 1)
					if err != nil {
						return err
					}
					if want := ic.RemoteMembers()[st.Source]; got[0] != int64(want) {
						return fmt.Errorf("from remote rank %d got world %d, want %d", st.Source, got[0], want)
					}
				}
				// A dup is a second intercommunicator with the same groups.
				d, err := ic.Dup()
				if err != nil || !d.IsInter() || !slices.Equal(d.RemoteMembers(), ic.RemoteMembers()) || d.Context() == ic.Context() {
					return fmt.Errorf("dup: %v", err)
				}
				// Merge with the low half high: the upper half comes first.
				m, err := d.Merge(low)
				if err != nil {
					return err
				}
				want := me - nlow
				if low {
					want = n - nlow + me
				}
				if m.Rank() != want || m.Size() != n {
					return fmt.Errorf("merge: rank %d of %d, want %d of %d", m.Rank(), m.Size(), want, n)
				}
				// Both pass false: the group with the lower leader (world 0) first.
				m2, err := ic.Merge(false)
				if err != nil || m2.Rank() != me {
					return fmt.Errorf("merge with a tie: rank %v, want %d (%v)", m2, me, err)
				}
				sum := []int64{0}
				if err := mpishim.AllreduceT(m, []int64{int64(me)}, sum, mpishim.Sum); err != nil || sum[0] != int64(n*(n-1)/2) {
					return fmt.Errorf("allreduce over the merged comm: %d, %v", sum[0], err)
				}
				// Split by parity of the world rank: the halves' parities meet.
				s, err := ic.Split(me%2, -me)
				if err != nil {
					return err
				}
				if s != nil {
					for _, r := range s.RemoteMembers() {
						if r%2 != me%2 {
							return fmt.Errorf("split: remote world rank %d in the color of %d", r, me)
						}
					}
				}
				// Create from each side's first member alone.
				c, err := ic.CreateFrom(local.Members()[:1])
				if err != nil {
					return err
				}
				if (c != nil) != (local.Rank() == 0) || (c != nil && len(c.RemoteMembers()) != 1) {
					return fmt.Errorf("create: %v for local rank %d", c, local.Rank())
				}
				return w.Barrier()
			})
		})
	}
}

func TestCreateGroup(t *testing.T) {
	run(t, 5, func(w *mpishim.Comm) error {
		evens := []int{4, 2, 0} // the new rank order
		if w.Rank()%2 == 1 {
			return w.Barrier() // not a member: does not call it
		}
		c, err := w.CreateGroup(evens)
		if err != nil {
			return err
		}
		if c.Rank() != slices.Index(evens, w.Rank()) || c.Size() != 3 {
			return fmt.Errorf("create group: rank %d size %d", c.Rank(), c.Size())
		}
		if err := c.Barrier(); err != nil {
			return err
		}
		return w.Barrier()
	})
}

// MPI-2.2: one MPI_Comm_create call may build several communicators from
// disjoint groups, each process passing its own.
func TestCreateFromDisjointGroups(t *testing.T) {
	run(t, 5, func(w *mpishim.Comm) error {
		odd, even := []int{1, 3}, []int{4, 2, 0}
		mine := even
		if w.Rank()%2 == 1 {
			mine = odd
		}
		c, err := w.CreateFrom(mine)
		if err != nil {
			return err
		}
		if c.Size() != len(mine) || c.Rank() != slices.Index(mine, w.Rank()) {
			return fmt.Errorf("rank %d of %d, want %d of %d", c.Rank(), c.Size(), slices.Index(mine, w.Rank()), len(mine))
		}
		return c.Barrier()
	})
}
