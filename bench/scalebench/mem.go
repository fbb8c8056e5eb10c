package main

import (
	"bufio"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
)

// memProfileRate samples one allocation per 64 KiB instead of Go's 512
// KiB, so that the per-package split below rests on enough samples. Set
// before anything is allocated.
const memProfileRate = 64 << 10

// mem is the process's memory at one moment.
type mem struct {
	Heap   uint64 // Go heap in use (HeapInuse: whole spans, free slots in them included)
	Live   uint64 // live objects (HeapAlloc right after a GC), what the heap profile sums to
	Stacks uint64 // goroutine stacks (StackInuse)
	RSS    uint64 // VmRSS
	Gs     int    // goroutines
}

// measure collects garbage, returns freed memory to the OS (so that RSS
// falls as far as it will), and reads the figures.
func measure() mem {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mem{Heap: ms.HeapInuse, Live: ms.HeapAlloc, Stacks: ms.StackInuse, RSS: vmRSS(), Gs: runtime.NumGoroutine()}
}

// vmRSS reads VmRSS from /proc/self/status; 0 where there is none.
func vmRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if kib, ok := parseStatusKiB(sc.Text(), "VmRSS:"); ok {
			return kib << 10
		}
	}
	return 0
}

// parseStatusKiB parses a /proc/PID/status line such as "VmRSS:   1234 kB".
func parseStatusKiB(line, field string) (uint64, bool) {
	rest, ok := strings.CutPrefix(line, field)
	if !ok {
		return 0, false
	}
	f := strings.Fields(rest)
	if len(f) != 2 || f[1] != "kB" {
		return 0, false
	}
	n, err := strconv.ParseUint(f[0], 10, 64)
	return n, err == nil
}

// perPeerMiB is (after - before) / n in MiB, never below zero.
func perPeerMiB(before, after uint64, n int) float64 {
	if after < before || n == 0 {
		return 0
	}
	return float64(after-before) / float64(n) / (1 << 20)
}

// owners says which part of the stack an allocation belongs to: the
// innermost frame whose function starts with one of these prefixes
// decides, so that a peerstore entry made by identify counts as
// peerstore. Order matters only for prefixes of each other.
var owners = []struct{ prefix, name string }{
	{"github.com/libp2p/go-libp2p/p2p/net/mock", "mocknet (conns, streams, links)"},
	{"github.com/libp2p/go-libp2p/p2p/host/peerstore", "peerstore"},
	{"github.com/libp2p/go-libp2p/p2p/protocol/identify", "identify"},
	{"github.com/libp2p/go-libp2p/p2p/host/eventbus", "eventbus"},
	{"github.com/libp2p/go-libp2p/p2p/host/basic", "basic host"},
	{"github.com/libp2p/go-libp2p/p2p/", "other go-libp2p"},
	{"github.com/libp2p/go-libp2p-kbucket", "kad-dht routing table"},
	{"github.com/libp2p/go-libp2p-kad-dht", "kad-dht"},
	{"github.com/libp2p/go-msgio", "msgio buffers"},
	{"github.com/multiformats/", "multiaddrs"},
	{"github.com/p2pdvm/p2pdvm/dvm", "dvm"},
	{"github.com/p2pdvm/p2pdvm/storage", "dvm"},
	{"github.com/p2pdvm/p2pdvm/bench", "the bench itself"},
}

// heapByOwner splits the sampled in-use heap by owner, scaled up from
// the samples as pprof does. Approximate by nature; the total is close
// to, not equal to, HeapInuse.
func heapByOwner() map[string]float64 {
	runtime.GC()
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, false)
	for {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		n, ok = runtime.MemProfile(recs, false)
		if ok {
			recs = recs[:n]
			break
		}
	}
	out := map[string]float64{}
	for _, r := range recs {
		bytes, objs := r.InUseBytes(), r.InUseObjects()
		if bytes <= 0 || objs <= 0 {
			continue
		}
		avg := float64(bytes) / float64(objs)
		scale := 1 / (1 - math.Exp(-avg/float64(runtime.MemProfileRate)))
		out[ownerOf(r.Stack())] += float64(bytes) * scale
	}
	return out
}

func ownerOf(stack []uintptr) string {
	frames := runtime.CallersFrames(stack)
	for {
		f, more := frames.Next()
		for _, o := range owners {
			if strings.HasPrefix(f.Function, o.prefix) {
				return o.name
			}
		}
		if !more {
			return "other (runtime, std)"
		}
	}
}

// top returns the owners by size, largest first.
func top(m map[string]float64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return m[ks[i]] > m[ks[j]] || m[ks[i]] == m[ks[j]] && ks[i] < ks[j] })
	return ks
}

// goroutinesByEntry counts goroutines by the function they were started
// with (the outermost frame), shortened to package.Func: which parts of
// the stack keep goroutines, and so stack memory, per connection.
func goroutinesByEntry() map[string]float64 {
	n := runtime.NumGoroutine()
	var recs []runtime.StackRecord
	for {
		recs = make([]runtime.StackRecord, n+256)
		var ok bool
		n, ok = runtime.GoroutineProfile(recs)
		if ok {
			recs = recs[:n]
			break
		}
	}
	out := map[string]float64{}
	for _, r := range recs {
		entry := ""
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			if f.Function != "" && f.Function != "runtime.goexit" {
				entry = f.Function
			}
			if !more {
				break
			}
		}
		out[shortFunc(entry)]++
	}
	return out
}

// shortFunc trims a function's import path to its last element:
// github.com/libp2p/go-libp2p/p2p/net/mock.(*stream).transport becomes
// mock.(*stream).transport.
func shortFunc(f string) string {
	if i := strings.LastIndexByte(f, '/'); i >= 0 {
		f = f[i+1:]
	}
	return f
}
