package main

import (
	"sync"
	"testing"

	"github.com/p2pdvm/p2pdvm/mpishim"
	"github.com/p2pdvm/p2pdvm/peal"
)

// solveOn runs solve on an in-memory group of p ranks and returns rank 0's
// result, failing if any rank disagrees on the residual.
func solveOn(t *testing.T, p, iters, n int) result {
	t.Helper()
	ps := peal.NewGroup("heat", p)
	res := make([]result, p)
	errs := make([]error, p)
	var wg sync.WaitGroup
	for i := range ps {
		wg.Go(func() {
			res[i], errs[i] = solve(mpishim.InitWith(ps[i]), iters, n)
			if errs[i] != nil {
				ps[i].Abort(1, errs[i].Error())
			}
		})
	}
	wg.Wait()
	for i := range p {
		if errs[i] != nil {
			t.Fatalf("rank %d: %v", i, errs[i])
		}
		if res[i].residual != res[0].residual {
			t.Fatalf("rank %d residual %v, rank 0 %v", i, res[i].residual, res[0].residual)
		}
	}
	return res[0]
}

// The reference values come from a serial run; every rank count must
// reproduce them bit for bit.
func TestReferenceValues(t *testing.T) {
	const wantRes, wantSum = 0.012096012910987497, 592716.52687308204
	for _, p := range []int{1, 2, 4} {
		got := solveOn(t, p, 2000, 256)
		if got.residual != wantRes || got.checksum != wantSum {
			t.Errorf("ranks=%d: residual=%.17g checksum=%.17g, want %.17g and %.17g",
				p, got.residual, got.checksum, wantRes, wantSum)
		}
	}
}

// Small grids where blocks are one row, or hold a fixed boundary row,
// must still match the serial run.
func TestSmallGridsMatchSerial(t *testing.T) {
	for _, k := range []struct{ p, iters, n int }{{3, 7, 3}, {4, 50, 8}, {8, 130, 8}, {2, 0, 4}} {
		want := solveOn(t, 1, k.iters, k.n)
		if got := solveOn(t, k.p, k.iters, k.n); got != want {
			t.Errorf("%+v: %+v, serial %+v", k, got, want)
		}
	}
}

func TestRejectsIndivisibleN(t *testing.T) {
	c := mpishim.InitWith(peal.NewGroup("heat", 3)[0])
	if _, err := solve(c, 10, 256); err == nil {
		t.Fatal("N=256 over 3 ranks was accepted")
	}
}

func TestParseArgs(t *testing.T) {
	cases := []struct {
		args     []string
		iters, n int
		ok       bool
	}{
		{nil, 3000, 1024, true},
		{[]string{"5"}, 5, 1024, true},
		{[]string{"5", "64"}, 5, 64, true},
		{[]string{"x"}, 0, 0, false},
		{[]string{"5", "0"}, 0, 0, false},
		{[]string{"-1"}, 0, 0, false},
		{[]string{"1", "2", "3"}, 0, 0, false},
	}
	for _, k := range cases {
		it, n, err := parseArgs(k.args)
		if (err == nil) != k.ok || k.ok && (it != k.iters || n != k.n) {
			t.Errorf("%q: %d %d %v", k.args, it, n, err)
		}
	}
}
