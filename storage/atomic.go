package storage

import (
	"os"
	"path/filepath"
)

// writeAtomic writes data to final through a temporary file in tmpDir
// (same file system): write, fsync, rename, fsync of final's directory.
// A crash leaves the old content or the new, never a mix.
func writeAtomic(tmpDir, final string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(tmpDir, ".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.MkdirAll(filepath.Dir(final), 0o700)
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	dirf, err := os.Open(filepath.Dir(final))
	if err != nil {
		return err
	}
	defer dirf.Close()
	return dirf.Sync()
}
