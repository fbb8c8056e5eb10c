// Command scalebench is the scale benchmark of issue #7: N real dvm peers
// (the real kad-dht) in one process over mocknet, for N in a list (100,
// 300, 1000 by default). For each N it measures
//
//   - bootstrap: the wall time from the first peer's start until every
//     routing table holds min(N-1, 20) peers and owner lookups of random
//     keys from random peers all name the true owner (the closest of all
//     N peer IDs, which the bench knows);
//   - memory per peer: Go heap and stacks after a GC, and VmRSS, before
//     and after the N peers, divided by N, with the bare mocknet hosts'
//     share measured on its own and the heap split by package from the
//     heap profile;
//   - cold owner lookups: for random keys from random peers, the DHT
//     requests one lookup sends and its sequential rounds, from libp2p's
//     routing query events;
//   - at the largest N, a 64-rank MPI allreduce job (bench/scalebench/allreduce)
//     submitted from one peer, its wall time and whether its answer is right.
//
// Results go to stdout as row<TAB>metric<TAB>value lines (results.tsv's
// format, see bench/report/scale.go for the rows); progress to stderr.
// bench/scale.sh runs it once per N, so that each N starts from a fresh
// process and RSS means something.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/p2pdvm/p2pdvm/bench/internal/stats"
)

func init() { runtime.MemProfileRate = memProfileRate }

// out writes samples in results.tsv's format.
type out struct{ mu sync.Mutex }

