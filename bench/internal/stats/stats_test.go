package stats

import (
	"math"
	"testing"
)

func TestQuantiles(t *testing.T) {
	xs := []float64{9, 1, 8, 2, 7, 3, 6, 4, 5, 10}
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"median, even count", Median(xs), 5.5},
		{"median, odd count", Median(xs[:9]), 5},
		{"interpolated p90", Interpolated(xs, 0.9), 9.1},
		{"interpolated p0", Interpolated(xs, 0), 1},
		{"interpolated p100", Interpolated(xs, 1), 10},
		{"nearest-rank median", NearestRank(xs, 0.5), 5},
		{"nearest-rank p90", NearestRank(xs, 0.9), 9},
		{"nearest-rank p0", NearestRank(xs, 0), 1},
		{"nearest-rank p91", NearestRank(xs, 0.91), 10},
		{"interpolated p95 of 5", Interpolated([]float64{1, 2, 3, 4, 5}, 0.95), 4.8},
		{"interpolated p95 of one", Interpolated([]float64{7}, 0.95), 7},
	} {
		if math.Abs(tc.got-tc.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if xs[0] != 9 {
		t.Error("the input was sorted in place")
	}
	for _, f := range []func([]float64, float64) float64{Interpolated, NearestRank} {
		if !math.IsNaN(f(nil, 0.5)) {
			t.Error("no samples gave a number")
		}
	}
}
