package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/p2pdvm/p2pdvm/dvm"
)

// profileLoopback is the loopback put and get of bench/run.sh in one
// process, for profiling: the peers are real libp2p hosts on 127.0.0.1
// (TCP, TLS, yamux) as in `p2pdvm peer`, but share one Go runtime, so
// one CPU profile covers the uploader and the replicas. The figures
// bench/run.sh reports come from separate peer processes, not from here.
func profileLoopback(ctx context.Context, args []string, out *results) error {
	fs := flag.NewFlagSet("loopback", flag.ContinueOnError)
	n := fs.Int("peers", 4, "peers")
	file := fs.String("file", "", "the file to put and get back")
	dir := fs.String("dir", "", "data dirs go here (default: a new directory in $TMPDIR)")
	cpuprof := fs.String("cpuprofile", "", "write CPU profiles of the put and of the get to this path plus .put and .get")
	memprof := fs.String("memprofile", "", "write a heap profile (allocations) here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return fmt.Errorf("loopback: say -file")
	}
	info, err := os.Stat(*file)
	if err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "storebench-lo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	var peers []*dvm.Peer
	defer func() {
		for _, p := range peers {
			p.Close()
		}
	}()
	for i := 0; i < *n; i++ {
		cfg := dvm.DefaultConfig(filepath.Join(*dir, fmt.Sprint(i)))
		cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
		cfg.ControlSocket = false
		cfg.Logger = slog.New(slog.DiscardHandler)
		if i > 0 {
			cfg.Bootstrap = []string{peers[0].Addrs()[0].String()}
		}
		p, err := dvm.New(ctx, cfg)
		if err != nil {
			return fmt.Errorf("loopback: peer %d: %w", i, err)
		}
		peers = append(peers, p)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range peers {
		for p.DHT().RoutingTable().Size() < *n-1 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if *memprof != "" {
		runtime.MemProfileRate = 64 << 10
	}
	stop, err := startProfile(*cpuprof, ".put")
	if err != nil {
		return err
	}
	t0, c0 := time.Now(), cpuTime()
	r, err := peers[0].StorePut(*file, "", nil)
	put, putCPU := time.Since(t0), cpuTime()-c0
	stop()
	if err != nil {
		return err
	}
	got := filepath.Join(*dir, "got")
	if stop, err = startProfile(*cpuprof, ".get"); err != nil {
		return err
	}
	t0, c0 = time.Now(), cpuTime()
	_, err = peers[1%*n].StoreGet(r.CID, got, nil)
	get, getCPU := time.Since(t0), cpuTime()-c0
	stop()
	if err != nil {
		return err
	}
	os.Remove(got)
	mb := float64(info.Size()) / 1e6
	out.put("store-loopback-inprocess", "put_MBps", fmt.Sprintf("%.1f", mb/put.Seconds()))
	out.put("store-loopback-inprocess", "get_MBps", fmt.Sprintf("%.1f", mb/get.Seconds()))
	// CPU time (user and system, all peers) per GB: with C cores, no
	// schedule moves a GB faster than this divided by C.
	out.put("store-loopback-inprocess", "put_cpu_s_per_GB", fmt.Sprintf("%.2f", putCPU.Seconds()/mb*1000))
	out.put("store-loopback-inprocess", "get_cpu_s_per_GB", fmt.Sprintf("%.2f", getCPU.Seconds()/mb*1000))
	if *memprof != "" {
		f, err := os.Create(*memprof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	return nil
}

// startProfile starts a CPU profile written to path+suffix, one per
// phase, so that the put's costs are read apart from the get's; with no
// path it does nothing. The returned stop ends it.
func startProfile(path, suffix string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path + suffix)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
