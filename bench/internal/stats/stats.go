// Package stats holds the order statistics the benchmarks report, so
// every table computes a median or a percentile the same way.
package stats

import (
	"math"
	"slices"
)

// Median is the middle sample, or the mean of the two middle ones; NaN
// without samples.
func Median(xs []float64) float64 { return Interpolated(xs, 0.5) }

// Interpolated is the q-quantile (0 ≤ q ≤ 1) of xs, interpolated linearly
// between the two nearest samples: right for continuous quantities such as
// latencies. NaN without samples.
func Interpolated(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	i := int(math.Floor(pos))
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

// NearestRank is the q-quantile of xs by the nearest-rank method: the
// smallest sample with at least q of the samples at or below it. For
// counts (requests, rounds), where a p90 of 13.4 requests would be no
// request anyone made. NaN without samples.
func NearestRank(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}
