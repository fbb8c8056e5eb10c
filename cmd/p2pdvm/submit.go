package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/p2pdvm/p2pdvm/dvm"
)

// jobFlags are the flags shared by submit and run, as mpiexec names them.
type jobFlags struct {
	n           *int
	label       *bool
	env         *[]string
	ckpt        *time.Duration
	maxRestarts *int
	fs          *pflag.FlagSet
}

func addJobFlags(fs *pflag.FlagSet) jobFlags {
	n, _ := strconv.Atoi(env("NP", "1"))
	iv, _ := time.ParseDuration(env("CKPT_INTERVAL", "0s"))
	mr, _ := strconv.Atoi(env("MAX_RESTARTS", strconv.Itoa(defaultMaxRestarts)))
	return jobFlags{
		n:     fs.IntP("np", "n", n, "number of ranks [$P2PDVM_NP]"),
		label: fs.BoolP("label", "l", os.Getenv("P2PDVM_LABEL") != "", "prefix every output line with [rank] [$P2PDVM_LABEL]"),
		env:   fs.StringArrayP("env", "x", nil, "pass NAME (its value here) or NAME=VALUE to every rank; repeatable"),
		ckpt:  fs.Duration("ckpt-interval", iv, "checkpoint the job this often, e.g. 30s (0: never) [$P2PDVM_CKPT_INTERVAL]"),
		maxRestarts: fs.Int("max-restarts", mr, "restarts after losing a peer that hosts ranks, from the last checkpoint;\n"+
			"applies with --ckpt-interval, or when given [$P2PDVM_MAX_RESTARTS]"),
		fs: fs,
	}
}

// defaultMaxRestarts bounds automatic restarts: enough to ride out a few
// desktops leaving, few enough that a job that cannot run stops trying.
const defaultMaxRestarts = 3

func (jf jobFlags) spec(args []string) (dvm.Spec, error) {
	if len(args) == 0 {
		return dvm.Spec{}, errors.New("no program given")
	}
	prog, err := filepath.Abs(args[0])
	if err != nil {
		return dvm.Spec{}, err
	}
	s := dvm.Spec{Program: prog, Args: args[1:], N: *jf.n, CkptInterval: *jf.ckpt}
	// Without checkpoints a job behaves as under mpiexec, failing when a
	// rank is lost, unless restarts (from the start) were asked for.
	if *jf.ckpt > 0 || jf.fs.Changed("max-restarts") || os.Getenv("P2PDVM_MAX_RESTARTS") != "" {
		s.MaxRestarts = *jf.maxRestarts
	}
	if *jf.ckpt < 0 || *jf.maxRestarts < 0 {
		return s, fmt.Errorf("--ckpt-interval and --max-restarts must not be negative")
	}
	for _, e := range *jf.env {
		if !strings.Contains(e, "=") {
			e += "=" + os.Getenv(e)
		}
		s.Env = append(s.Env, e)
	}
	// Check here too so a typo fails before anything starts anywhere.
	if *jf.n < 1 || *jf.n > dvm.MaxRanks {
		return s, fmt.Errorf("-n %d: the number of ranks must be between 1 and %d", *jf.n, dvm.MaxRanks)
	}
	st, err := os.Stat(prog)
	if err != nil {
		return s, fmt.Errorf("program %s: no such file", args[0])
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return s, fmt.Errorf("program %s is not an executable file", args[0])
	}
	return s, nil
}

