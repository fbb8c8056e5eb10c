package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/p2pdvm/p2pdvm/dvm"
)

// sandboxFlags are the peer's settings for confining the ranks it hosts;
// `peer` and `run` share them.
type sandboxFlags struct {
	on   *bool
	read *[]string
}

// addSandboxFlags adds them with the default on, as a peer that hosts
// other members' ranks wants; run, where every rank is the user's own
// program on the user's machine, passes false.
func addSandboxFlags(fs *pflag.FlagSet, on bool) sandboxFlags {
	return sandboxFlags{
		on:   fs.Bool("sandbox", envBool("SANDBOX", on), "confine ranks to their working directory, their program and the system's directories (Landlock) [$P2PDVM_SANDBOX]"),
		read: fs.StringSlice("rank-read", envList("RANK_READ"), "directories every rank may also read, e.g. shared input data [$P2PDVM_RANK_READ]"),
	}
}

// apply sets cfg's sandbox: this binary is the trampoline (main calls
// sandbox.Main first).
func (f sandboxFlags) apply(cfg *dvm.Config) error {
	cfg.RankRead = *f.read
	if !*f.on {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--sandbox: cannot find this program to start ranks through: %w", err)
	}
	cfg.SandboxExec = self
	return nil
}
