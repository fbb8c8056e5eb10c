//go:build race

package dvm

// raceEnabled: the race detector slows hashing and compression about
// tenfold, so the largest store test moves less data under it.
const raceEnabled = true
