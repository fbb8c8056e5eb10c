package storage

import (
	"os"
	"syscall"
)

// setDirect switches O_DIRECT on or off for an open file. It fails where
// the file system does not do direct I/O.
func setDirect(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		fl, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		if e != 0 {
			serr = e
			return
		}
		if on {
			fl |= syscall.O_DIRECT
		} else {
			fl &^= syscall.O_DIRECT
		}
		if _, _, e = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFL, fl); e != 0 {
			serr = e
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// syncData makes a file's data and size durable (fdatasync): what a
// reader needs. For a new file that is a journal commit of its inode, as
// fsync would do; it skips the flush fsync makes for a change of
// timestamps alone.
func syncData(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}
