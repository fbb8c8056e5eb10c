// Command storebench measures the block store for bench/run.sh (#5):
//
//	storebench upload [flags]    the seed's experiment on mocknet: N peers
//	                             upload a file each at once, into the DHT
//	                             store or all into one central peer
//	storebench compress [flags]  ratio and speed of zstd, with and without
//	                             the shuffle filter, on the heat grid and
//	                             on random bytes
//	storebench loopback [flags]  a put and a get between peers on 127.0.0.1
//	                             in this one process, for pprof
//
// Results go to stdout as row<TAB>metric<TAB>value lines, the format of
// bench/build/results.tsv; progress goes to stderr. The loopback rows
// (real peer processes) are bench/run.sh's own: they need the built CLI.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/p2pdvm/p2pdvm/dvm"
)

// results writes samples in results.tsv's format.
type results struct {
	mu sync.Mutex
}

func (r *results) put(row, metric, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	value = strings.NewReplacer("\t", " ", "\n", " ").Replace(value)
	fmt.Printf("%s\t%s\t%s\n", row, metric, value)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: storebench upload|compress [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := &results{}
	var err error
	switch os.Args[1] {
	case "upload":
		err = upload(ctx, os.Args[2:], out)
	case "compress":
		err = compress(os.Args[2:], out)
	case "loopback":
		err = profileLoopback(ctx, os.Args[2:], out)
	default:
		err = fmt.Errorf("unknown mode %q: say upload or compress", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "storebench:", err)
		os.Exit(1)
	}
}

func upload(ctx context.Context, args []string, out *results) error {
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	peers := fs.Int("peers", 20, "peers in the DVM (uploaders are peers 1..N, peer 0 is the central one)")
	ups := fs.String("uploaders", "1,2,4,8", "rows: how many peers upload at once")
	sizeMiB := fs.Int64("size-mib", 64, "MiB each uploader puts")
	mbit := fs.Float64("cap-mbit", 100, "access link cap per peer and direction, Mbit/s (0: none)")
	lat := fs.Duration("latency", 10*time.Millisecond, "one-way latency of every link")
	repeat := fs.Int("repeat", 3, "repetitions of every row")
	dir := fs.String("dir", "", "where peers keep their blocks (default: a new directory in /dev/shm or $TMPDIR)")
	modes := fs.String("modes", "dht,central", "which stores to measure: dht, central or both")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := uploadConfig{Peers: *peers, Size: *sizeMiB << 20, Rate: *mbit * 1e6 / 8, Latency: *lat, Repeat: *repeat, Dir: *dir}
	for _, m := range strings.Split(*modes, ",") {
		if m = strings.TrimSpace(m); m != "dht" && m != "central" {
			return fmt.Errorf("bad -modes %q", *modes)
		}
		cfg.Modes = append(cfg.Modes, m)
	}
	for _, s := range strings.Split(*ups, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("bad -uploaders %q", *ups)
		}
		cfg.Uploaders = append(cfg.Uploaders, n)
	}
	if cfg.Dir == "" {
		base := ""
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			base = "/dev/shm"
		}
		d, err := os.MkdirTemp(base, "storebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		cfg.Dir = d
	}
	out.put("store-mocknet", "peers", fmt.Sprint(cfg.Peers))
	out.put("store-mocknet", "size_mib", fmt.Sprint(*sizeMiB))
	out.put("store-mocknet", "cap_mbit", fmt.Sprint(*mbit))
	out.put("store-mocknet", "latency_ms", fmt.Sprint(lat.Seconds()*1000))
	out.put("store-mocknet", "repeat", fmt.Sprint(cfg.Repeat))
	dc := dvm.DefaultConfig("")
	out.put("store-mocknet", "window", fmt.Sprint(dc.BlockWindow))
	return runUpload(ctx, cfg, out)
}

func compress(args []string, out *results) error {
	fs := flag.NewFlagSet("compress", flag.ContinueOnError)
	iters := fs.Int("iters", 3000, "heat iterations before the grid is taken")
	n := fs.Int("n", 1024, "heat grid size N (N×N float64)")
	repeat := fs.Int("repeat", 5, "timed passes over each input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return runCompress(compressConfig{HeatIters: *iters, HeatN: *n, Repeat: *repeat}, out)
}
