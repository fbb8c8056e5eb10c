// Command flocbench is the Floc benchmark of issue #7 for bench/floc.sh:
// a DVM of 64 peers on mocknet in 4 sites (1 ms one way within a site,
// 20 to 60 ms between sites), a 16-rank job of bench/flocbench/phases
// (ring, broadcast, barrier, then sparse traffic), run once with Floc and
// once without (every message routed through its destination's owner).
// Direct rank connections are off, so every message crosses the overlay.
//
// Results go to stdout as row<TAB>metric<TAB>value lines (the format of
// bench/build/results.tsv); -samples and -traffic write every message and
// every counter sample as TSV, and -svg the plot; progress goes to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/p2pdvm/p2pdvm/bench/internal/stats"
)

type config struct {
	Peers, Ranks     int
	Phase            time.Duration // each phase's length
	Warmup           time.Duration // left out of the targets at each phase's start
	RingEvery        time.Duration
	BcastEvery       time.Duration
	SparseEvery      time.Duration
	SampleEvery      time.Duration // of the traffic counters
	Prog             string
	Dir              string
	Seed             uint64
	Samples, Traffic string // TSV outputs ("" for none)
	SVG, PNG         string
	Direct           bool // measure a direct connection's one-way time for the reference
}

// results writes samples in results.tsv's format.
type results struct{ mu sync.Mutex }

func (r *results) put(row, metric string, value any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := strings.NewReplacer("\t", " ", "\n", " ").Replace(fmt.Sprint(value))
	fmt.Printf("%s\t%s\t%s\n", row, metric, v)
}

func main() {
	var cfg config
	flag.IntVar(&cfg.Peers, "peers", 64, "peers in the DVM, spread evenly over the 4 sites")
	flag.IntVar(&cfg.Ranks, "ranks", 16, "ranks of the job")
	flag.DurationVar(&cfg.Phase, "phase", 6*time.Second, "length of each phase")
	flag.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "start of each phase left out of the targets")
	flag.DurationVar(&cfg.RingEvery, "ring-every", 100*time.Millisecond, "interval between ring rounds")
	flag.DurationVar(&cfg.BcastEvery, "bcast-every", 100*time.Millisecond, "interval between broadcasts")
	flag.DurationVar(&cfg.SparseEvery, "sparse-every", 500*time.Millisecond, "interval between sparse rounds")
	flag.DurationVar(&cfg.SampleEvery, "sample-every", 100*time.Millisecond, "interval between traffic counter samples")
	flag.StringVar(&cfg.Prog, "prog", "", "the phases program (default: go build ./bench/flocbench/phases)")
	flag.StringVar(&cfg.Dir, "dir", "", "working directory (default: a new one under $TMPDIR)")
	flag.Uint64Var(&cfg.Seed, "seed", 7, "seed of the peers' keys")
	flag.StringVar(&cfg.Samples, "samples", "", "write every message as TSV here")
	flag.StringVar(&cfg.Traffic, "traffic", "", "write every traffic counter sample as TSV here")
	flag.BoolVar(&cfg.Direct, "direct", true, "a third run for the time of a direct rank connection, added to the link latency in the reference")
	flag.StringVar(&cfg.SVG, "svg", "", "write the plot here")
	flag.StringVar(&cfg.PNG, "png", "", "write the plot as PNG here too")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, &results{}); err != nil {
		fmt.Fprintln(os.Stderr, "flocbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out *results) error {
	if cfg.Dir == "" {
		d, err := os.MkdirTemp("", "flocbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		cfg.Dir = d
	}
	if cfg.Prog == "" {
		cfg.Prog = filepath.Join(cfg.Dir, "phases")
		progress("building bench/flocbench/phases")
		b := exec.Command("go", "build", "-o", cfg.Prog, "./bench/flocbench/phases")
		b.Stderr = os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("building the phases program: %w", err)
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var runs []*runResult
	for _, mode := range []string{"floc", "routed"} {
		r, err := runOnce(ctx, cfg, mode, log)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	var overhead time.Duration // of a direct connection, without site latency
	if cfg.Direct {
		r, err := runOnce(ctx, cfg, "direct", log)
		if err != nil {
			progress("the direct run failed: %v", err)
			out.put("floc-direct", "status", "failed: "+err.Error())
			r = &runResult{}
		}
		var lat []float64
		for _, m := range r.Msgs {
			if m.Phase == "ring" && m.Link > 0 && afterWarmup(r.Logs, m.msg, cfg.Warmup) {
				lat = append(lat, ms(m.Latency))
			}
		}
		if len(lat) > 0 {
			overhead = time.Duration(stats.Median(lat) * float64(time.Millisecond))
			out.put("floc-direct", "msgs", len(lat))
			out.put("floc-direct", "lat_med_ms", f3(stats.Median(lat)))
			out.put("floc-direct", "lat_p95_ms", f3(stats.Interpolated(lat, 0.95)))
			out.put("floc-direct", "placement", placement(r))
		}
	}
	report(cfg, runs, overhead, out)
	if cfg.Samples != "" {
		if err := writeSamples(cfg.Samples, runs); err != nil {
			return err
		}
	}
	if cfg.Traffic != "" {
		if err := writeTraffic(cfg.Traffic, runs); err != nil {
			return err
		}
	}
	for _, path := range []string{cfg.SVG, cfg.PNG} {
		if path == "" {
			continue
		}
		if err := plotRuns(path, runs); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
	}
	return nil
}

func progress(f string, a ...any) { fmt.Fprintf(os.Stderr, "flocbench: "+f+"\n", a...) }
