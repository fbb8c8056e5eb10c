// Command p2pdvm is the one binary of p2pdvm: the peer daemon, and the
// commands that submit jobs to it and ask it about them.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/p2pdvm/p2pdvm/internal/sandbox"
	"github.com/spf13/pflag"
)

// command is one subcommand. run returns the process exit code.
type command struct {
	name    string
	summary string
	usage   string // argument synopsis
	example string
	run     func(fs *pflag.FlagSet, args []string) int
	flags   func(fs *pflag.FlagSet)
	// raw, when set, gets the arguments unparsed: a wrapper such as
	// mpicc forwards flags it does not know instead of refusing them.
	raw func(args []string) int
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

func main() {
	// Started by a peer to confine a rank: confine, exec it, never return.
	sandbox.Main()
	os.Exit(dispatch(os.Args))
}

func dispatch(argv []string) int {
	// Installed as a symlink named after a subcommand (mpicc -> p2pdvm),
	// the binary behaves as that subcommand, so make CC=mpicc works.
	if name := filepath.Base(argv[0]); name != "p2pdvm" {
		for _, c := range commands {
			if c.name == name && c.raw != nil {
				return c.raw(argv[1:])
			}
		}
	}
	if len(argv) < 2 || argv[1] == "-h" || argv[1] == "--help" || argv[1] == "help" {
		usage(os.Stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == argv[1] {
			if c.raw != nil {
				return c.raw(argv[2:])
			}
			fs := pflag.NewFlagSet("p2pdvm "+c.name, pflag.ContinueOnError)
			fs.SortFlags = false
			// Everything after the program belongs to the program (mpiexec style).
			fs.SetInterspersed(false)
			if c.flags != nil {
				c.flags(fs)
			}
			fs.Usage = func() {
				fmt.Fprintf(os.Stderr, "usage: p2pdvm %s %s\n\n%s\n\nflags:\n%s\nexample:\n  %s\n",
					c.name, c.usage, c.summary, fs.FlagUsages(), c.example)
			}
			if err := fs.Parse(argv[2:]); err != nil {
				if errors.Is(err, pflag.ErrHelp) {
					return 0
				}
				fmt.Fprintf(os.Stderr, "p2pdvm %s: %v (see p2pdvm %s --help)\n", c.name, err, c.name)
				return 2
			}
			return c.run(fs, fs.Args())
		}
	}
	fmt.Fprintf(os.Stderr, "p2pdvm: unknown command %q (see p2pdvm --help)\n", argv[1])
	return 2
}

// order is how commands are listed: running things first, then asking.
var order = []string{"peer", "submit", "run", "mpicc", "store", "jobs", "status", "logs", "kill", "peers", "info"}

func usage(w *os.File) {
	fmt.Fprintln(w, "p2pdvm: a peer-to-peer distributed virtual machine for MPI jobs\n\nusage: p2pdvm COMMAND [flags] [args]\n\ncommands:")
	sort.SliceStable(commands, func(i, j int) bool {
		return slices.Index(order, commands[i].name) < slices.Index(order, commands[j].name)
	})
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'p2pdvm COMMAND --help' for a command's flags and an example.")
}

// fail prints a one-line error and returns the exit code for it. libp2p's
// dial errors list one address per line; a user wants one line to read.
func fail(cmd string, err error) int {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	fmt.Fprintf(os.Stderr, "p2pdvm %s: %s\n", cmd, msg)
	return 1
}

// env returns the value of a P2PDVM_ variable or def.
func env(name, def string) string {
	if v := os.Getenv("P2PDVM_" + name); v != "" {
		return v
	}
	return def
}

// envBool reads a boolean variable; a value that is not a boolean is
// reported when the flag is parsed, as a bad flag value would be.
func envBool(name string, def bool) bool {
	v := os.Getenv("P2PDVM_" + name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "p2pdvm: P2PDVM_%s=%q is not true or false; using %v\n", name, v, def)
		return def
	}
	return b
}

func envList(name string) []string {
	v := os.Getenv("P2PDVM_" + name)
	if v == "" {
		return nil
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}

func defaultDataDir() string {
	if d := os.Getenv("P2PDVM_DATA"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".p2pdvm"
	}
	return filepath.Join(home, ".p2pdvm")
}

// socketFlag adds --peer, the control socket of the local peer.
func socketFlag(fs *pflag.FlagSet) *string {
	return fs.String("peer", env("PEER", filepath.Join(defaultDataDir(), "ctl.sock")),
		"control socket of the local peer [$P2PDVM_PEER]")
}
