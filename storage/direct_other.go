//go:build !linux

package storage

import (
	"errors"
	"os"
)

// setDirect: direct I/O is only used on Linux; elsewhere files go
// through the page cache.
func setDirect(*os.File, bool) error { return errors.New("storage: no O_DIRECT here") }

// syncData is fsync where fdatasync is not at hand.
func syncData(f *os.File) error { return f.Sync() }