func init() {
	var jf jobFlags
	var sock *string
	var files *[]string
	register(&command{
		name:    "submit",
		summary: "run an MPI program's ranks on the DVM and stream their output (like mpiexec)",
		usage:   "-n N [--label] [-x NAME[=VALUE]]... [--ckpt-interval D] [--max-restarts K] [--peer SOCKET] PROGRAM [ARGS...]",
		example: "p2pdvm submit -n 4 --label --ckpt-interval 30s ./heat 20000 1024",
		flags: func(fs *pflag.FlagSet) {
			jf = addJobFlags(fs)
			sock = socketFlag(fs)
			files = fs.StringArray("file", nil, "an input file, copied into every rank's working directory under its base name; repeatable")
		},
		run: func(_ *pflag.FlagSet, args []string) int {
			spec, err := jf.spec(args)
			if err == nil {
				spec.Files, err = absFiles(*files)
			}
			if err != nil {
				return fail("submit", err)
			}
			sub, err := (&dvm.Client{Socket: *sock}).Submit(spec)
			if err != nil {
				return fail("submit", err)
			}
			return follow("submit", sub, *jf.label)
		},
	})

	var epoch *int
	var rlabel *bool
	register(&command{
		name:    "restart",
		summary: "start a failed or killed job again from its last checkpoint (or --epoch E), as a new job",
		usage:   "JOB [--epoch E] [--label] [--peer SOCKET]",
		example: "p2pdvm restart 3f9a1c0be2d4 --epoch 7",
		flags: func(fs *pflag.FlagSet) {
			epoch = fs.Int("epoch", 0, "the committed epoch to resume from (default: the last)")
			rlabel = fs.BoolP("label", "l", os.Getenv("P2PDVM_LABEL") != "", "prefix every output line with [rank] [$P2PDVM_LABEL]")
			sock = socketFlag(fs)
		},
		run: func(_ *pflag.FlagSet, args []string) int {
			if len(args) != 1 {
				return fail("restart", fmt.Errorf("want one job id"))
			}
			sub, err := (&dvm.Client{Socket: *sock}).Restart(args[0], *epoch)
			if err != nil {
				return fail("restart", err)
			}
			fmt.Fprintf(os.Stderr, "p2pdvm restart: job %s resumes %s\n", sub.Job, args[0])
			return follow("restart", sub, *rlabel)
		},
	})

	var peers *int
	var rjf jobFlags
	var rsbox sandboxFlags
	register(&command{
		name:    "run",
		summary: "run an MPI program on an embedded cluster of local peers (nothing else needed)",
		usage:   "-n N [--peers K] [--label] [-x NAME[=VALUE]]... PROGRAM [ARGS...]",
		example: "p2pdvm run -n 4 --peers 4 ./heat 2000 256",
		flags: func(fs *pflag.FlagSet) {
			rjf = addJobFlags(fs)
			k, _ := strconv.Atoi(env("PEERS", "4"))
			peers = fs.Int("peers", k, "number of local peers in the embedded cluster [$P2PDVM_PEERS]")
			rsbox = addSandboxFlags(fs, false)
		},
		run: func(_ *pflag.FlagSet, args []string) int {
			spec, err := rjf.spec(args)
			if err != nil {
				return fail("run", err)
			}
			if *peers < 1 || *peers > 64 {
				return fail("run", fmt.Errorf("--peers %d: between 1 and 64", *peers))
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			var sb dvm.Config
			if err := rsbox.apply(&sb); err != nil {
				return fail("run", err)
			}
			c, err := dvm.StartCluster(ctx, *peers, "", func(cfg *dvm.Config) {
				cfg.SandboxExec, cfg.RankRead = sb.SandboxExec, sb.RankRead
			})
			if err != nil {
				return fail("run", err)
			}
			defer c.Close()
			j, err := c.Peers[0].Submit(ctx, spec)
			if err != nil {
				return fail("run", err)
			}
			go func() {
				<-ctx.Done()
				_ = c.Peers[0].Kill(j.ID(), "interrupted", dvm.ExitInterrupted)
			}()
			out := newPrinter(*rjf.label)
			err = j.Output(context.Background(), true, func(ch dvm.Chunk) error { out.write(ch); return nil })
			out.flush()
			if err != nil {
				return fail("run", err)
			}
			rec, _ := j.Wait(context.Background())
			return report(rec)
		},
	})
}

// follow streams a started job's output until it ends, kills it on
// Ctrl-C, and returns its exit status, as mpiexec does.
func follow(cmd string, sub *dvm.Submission, label bool) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		fmt.Fprintf(os.Stderr, "p2pdvm %s: interrupted, killing job %s\n", cmd, sub.Job)
		sub.Cancel()
	}()
	out := newPrinter(label)
	rec, err := sub.Wait(out.write)
	out.flush()
	if err != nil {
		return fail(cmd, err)
	}
	return report(rec)
}

// report prints why a job failed and returns its exit status.
func report(rec dvm.JobRecord) int {
	if rec.State == dvm.JobDone {
		return 0
	}
	msg := fmt.Sprintf("job %s %s", rec.ID, rec.State)
	for _, r := range rec.Ranks {
		if r.State == dvm.RankExited && r.Exit != 0 || r.State == dvm.RankLost {
			msg += fmt.Sprintf(": rank %d %s with code %d", r.Rank, r.State, r.Exit)
			break
		}
	}
	if rec.Err != "" {
		msg += " (" + rec.Err + ")"
	}
	fmt.Fprintf(os.Stderr, "p2pdvm: %s\n", msg)
	if rec.ExitCode == 0 {
		return 1
	}
	return rec.ExitCode
}

// printer writes ranks' output to stdout and stderr, whole lines with a
// [rank] prefix under --label (as hydra's -l does), raw otherwise.
type printer struct {
	label bool
	part  map[[2]int][]byte
}

func newPrinter(label bool) *printer { return &printer{label: label, part: map[[2]int][]byte{}} }

func (p *printer) dest(fd int) io.Writer {
	if fd == 2 {
		return os.Stderr
	}
	return os.Stdout
}

func (p *printer) write(c dvm.Chunk) {
	w := p.dest(c.FD)
	if !p.label {
		_, _ = w.Write(c.Data)
		return
	}
	k := [2]int{c.Rank, c.FD}
	buf := append(p.part[k], c.Data...)
	var out bytes.Buffer
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(&out, "[%d] %s\n", c.Rank, buf[:i])
		buf = buf[i+1:]
	}
	p.part[k] = append([]byte(nil), buf...)
	_, _ = w.Write(out.Bytes())
}

func (p *printer) flush() {
	for k, b := range p.part {
		if len(b) > 0 {
			fmt.Fprintf(p.dest(k[1]), "[%d] %s\n", k[0], b)
		}
	}
	clear(p.part)
}

// absFiles checks --file arguments here, so a typo fails before anything
// starts, and makes them absolute for the peer.
func absFiles(files []string) ([]string, error) {
	var out []string
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil || !st.Mode().IsRegular() {
			return nil, fmt.Errorf("--file %s: not a regular file", f)
		}
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		out = append(out, abs)
	}
	return out, nil
}
