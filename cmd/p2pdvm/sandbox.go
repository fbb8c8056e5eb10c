package main

import (
	"fmt"
	"os"
	"path/filepath"

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

// apply sets cfg's sandbox. The trampoline is p2pdvm-sandbox next to
// this binary if it is installed (it starts in about 10 ms), else this
// binary itself (main calls sandbox.Main first; it starts in about 45).
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
	small := filepath.Join(filepath.Dir(self), "p2pdvm-sandbox")
	if st, err := os.Stat(small); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		cfg.SandboxExec = small
	}
	return nil
}
