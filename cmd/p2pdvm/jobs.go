package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/p2pdvm/p2pdvm/dvm"
)

func printJSON(v any) int {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail("json", err)
	}
	return 0
}

func short(id string) string {
	if len(id) > 12 {
		return "…" + id[len(id)-10:]
	}
	return id
}

func age(rec dvm.JobRecord) string {
	end := time.Now()
	if !rec.Ended.IsZero() {
		end = rec.Ended
	}
	return end.Sub(rec.Submitted).Round(time.Millisecond * 100).String()
}

func init() {
	var sock *string
	var asJSON *bool
	jsonFlag := func(fs *pflag.FlagSet) {
		sock = socketFlag(fs)
		asJSON = fs.Bool("json", false, "print JSON for scripts")
	}
	register(&command{
		name: "jobs", summary: "list the jobs this peer submitted or holds records for (like squeue)",
		example: "p2pdvm jobs --json", flags: jsonFlag,
		run: func(_ *pflag.FlagSet, args []string) int {
			jobs, err := (&dvm.Client{Socket: *sock}).Jobs()
			if err != nil {
				return fail("jobs", err)
			}
			if *asJSON {
				return printJSON(jobs)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "JOBID\tSTATE\tRANKS\tEXIT\tTIME\tOWNER\tPROGRAM")
			for _, j := range jobs {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", j.ID, j.State, j.N, j.ExitCode, age(j), short(j.Owner.String()),
					strings.TrimSpace(j.Program+" "+strings.Join(j.Args, " ")))
			}
			tw.Flush()
			return 0
		},
	})
	register(&command{
		name: "status", summary: "show a job's state and each rank's host, state and exit code",
		usage: "JOB", example: "p2pdvm status 3f9a1c0be2d4", flags: jsonFlag,
		run: func(_ *pflag.FlagSet, args []string) int {
			if len(args) != 1 {
				return fail("status", fmt.Errorf("want one job id"))
			}
			rec, err := (&dvm.Client{Socket: *sock}).Status(args[0])
			if err != nil {
				return fail("status", err)
			}
			if *asJSON {
				return printJSON(rec)
			}
			fmt.Printf("job %s: %s, exit %d, %d ranks, %s, owner %s\n", rec.ID, rec.State, rec.ExitCode, rec.N, age(rec), rec.Owner)
			if rec.Err != "" {
				fmt.Printf("reason: %s\n", rec.Err)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RANK\tSTATE\tEXIT\tROUTED\tSHORTCUT\tHOST")
			for _, r := range rec.Ranks {
				exit := fmt.Sprint(r.Exit)
				if r.Signal != "" {
					exit += " (" + r.Signal + ")"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\n", r.Rank, r.State, exit, r.Routed, r.Shortcut, r.Host)
			}
			tw.Flush()
			printEpochs(rec)
			return 0
		},
	})
	register(&command{
		name: "ckpt", summary: "checkpoint a job now and print the committed epoch (only from the peer that submitted it)",
		usage: "JOB", example: "p2pdvm ckpt 3f9a1c0be2d4", flags: jsonFlag,
		run: func(_ *pflag.FlagSet, args []string) int {
			if len(args) != 1 {
				return fail("ckpt", fmt.Errorf("want one job id"))
			}
			e, err := (&dvm.Client{Socket: *sock}).Checkpoint(args[0])
			if err != nil {
				return fail("ckpt", err)
			}
			if *asJSON {
				return printJSON(e)
			}
			fmt.Printf("epoch %d committed: %s of state, %s stored, %s new, in %d ms\n", e.Epoch,
				humanBytes(e.Bytes), humanBytes(e.Stored), humanBytes(e.New), e.TookMS)
			return 0
		},
	})
	var follow, label *bool
	register(&command{
		name: "logs", summary: "print a job's output, kept after it ends (-f follows a running job)",
		usage: "JOB [-f]", example: "p2pdvm logs -f --label 3f9a1c0be2d4",
		flags: func(fs *pflag.FlagSet) {
			sock = socketFlag(fs)
			follow = fs.BoolP("follow", "f", false, "keep printing until the job ends")
			label = fs.BoolP("label", "l", false, "prefix every line with [rank]")
			fs.SetInterspersed(true)
		},
		run: func(_ *pflag.FlagSet, args []string) int {
			if len(args) != 1 {
				return fail("logs", fmt.Errorf("want one job id"))
			}
			out := newPrinter(*label)
			err := (&dvm.Client{Socket: *sock}).Logs(args[0], *follow, out.write)
			out.flush()
			if err != nil {
				return fail("logs", err)
			}
			return 0
		},
	})
	register(&command{
		name: "kill", summary: "kill a job on every peer (only from the peer that submitted it)",
		usage: "JOB", example: "p2pdvm kill 3f9a1c0be2d4",
		flags: func(fs *pflag.FlagSet) { sock = socketFlag(fs) },
		run: func(_ *pflag.FlagSet, args []string) int {
			if len(args) != 1 {
				return fail("kill", fmt.Errorf("want one job id"))
			}
			if err := (&dvm.Client{Socket: *sock}).Kill(args[0]); err != nil {
				return fail("kill", err)
			}
			return 0
		},
	})
	register(&command{
		name: "peers", summary: "list the peers this peer is connected to (like ipfs swarm peers)",
		example: "p2pdvm peers --json", flags: jsonFlag,
		run: func(_ *pflag.FlagSet, args []string) int {
			cl := &dvm.Client{Socket: *sock}
			ps, err := cl.Peers()
			if err != nil {
				return fail("peers", err)
			}
			if *asJSON {
				return printJSON(ps)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PEER\tDHT\tDIRECTION\tSHORTCUTS\tSHORTCUT MSGS\tADDRESS")
			for _, p := range ps {
				dht := "no"
				if p.InRouting {
					dht = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", p.ID, dht, p.Direction, p.Shortcuts, p.ShortcutMsgs, strings.Join(p.Addrs, ","))
			}
			tw.Flush()
			if ni, err := cl.Info(); err == nil {
				printTraffic(ni.Traffic)
			}
			return 0
		},
	})
	register(&command{
		name: "info", summary: "show this peer's id, addresses and load",
		example: "p2pdvm info", flags: jsonFlag,
		run: func(_ *pflag.FlagSet, args []string) int {
			ni, err := (&dvm.Client{Socket: *sock}).Info()
			if err != nil {
				return fail("info", err)
			}
			if *asJSON {
				return printJSON(ni)
			}
			fmt.Printf("peer id: %s\ndata dir: %s\npeers: %d\nprocesses: %d\nlocation objects: %d\n", ni.ID, ni.DataDir, ni.Peers, ni.Procs, ni.Locs)
			for _, a := range ni.Addrs {
				fmt.Printf("address: %s\n", a)
			}
			printTraffic(ni.Traffic)
			if hb := ni.Heartbeats; hb.Sent > 0 {
				fmt.Printf("heartbeats sent: %d, %d unanswered; round trip p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
					hb.Sent, hb.Missed, hb.P50Ms, hb.P99Ms, hb.MaxMs)
			}
			return 0
		},
	})
}

// printTraffic sums up how messages from the ranks on a peer left it.
func printTraffic(t dvm.TrafficStats) {
	sent := t.Local + t.Shortcut + t.Routed
	hops := 0.0
	if sent > 0 {
		hops = float64(t.Hops) / float64(sent)
	}
	fmt.Printf("messages from ranks here: %d routed, %d by shortcut, %d local (%.2f peer hops each); %d forwarded as owner; %d shortcuts held\n",
		t.Routed, t.Shortcut, t.Local, hops, t.Forwarded, len(t.Shortcuts))
}

// printEpochs lists a job's checkpoints and restarts under its ranks.
func printEpochs(rec dvm.JobRecord) {
	if rec.Resumes != "" {
		fmt.Printf("resumes %s (job@epoch)\n", rec.Resumes)
	}
	if rec.CkptInterval > 0 || rec.Restarts > 0 || len(rec.Epochs) > 0 {
		fmt.Printf("checkpoints every %v; restarts %d (run %d)\n", rec.CkptInterval, rec.Restarts, rec.Run)
	}
	if len(rec.Epochs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EPOCH\tTIME\tSAFE POINT\tSTATE\tSTORED\tNEW\tTOOK")
	for _, e := range rec.Epochs {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%dms\n", e.Epoch, e.Time.Local().Format("15:04:05"), e.At,
			humanBytes(e.Bytes), humanBytes(e.Stored), humanBytes(e.New), e.TookMS)
	}
	tw.Flush()
}

// humanBytes prints a size with a binary unit, as ls -h and squeue do.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