func (o *out) put(row, metric string, value any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v := strings.NewReplacer("\t", " ", "\n", " ").Replace(fmt.Sprint(value))
	fmt.Printf("%s\t%s\t%s\n", row, metric, v)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s scalebench: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

type config struct {
	Ns          []int
	Join        int
	Parallel    int
	Lookups     int
	AgreeKeys   int
	AgreeAskers int
	Timeout     time.Duration // bootstrap, per N
	JobAt       int           // N at which the job runs (0: never)
	JobRanks    int
	JobIters    int
	JobTimeout  time.Duration
	Prog        string
	LinkAllCost bool
	Settle      time.Duration
	Profile     string // directory for heap profiles ("" none)
	Dir         string
	Seed        uint64
}

func main() {
	var cfg config
	ns := flag.String("n", "100,300,1000", "peer counts, one run each")
	flag.IntVar(&cfg.Join, "join", 3, "already-running peers each new peer connects to")
	flag.IntVar(&cfg.Parallel, "parallel", 4, "peers joining at once")
	flag.IntVar(&cfg.Lookups, "lookups", 200, "cold owner lookups measured per N")
	flag.IntVar(&cfg.AgreeKeys, "agree-keys", 20, "random keys of the bootstrap agreement check")
	flag.IntVar(&cfg.AgreeAskers, "agree-askers", 3, "random peers that look up each of those keys")
	flag.DurationVar(&cfg.Timeout, "timeout", 4*time.Minute, "bootstrap limit per N")
	flag.IntVar(&cfg.JobAt, "job-at", 1000, "run the allreduce job at this N (0: never)")
	flag.IntVar(&cfg.JobRanks, "job-ranks", 64, "ranks of the allreduce job")
	flag.IntVar(&cfg.JobIters, "job-iters", 5, "allreduce iterations")
	flag.DurationVar(&cfg.JobTimeout, "job-timeout", 3*time.Minute, "limit of the allreduce job")
	flag.StringVar(&cfg.Prog, "prog", "", "the built bench/scalebench/allreduce program (empty: the job is not run)")
	flag.BoolVar(&cfg.LinkAllCost, "linkall-cost", true, "after the measurements, link every pair as mocknet's LinkAll does and report the memory")
	flag.DurationVar(&cfg.Settle, "settle", 62*time.Second, "idle time before the settled memory figure (kad-dht resets a stream idle for 1 min)")
	flag.StringVar(&cfg.Profile, "profile", "", "write a heap profile per N into this directory")
	flag.StringVar(&cfg.Dir, "dir", "", "where the peers' data dirs go (default: a new temp dir)")
	flag.Uint64Var(&cfg.Seed, "seed", 0, "random seed (0: from the clock)")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	flag.Parse()
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "scalebench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "scalebench:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			fmt.Fprintf(os.Stderr, "scalebench: bad -n %q\n", *ns)
			os.Exit(2)
		}
		cfg.Ns = append(cfg.Ns, n)
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := &out{}
	var errs []error
	for _, n := range cfg.Ns {
		if err := runN(ctx, cfg, n, o); err != nil {
			o.put(fmt.Sprintf("scale/%d", n), "status", "failed: "+err.Error())
			logf("N=%d: %v", n, err)
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// runN is one N from scratch to clean-up.
func runN(ctx context.Context, cfg config, n int, o *out) error {
	row := fmt.Sprintf("scale/%d", n)
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(n)))
	// Data dirs hold each peer's process socket, whose path must fit in
	// 108 bytes: a short base under /tmp.
	base := cfg.Dir
	if base == "" {
		d, err := os.MkdirTemp("", "sb-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		base = d
	}
	dir := filepath.Join(base, strconv.Itoa(n))

	m0 := measure()
	logf("N=%d: baseline heap %.1f MiB, RSS %.1f MiB", n, mib(m0.Heap), mib(m0.RSS))
	c, err := newHosts(n, dir)
	if err != nil {
		return err
	}
	defer func() {
		t := time.Now()
		c.close()
		logf("N=%d: closed in %.1f s", n, time.Since(t).Seconds())
	}()
	m1 := measure()
	o.put(row, "peers", n)
	o.put(row, "join", cfg.Join)
	o.put(row, "parallel", cfg.Parallel)
	o.put(row, "hosts_heap_mib_per_peer", fmt.Sprintf("%.3f", perPeerMiB(m0.Heap+m0.Stacks, m1.Heap+m1.Stacks, n)))
	o.put(row, "hosts_rss_mib_per_peer", fmt.Sprintf("%.3f", perPeerMiB(m0.RSS, m1.RSS, n)))

	// Bootstrap.
	t0 := time.Now()
	if err := c.start(ctx, cfg.Join, cfg.Parallel, rng); err != nil {
		return err
	}
	started := time.Since(t0)
	logf("N=%d: %d peers started and joined in %.1f s", n, n, started.Seconds())
	o.put(row, "started_s", fmt.Sprintf("%.3f", started.Seconds()))
	o.put(row, "connect_failures", c.connectFailures.Load())
	want := minTable(n)
	var tablesAt, boot time.Duration
	lastLog, lastNudge, nudged := time.Now(), time.Now(), 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		smallest, below := c.smallestTable(want)
		if below == 0 {
			if tablesAt == 0 {
				tablesAt = time.Since(t0)
			}
			check := time.Since(t0)
			right, total := c.agree(ctx, cfg.AgreeKeys, cfg.AgreeAskers, rng)
			if right == total {
				boot = check
				break
			}
			logf("N=%d: tables ready, owner lookups %d/%d right", n, right, total)
		}
		if time.Since(t0) > cfg.Timeout {
			right, total := c.agree(ctx, cfg.AgreeKeys, cfg.AgreeAskers, rng)
			// The limit counts from the first peer's start, joins included.
			o.put(row, "bootstrap_status", fmt.Sprintf("not converged after %.0f s (limit %s from the first peer's start): smallest routing table %d (want %d), %d peers below, owner lookups %d/%d right",
				time.Since(t0).Seconds(), cfg.Timeout, smallest, want, below, right, total))
			break
		}
		if below > 0 && time.Since(lastNudge) > 10*time.Second {
			nudged += c.nudge(want)
			lastNudge = time.Now()
		}
		if time.Since(lastLog) > 5*time.Second {
			logf("N=%d: smallest routing table %d, %d peers below %d", n, smallest, below, want)
			lastLog = time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
	if boot > 0 {
		o.put(row, "bootstrap_s", fmt.Sprintf("%.3f", boot.Seconds()))
		o.put(row, "tables_s", fmt.Sprintf("%.3f", tablesAt.Seconds()))
		logf("N=%d: bootstrapped in %.1f s (tables at %.1f s)", n, boot.Seconds(), tablesAt.Seconds())
	}
	o.put(row, "min_table", minTable(n))
	o.put(row, "nudged", nudged)
	sizes := 0
	for _, p := range c.peers {
		sizes += p.DHT().RoutingTable().Size()
	}
	o.put(row, "table_mean", fmt.Sprintf("%.1f", float64(sizes)/float64(n)))

	// Memory after bootstrap.
	m2 := measure()
	putMem(o, row, "", m0, m2, n)
	o.put(row, "conns_per_peer", fmt.Sprintf("%.1f", c.connsPerPeer()))
	o.put(row, "links", c.l.links.Load())
	if boot > 0 {
		by := heapByOwner()
		for _, k := range top(by) {
			o.put(row+"/heap", k, fmt.Sprintf("%.3f", by[k]/float64(n)/(1<<20)))
		}
	}
	putGoroutines(o, row+"/goroutines", n)
	if cfg.Profile != "" {
		if err := writeHeapProfile(filepath.Join(cfg.Profile, fmt.Sprintf("heap-%d.pprof", n))); err != nil {
			logf("N=%d: heap profile: %v", n, err)
		}
	}
	logf("N=%d: heap+stacks %.2f MiB per peer, RSS %.2f MiB per peer, %.1f conns per peer",
		n, perPeerMiB(m0.Heap+m0.Stacks, m2.Heap+m2.Stacks, n), perPeerMiB(m0.RSS, m2.RSS, n), c.connsPerPeer())

	// Cold owner lookups.
	t1 := time.Now()
	rs, err := c.lookups(ctx, cfg.Lookups, rng)
	if err != nil {
		o.put(row, "lookup_status", fmt.Sprintf("failed after %d lookups: %v", len(rs), err))
	}
	correct := 0
	for _, r := range rs {
		o.put(row, "lookup_requests", r.trace.Sent)
		o.put(row, "lookup_answers", r.trace.Answered)
		o.put(row, "lookup_failed", r.trace.Failed)
		o.put(row, "lookup_rounds", r.trace.Rounds)
		o.put(row, "lookup_owner_round", r.ownerAt)
		o.put(row, "data_hops", r.dataHops)
		o.put(row, "lookup_ms", fmt.Sprintf("%.3f", float64(r.wall.Microseconds())/1000))
		if r.correct {
			correct++
		}
	}
	o.put(row, "lookups", len(rs))
	o.put(row, "lookups_correct", correct)
	logf("N=%d: %d cold lookups in %.1f s, %d found the true owner; requests median %.0f p90 %.0f, rounds median %.0f p90 %.0f",
		n, len(rs), time.Since(t1).Seconds(), correct, pct(rs, 0.5, sent), pct(rs, 0.9, sent), pct(rs, 0.5, rounds), pct(rs, 0.9, rounds))
	m3 := measure()
	putMem(o, row, "after_lookups_", m0, m3, n)

	if cfg.Settle > 0 {
		logf("N=%d: %s idle before the settled memory figure", n, cfg.Settle)
		select {
		case <-time.After(cfg.Settle):
		case <-ctx.Done():
			return ctx.Err()
		}
		m4 := measure()
		putMem(o, row, "settled_", m0, m4, n)
		o.put(row, "settled_conns_per_peer", fmt.Sprintf("%.1f", c.connsPerPeer()))
		o.put(row, "settle_s", fmt.Sprintf("%.0f", cfg.Settle.Seconds()))
		putGoroutines(o, row+"/settled_goroutines", n)
		logf("N=%d: settled: heap+stacks %.2f MiB per peer, RSS %.2f MiB per peer",
			n, perPeerMiB(m0.Heap+m0.Stacks, m4.Heap+m4.Stacks, n), perPeerMiB(m0.RSS, m4.RSS, n))
	}
	if cfg.JobAt == n {
		c.job(ctx, cfg, o)
	}
	if cfg.LinkAllCost && ctx.Err() == nil {
		before := measure()
		t := time.Now()
		if err := c.mn.LinkAll(); err != nil {
			logf("N=%d: LinkAll: %v", n, err)
		} else {
			after := measure()
			o.put(row, "linkall_links", len(c.ids)*len(c.ids))
			o.put(row, "linkall_s", fmt.Sprintf("%.3f", time.Since(t).Seconds()))
			o.put(row, "linkall_heap_mib", fmt.Sprintf("%.1f", perPeerMiB(before.Heap, after.Heap, 1)))
			o.put(row, "linkall_rss_mib", fmt.Sprintf("%.1f", perPeerMiB(before.RSS, after.RSS, 1)))
			logf("N=%d: LinkAll: %d links, %.1f MiB heap, in %.1f s", n, n*n, perPeerMiB(before.Heap, after.Heap, 1), time.Since(t).Seconds())
		}
	}
	return nil
}

func (c *cluster) job(ctx context.Context, cfg config, o *out) {
	row := "scale-job"
	o.put(row, "ranks", cfg.JobRanks)
	o.put(row, "peers", len(c.peers))
	o.put(row, "iters", cfg.JobIters)
	if cfg.Prog == "" {
		o.put(row, "status", "not run: no -prog")
		return
	}
	logf("N=%d: submitting %d ranks of %s", len(c.peers), cfg.JobRanks, cfg.Prog)
	r := c.runJob(ctx, cfg.Prog, cfg.JobRanks, cfg.JobIters, cfg.JobTimeout)
	o.put(row, "wall_s", fmt.Sprintf("%.3f", r.wall.Seconds()))
	o.put(row, "hosts", r.hosts)
	if r.line != "" {
		o.put(row, "result", r.line)
	}
	if r.ok {
		o.put(row, "ok", 1)
		logf("job done in %.1f s on %d peers: %s", r.wall.Seconds(), r.hosts, r.line)
	} else {
		o.put(row, "ok", 0)
		o.put(row, "status", "failed: "+r.why)
		logf("job failed after %.1f s: %s", r.wall.Seconds(), r.why)
	}
}

func putMem(o *out, row, prefix string, before, after mem, n int) {
	o.put(row, prefix+"heap_mib_per_peer", fmt.Sprintf("%.3f", perPeerMiB(before.Heap, after.Heap, n)))
	o.put(row, prefix+"live_mib_per_peer", fmt.Sprintf("%.3f", perPeerMiB(before.Live, after.Live, n)))
	o.put(row, prefix+"stack_mib_per_peer", fmt.Sprintf("%.3f", perPeerMiB(before.Stacks, after.Stacks, n)))
	o.put(row, prefix+"rss_mib_per_peer", fmt.Sprintf("%.3f", perPeerMiB(before.RSS, after.RSS, n)))
	o.put(row, prefix+"goroutines_per_peer", fmt.Sprintf("%.1f", float64(after.Gs-before.Gs)/float64(n)))
}

// putGoroutines writes the 8 commonest goroutine entry functions, per peer.
func putGoroutines(o *out, row string, n int) {
	gs := goroutinesByEntry()
	for i, k := range top(gs) {
		if i == 8 {
			break
		}
		o.put(row, k, fmt.Sprintf("%.1f", gs[k]/float64(n)))
	}
}

func (c *cluster) connsPerPeer() float64 {
	total := 0
	for _, h := range c.hosts {
		total += len(h.Network().Conns())
	}
	return float64(total) / float64(len(c.hosts))
}

func writeHeapProfile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func sent(r lookupResult) float64   { return float64(r.trace.Sent) }
func rounds(r lookupResult) float64 { return float64(r.trace.Rounds) }

func pct(rs []lookupResult, q float64, f func(lookupResult) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return stats.NearestRank(xs, q)
}
