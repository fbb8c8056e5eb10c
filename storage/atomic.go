package storage

import (
	"os"
	"path/filepath"
)

// writeAtomic writes data to final through a temporary file in tmpDir
// (same file system): write (direct I/O where it can, see direct.go),
// fdatasync, rename, fsync of final's directory. A crash leaves the old
// content or the new, never a mix, and once it returns the new content
// is on stable storage.
func writeAtomic(tmpDir, final string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(tmpDir, ".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	w := NewDirectWriter(f)
	_, err = w.Write(data)
	if ferr := w.Finish(); err == nil {
		err = ferr
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = syncData(f)
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
