// Package sandbox confines a rank process before its program runs: it
// may write only its working directory, read and execute only its own
// program, the system's directories and what the peer's owner shares, and
// connect only to its host's process socket. A rank is code from another
// member of the DVM; it must not read the peer's identity key, the block
// store or other jobs' files.
//
// Confinement uses Landlock, which an unprivileged process applies to
// itself and which is inherited across exec. os/exec has no hook between
// fork and exec, so the host starts its own binary with a marker argument
// (Command); that binary's main calls Main first, which confines its
// thread and execs the program from that same thread. On a kernel without
// Landlock the program runs unconfined (ABI says so; the peer logs it at
// start).
//
// Landlock before ABI 9 does not govern connect(2) on unix sockets, so
// the peer's control socket guards itself (dvm checks who connects).
package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Policy is what a confined process may touch besides the system's
// directories.
type Policy struct {
	Work string   `json:"work"`           // read, write, create, delete
	Exec string   `json:"exec"`           // the program: read and execute
	Read []string `json:"read,omitempty"` // more directories it may read
}

// systemDirs are readable (and their programs executable) by every rank:
// the dynamic loader, shared libraries, configuration, and the kernel's
// pseudo file systems that language runtimes read.
var systemDirs = []string{"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc", "/opt", "/proc", "/sys", "/dev"}

// devices a rank may also write.
var devices = []string{"/dev/null", "/dev/zero", "/dev/full"}

// marker is the argument that tells Main it is a trampoline.
const marker = "__p2pdvm-sandbox"

type spec struct {
	Policy Policy   `json:"policy"`
	Prog   string   `json:"prog"`
	Argv   []string `json:"argv"`
}

// Command is the argv that runs prog with argv (argv[0] first) confined
// by pol: through self, a binary whose main calls Main before anything.
func Command(self string, pol Policy, prog string, argv []string) []string {
	b, _ := json.Marshal(spec{Policy: pol, Prog: prog, Argv: argv})
	return []string{self, marker, string(b)}
}

// Main confines this thread and execs the program if the process was
// started by Command, and returns at once otherwise. It never returns in
// the first case: a program that cannot be confined does not run.
func Main() {
	if len(os.Args) != 3 || os.Args[1] != marker {
		return
	}
	var s spec
	if err := json.Unmarshal([]byte(os.Args[2]), &s); err != nil || s.Prog == "" || len(s.Argv) == 0 {
		fmt.Fprintf(os.Stderr, "p2pdvm sandbox: bad invocation: %v\n", err)
		os.Exit(126)
	}
	// Landlock confines the calling thread; exec keeps only the thread
	// that calls it. Both must be this one.
	runtime.LockOSThread()
	if err := confine(s.Policy); err != nil {
		fmt.Fprintf(os.Stderr, "p2pdvm sandbox: %v\n", err)
		os.Exit(126)
	}
	err := syscall.Exec(s.Prog, s.Argv, os.Environ())
	fmt.Fprintf(os.Stderr, "p2pdvm sandbox: exec %s: %v\n", s.Prog, err)
	os.Exit(127)
}

// Access rights by the Landlock ABI that introduced them.
const (
	fsV1 = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	fsV2 = fsV1 | unix.LANDLOCK_ACCESS_FS_REFER
	fsV3 = fsV2 | unix.LANDLOCK_ACCESS_FS_TRUNCATE

	readDir  = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	readFile = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE
	rwFile   = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE
	rwDir    = fsV3
)

// ABI is the kernel's Landlock ABI version, 0 without Landlock: then
// ranks run unconfined.
func ABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

type pathRule struct {
	paths    []string
	access   uint64
	optional bool // a path that does not exist is skipped
}

// confine restricts the calling thread, and what it execs, to pol.
func confine(pol Policy) error {
	if pol.Work == "" || pol.Exec == "" {
		return fmt.Errorf("policy without a working directory or program: %+v", pol)
	}
	abi := ABI()
	if abi < 1 {
		return nil // no Landlock: the peer said so when it started
	}
	handled := uint64(fsV1)
	if abi >= 2 {
		handled = fsV2
	}
	if abi >= 3 {
		handled = fsV3
	}
	attr := unix.LandlockRulesetAttr{Access_fs: handled}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return fmt.Errorf("landlock: create ruleset: %w", errno)
	}
	defer unix.Close(int(fd))
	rules := []pathRule{
		{paths: systemDirs, access: readDir, optional: true},
		{paths: devices, access: rwFile, optional: true},
		{paths: []string{pol.Work}, access: rwDir},
		{paths: []string{pol.Exec}, access: readFile},
		{paths: pol.Read, access: readDir},
	}
	for _, r := range rules {
		for _, path := range r.paths {
			if err := addPath(int(fd), path, r.access&handled); err != nil {
				if r.optional && errors.Is(err, unix.ENOENT) {
					continue
				}
				return fmt.Errorf("landlock: %s: %w", path, err)
			}
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); errno != 0 {
		return fmt.Errorf("landlock: restrict self: %w", errno)
	}
	return nil
}

// addPath allows access beneath path; a file gets only the rights that
// apply to files.
func addPath(rulesetFD int, path string, access uint64) error {
	pfd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	rule := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(pfd)}
	if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rulesetFD), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&rule)), 0, 0, 0); errno != 0 {
		return errno
	}
	return nil
}
