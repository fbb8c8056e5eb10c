package main

import (
	"fmt"
	"strconv"
)

// This VM's speed drifts by 20-40% within minutes (other tenants, the
// host's caches), and the drift hits every column of one repetition
// alike: run.sh runs the columns of a repetition back to back. A ratio of
// medians pairs a median taken in a fast minute with one taken in a slow
// one; the ratio of the two runs of one repetition cancels what they
// share. So the side-by-side heat rows also give, per repetition, a's
// time over b's, and the median of those ratios decides the targets.

// paired summarises a/b of metric over the repetitions in which both rows
// have a sample ("rep" is put beside each sample, in the same order).
func (r results) paired(a, b, metric string) stat {
	ra, xa := r.all(a, "rep"), r.all(a, metric)
	rb, xb := r.all(b, "rep"), r.all(b, metric)
	if len(ra) == 0 || len(ra) != len(xa) || len(rb) != len(xb) {
		return stat{why: "no repetition numbers"}
	}
	den := map[string]float64{}
	for i, rep := range rb {
		if v, err := strconv.ParseFloat(xb[i], 64); err == nil && v > 0 {
			den[rep] = v
		}
	}
	var qs []float64
	for i, rep := range ra {
		v, err := strconv.ParseFloat(xa[i], 64)
		if d, ok := den[rep]; ok && err == nil {
			qs = append(qs, v/d)
		}
	}
	if len(qs) == 0 {
		return stat{why: "no repetition with both rows"}
	}
	return summary(qs)
}

// pairedCell renders a paired stat as "1.05× (0.93–1.21×)".
func pairedCell(s stat) string {
	if !s.ok {
		return "–"
	}
	if s.n == 1 || s.min == s.max {
		return fmt.Sprintf("%.2f×", s.med)
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f×)", s.med, s.min, s.max)
}

// cmpPaired is a ratio target on the paired median of a over b; the
// measured column also gives the ratio of the medians, which decides
// alone for results without repetition numbers (older runs).
func cmpPaired(name string, q, a, b stat, unit string, ok func(float64) bool) target {
	if !a.ok || !b.ok || b.med == 0 {
		return cmp(name, a, b, unit, ok) // says which is missing
	}
	if !q.ok {
		x := a.med / b.med
		return target{name, fmt.Sprintf("%.2f× ratio of medians (%s vs %s %s; %s)", x, num(a.med), num(b.med), unit, q.why),
			verdict(ok(x), true)}
	}
	return target{name, fmt.Sprintf("%.2f× paired median over %d repetitions (%.2f–%.2f×); ratio of medians %.2f× (%s vs %s %s)",
		q.med, q.n, q.min, q.max, a.med/b.med, num(a.med), num(b.med), unit), verdict(ok(q.med), true)}
}
