//go:build !race

package dvm

const raceEnabled = false
