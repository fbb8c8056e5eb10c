package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

func init() {
	register(&command{
		name:    "mpicc",
		summary: "compile and link a C MPI program against p2pdvm's mpi.h and MPI library",
		usage:   "[-show] [cc flags and files...]",
		example: "p2pdvm mpicc -O2 -o ring ring.c && p2pdvm run -n 4 ./ring",
		raw:     mpicc,
	})
}

// mpiLib is the static library built from mpishim/cabi (make lib).
const mpiLib = "p2pdvm_mpi"

// mpicc runs the system C compiler with p2pdvm's include directory and,
// when it links, p2pdvm's static MPI library, forwarding every other
// argument. The library is static, so the program needs nothing from
// p2pdvm on the peers that run it. As with MPICH's mpicc, -show prints
// the command instead of running it.
func mpicc(args []string) int {
	show := false
	if i := slices.IndexFunc(args, func(a string) bool { return a == "-show" || a == "--show" }); i >= 0 {
		show = true
		args = slices.Delete(slices.Clone(args), i, i+1)
	}
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Println("usage: p2pdvm mpicc [-show] [cc flags and files...]\n\n" +
			"Compiles and links a C MPI program against p2pdvm's mpi.h and static MPI library.\n" +
			"Every argument but -show goes to the C compiler ($P2PDVM_CC, default cc).\n" +
			"The library is looked for in $P2PDVM_MPI_HOME, else next to this binary (../include, ../lib).\n\n" +
			"example:\n  p2pdvm mpicc -O2 -o ring ring.c && p2pdvm run -n 4 ./ring")
		return 0
	}
	home, err := mpiHome()
	if err != nil {
		fmt.Fprintf(os.Stderr, "p2pdvm mpicc: %v\n", err)
		return 1
	}
	cc := os.Getenv("P2PDVM_CC")
	if cc == "" {
		cc = "cc"
	}
	argv := append([]string{"-I" + filepath.Join(home, "include")}, args...)
	if links(args) {
		// The Go runtime inside the library needs threads; -lm for the
		// programs, as most MPI codes expect it.
		argv = append(argv, "-L"+filepath.Join(home, "lib"), "-l"+mpiLib, "-lpthread", "-lm")
	}
	if show {
		fmt.Println(strings.Join(append([]string{cc}, argv...), " "))
		return 0
	}
	cmd := exec.Command(cc, argv...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "p2pdvm mpicc: %v\n", err)
		return 1
	}
	return 0
}

// links reports whether a compiler command line links: -c, -S, -E and
// the dependency-only flags stop before the linker, and without any
// argument there is nothing to link.
func links(args []string) bool {
	if len(args) == 0 {
		return false
	}
	for _, a := range args {
		switch a {
		case "-c", "-S", "-E", "-M", "-MM", "--version", "-v", "-dumpversion", "-dumpmachine":
			return false
		}
	}
	return true
}

// mpiHome finds the directory holding include/mpi.h and the library:
// $P2PDVM_MPI_HOME, else the parent of the directory of this binary
// (symlinks resolved), which is where make build puts them.
func mpiHome() (string, error) {
	var tried []string
	if h := os.Getenv("P2PDVM_MPI_HOME"); h != "" {
		tried = append(tried, h)
	} else if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			tried = append(tried, filepath.Dir(filepath.Dir(exe)))
		}
	}
	for _, h := range tried {
		_, e1 := os.Stat(filepath.Join(h, "include", "mpi.h"))
		_, e2 := os.Stat(filepath.Join(h, "lib", "lib"+mpiLib+".a"))
		if e1 == nil && e2 == nil {
			return h, nil
		}
	}
	return "", fmt.Errorf("no include/mpi.h and lib/lib%s.a under %s: build them with 'make build' or set P2PDVM_MPI_HOME",
		mpiLib, strings.Join(tried, ", "))
}
