package mpishim_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/p2pdvm/p2pdvm/mpishim"
	"github.com/p2pdvm/p2pdvm/mpishim/mpicheck"
	"github.com/p2pdvm/p2pdvm/peal"
)

// run executes f on every member of an in-memory group of n and fails the
// test on any error. A member that fails aborts the group, so the others
// stop waiting instead of hanging the test.
func run(t *testing.T, n int, f func(c *mpishim.Comm) error) {
	t.Helper()
	ps := peal.NewGroup("t", n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range ps {
		wg.Go(func() {
			errs[i] = f(mpishim.InitWith(ps[i]))
			if errs[i] != nil {
				ps[i].Abort(1, errs[i].Error())
			}
		})
	}
	wait(t, &wg)
	for i, err := range errs {
		if err != nil {
			t.Errorf("n=%d rank %d: %v", n, i, err)
		}
	}
}

// wait bounds a test's run time: a deadlock fails it instead of hanging
// the whole package until the global timeout.
func wait(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("ranks still running after 30s: deadlock")
	}
}

var sizes = []int{1, 2, 3, 4, 5, 8}

// TestConformance runs the mpicheck suite for every group size.
func TestConformance(t *testing.T) {
	for _, chk := range mpicheck.Checks {
		t.Run(chk.Name, func(t *testing.T) {
			for _, n := range sizes {
				t.Run(fmt.Sprint(n), func(t *testing.T) {
					t.Parallel()
					run(t, n, chk.Run)
				})
			}
		})
	}
}

// TestAll runs the suite the way collcheck does (world, then reversed
// halves), on worlds that then finalize.
func TestAll(t *testing.T) {
	for _, n := range []int{1, 4, 5} {
		run(t, n, allThenFinalize)
	}
}

func allThenFinalize(c *mpishim.Comm) error {
	if err := mpicheck.All(c); err != nil {
		return err
	}
	return c.Finalize()
}

// Larger groups than the table, where the non-power-of-two paths of the
// tree and doubling algorithms have more than one extra rank.
func TestLargeGroups(t *testing.T) {
	for _, n := range []int{7, 13} {
		for _, name := range []string{"bcast", "gather", "scatter", "allgather", "allreduce", "reduce-determinism", "split-dup"} {
			for _, chk := range mpicheck.Checks {
				if chk.Name == name {
					t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) { run(t, n, chk.Run) })
				}
			}
		}
	}
}

// A member whose buffer length differs from the others' gets ErrCount,
// and nobody hangs: collectives finish with fitted data before reporting.
func TestCountMismatchReportsWithoutHanging(t *testing.T) {
	cases := []struct {
		name string
		f    func(c *mpishim.Comm, short bool) error
	}{
		{"bcast", func(c *mpishim.Comm, short bool) error {
			return c.Bcast(make([]byte, map[bool]int{true: 2, false: 4}[short]), 0)
		}},
		{"gather", func(c *mpishim.Comm, short bool) error {
			return c.Gather(make([]byte, map[bool]int{true: 2, false: 4}[short]), make([]byte, 4*c.Size()), 0)
		}},
		{"allreduce", func(c *mpishim.Comm, short bool) error {
			n := map[bool]int{true: 1, false: 3}[short]
			return mpishim.AllreduceT(c, make([]float64, n), make([]float64, n), mpishim.Sum)
		}},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			ps := peal.NewGroup("t", 5)
			errs := make([]error, len(ps))
			var wg sync.WaitGroup
			for i := range ps {
				wg.Go(func() { errs[i] = k.f(mpishim.InitWith(ps[i]), i == 3) })
			}
			wait(t, &wg)
			if !slicesAny(errs, func(e error) bool { return errors.Is(e, mpishim.ErrCount) }) {
				t.Fatalf("no rank reported ErrCount: %v", errs)
			}
		})
	}
}

func slicesAny(errs []error, f func(error) bool) bool {
	for _, e := range errs {
		if f(e) {
			return true
		}
	}
	return false
}

func TestInitOutsideJob(t *testing.T) {
	t.Setenv(peal.EnvSock, "")
	if _, err := mpishim.Init(); !errors.Is(err, peal.ErrNotInJob) {
		t.Fatalf("Init outside a job: %v", err)
	}
	if err := mpishim.Finalize(); !errors.Is(err, mpishim.ErrNoInit) {
		t.Fatalf("Finalize without Init: %v", err)
	}
}

// Finalize waits for every member, closes the endpoint, and is
// idempotent.
func TestFinalize(t *testing.T) {
	run(t, 4, func(c *mpishim.Comm) error {
		sub, err := c.Split(c.Rank()%2, 0)
		if err != nil {
			return err
		}
		if err := sub.Finalize(); err != nil { // any communicator will do
			return err
		}
		if err := c.Finalize(); err != nil {
			return err
		}
		if _, err := c.Recv(nil, 0, 0); !errors.Is(err, peal.ErrClosed) {
			return fmt.Errorf("receive after Finalize: %v", err)
		}
		return nil
	})
}

func TestWtime(t *testing.T) {
	a := mpishim.Wtime()
	b := mpishim.Wtime()
	if b < a || mpishim.Wtick() <= 0 {
		t.Fatalf("Wtime went back: %v then %v", a, b)
	}
}
