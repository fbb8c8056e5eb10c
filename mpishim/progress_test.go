package mpishim_test

import (
	"fmt"
	"testing"

	"github.com/p2pdvm/p2pdvm/mpishim"
)

// Every rank posts a receive from its left, synchronously sends to its
// right, then waits: the Ssend must complete because the receive it meets
// has matched, though no one waits on that receive yet.
func TestSsendCompletesOnMatch(t *testing.T) {
	for _, n := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			run(t, n, func(c *mpishim.Comm) error {
				left, right := (c.Rank()+n-1)%n, (c.Rank()+1)%n
				for i := 0; i < 3; i++ {
					in := []int32{-1}
					q := mpishim.IrecvT(c, in, left, 2)
					if err := c.Ssend(mpishim.AsBytes([]int32{int32(100*i + c.Rank())}), right, 2); err != nil {
						return err
					}
					if _, err := q.Wait(); err != nil {
						return err
					}
					if in[0] != int32(100*i+left) {
						return fmt.Errorf("round %d: got %d", i, in[0])
					}
				}
				return nil
			})
		})
	}
}
