package main

import (
	"strconv"
	"testing"
)

// The checksum `make demo` expects of `heat 2000 256` (Makefile HEAT_REF):
// the serial grid here is the example's grid.
func TestHeatGridMatchesExample(t *testing.T) {
	_, sum := heatGrid(2000, 256)
	if got := strconv.FormatFloat(sum, 'g', 17, 64); got != "592716.52687308204" {
		t.Fatalf("checksum %s, the example prints 592716.52687308204", got)
	}
}
