// Command report turns the samples bench/run.sh collects into BENCHMARKS.md.
//
// Usage: report RESULTS.tsv > BENCHMARKS.md
//
//	report -merge BENCHMARKS.md RESULTS.tsv > NEW.md
//	report -merge-scale BENCHMARKS.md RESULTS.tsv > NEW.md
//
// -merge renders only the block store's section (store.go) from the
// samples of a BENCH_ONLY=store run and puts it into the existing report;
// -merge-scale does the same for the scale section (scale.go).
//
// Every line of the input is row<TAB>metric<TAB>value, one sample each; a
// row/metric pair seen R times was measured R times. Rows:
//
//	meta                        facts about the machine and the run
//	pingpong/IMPL/SIZE          latency_us, bandwidth_MBps
//	heat/IMPL                   rep, time_s, checksum (rep: the repetition,
//	                            put before each time_s, pairs the columns)
//	heat                        expected_checksum, expected_from
//	startup/IMPL                wall_s
//	idle/p2pdvm                 rss_mib, cpu_ms (one sample per peer)
//	ckpt/...                    checkpoint rows, see bench/ckpt.sh
//	store-...                   the block store's rows: see store.go
//	scale-..., scale/...        the scale rows: see scale.go
//	ROW (any of the above)      status: why it was not run or failed
//	                            placement: where p2pdvm put the ranks
//
// IMPL is mpich-tcp, mpich-shm or p2pdvm. Numbers are summarised as the
// median and the min–max range over the samples.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/p2pdvm/p2pdvm/bench/internal/stats"
)

// results holds every sample, by row and metric, in input order.
type results map[string]map[string][]string

func (r results) all(row, metric string) []string { return r[row][metric] }

func (r results) first(row, metric string) string {
	if v := r[row][metric]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// nums returns the samples of row/metric that parse as numbers.
func (r results) nums(row, metric string) []float64 {
	var xs []float64
	for _, s := range r[row][metric] {
		if x, err := strconv.ParseFloat(s, 64); err == nil {
			xs = append(xs, x)
		}
	}
	return xs
}

func read(in io.Reader) (results, error) {
	r := results{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.SplitN(sc.Text(), "\t", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want row<TAB>metric<TAB>value", n)
		}
		if r[f[0]] == nil {
			r[f[0]] = map[string][]string{}
		}
		r[f[0]][f[1]] = append(r[f[0]][f[1]], f[2])
	}
	return r, sc.Err()
}

// stat is the summary of one measurement: median and range, or why none.
type stat struct {
	ok            bool
	med, min, max float64
	n             int
	why           string // when !ok
}

// summarise summarises row/metric; statusRow holds the reason if it is empty.
func (r results) summarise(row, metric, statusRow string) stat {
	xs := r.nums(row, metric)
	if len(xs) == 0 {
		why := r.first(statusRow, "status")
		if why == "" {
			why = "not run"
		}
		return stat{why: why}
	}
	return summary(xs)
}

// summary is the median and range of xs (not empty).
func summary(xs []float64) stat {
	st := stat{ok: true, med: stats.Median(xs), min: xs[0], max: xs[0], n: len(xs)}
	for _, x := range xs {
		st.min, st.max = min(st.min, x), max(st.max, x)
	}
	return st
}

// num formats x with about four significant digits.
func num(x float64) string {
	switch ax := abs(x); {
	case ax >= 1000:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case ax >= 100:
		return strconv.FormatFloat(x, 'f', 1, 64)
	case ax >= 10:
		return strconv.FormatFloat(x, 'f', 2, 64)
	default:
		return strconv.FormatFloat(x, 'f', 3, 64)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// cell renders a stat as "median (min–max)", or its reason.
func (s stat) cell() string {
	if !s.ok {
		return s.why
	}
	if s.n == 1 || s.min == s.max {
		return num(s.med)
	}
	return fmt.Sprintf("%s (%s–%s)", num(s.med), num(s.min), num(s.max))
}

// ratio renders a.med / b.med, or "–" when either is missing.
func ratio(a, b stat) string {
	if !a.ok || !b.ok || b.med == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a.med/b.med)
}

var sizes = []struct {
	bytes, label string
}{{"8", "8 B"}, {"1024", "1 KiB"}, {"65536", "64 KiB"}, {"1048576", "1 MiB"}, {"4194304", "4 MiB"}}

type report struct {
	r results
	w io.Writer
}

func (p *report) f(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

func (p *report) pingpongTable(metric, title, unit string) {
	p.f("\n### %s\n\n", title)
	p.f("| size | MPICH TCP (%[1]s) | MPICH shm (%[1]s) | p2pdvm Go (%[1]s) | p2pdvm Go / MPICH TCP | p2pdvm C (%[1]s) | p2pdvm C / MPICH TCP |\n", unit)
	p.f("|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range sizes {
		tcp := p.r.summarise("pingpong/mpich-tcp/"+s.bytes, metric, "pingpong/mpich-tcp")
		shm := p.r.summarise("pingpong/mpich-shm/"+s.bytes, metric, "pingpong/mpich-shm")
		dvm := p.r.summarise("pingpong/p2pdvm/"+s.bytes, metric, "pingpong/p2pdvm")
		dvmc := p.r.summarise("pingpong/p2pdvm-c/"+s.bytes, metric, "pingpong/p2pdvm-c")
		p.f("| %s | %s | %s | %s | %s | %s | %s |\n", s.label, tcp.cell(), shm.cell(), dvm.cell(), ratio(dvm, tcp), dvmc.cell(), ratio(dvmc, tcp))
	}
}

// checksumOK says whether every heat checksum of impl equals the expected one.
func (p *report) checksumOK(impl string) string { return p.checksumOf("heat", "heat/"+impl) }

type target struct {
	name, measured string
	met            string // "met", "not met" or "not measured"
}

func verdict(ok, measured bool) string {
	switch {
	case !measured:
		return "not measured"
	case ok:
		return "met"
	default:
		return "not met"
	}
}

func (p *report) write() {
	r := p.r
	meta := func(k string) string { return r.first("meta", k) }

	p.f("# Benchmarks: p2pdvm and MPICH side by side\n\n")
	p.f("Generated by `make bench` (`bench/run.sh`, tables by `bench/report`) on %s.", meta("date"))
	if meta("quick") == "1" {
		p.f(" **Quick smoke run (BENCH_QUICK=1): too few repeats and iterations to quote.**")
	}
	p.f(" Every figure is the median over the runs, with the min–max range in brackets.\n\n")

	p.f("## Machine\n\n| | |\n|---|---|\n")
	for _, kv := range [][2]string{
		{"OS", meta("os")}, {"CPU", meta("cpu")}, {"cores", meta("cores")}, {"memory", meta("memory")},
		{"Go", meta("go")}, {"MPICH", meta("mpich")},
		{"runs per measurement", "pingpong " + meta("pingpong_repeat") + ", heat " + meta("heat_repeat") + ", startup " + meta("repeat") + ", checkpoints " + meta("ckpt_repeat") + "; each repetition runs every column once, starting one column later than the last"},
		{"steal time (hypervisor) while pingpong, heat and startup ran", meta("steal")},
	} {
		if kv[1] == "" {
			continue // older results files, or a row that was not measured
		}
		p.f("| %s | %s |\n", kv[0], kv[1])
	}

	p.f("\n## How it was run\n\n")
	p.f("- **MPICH TCP**: `%s mpiexec -n 2 PROGRAM`. MPICH 4.0.2 in Debian 12 is ch4:ucx without a shared-memory\n", meta("mpich_tcp_env"))
	p.f("  module of its own, so `MPIR_CVAR_NOLOCAL=1` alone changes nothing (its 8 B latency stays at the shm figure);\n")
	p.f("  `UCX_TLS=tcp,self` is the knob that moves traffic to TCP, and `UCX_NET_DEVICES=lo` keeps it on loopback\n")
	p.f("  (otherwise UCX also stripes over eth0).\n")
	shmEnv := meta("mpich_shm_env")
	if shmEnv != "" {
		shmEnv += " "
	}
	p.f("- **MPICH shm**: `%smpiexec -n 2 PROGRAM`, no transport knobs: UCX picks its shared-memory transports (sysv/posix/cma).\n", shmEnv)
	p.f("- **p2pdvm**: two `p2pdvm peer` processes listening on 127.0.0.1 (the second bootstrapping from the first),\n")
	p.f("  then `p2pdvm submit --peer DIR1/ctl.sock -n 2 PROGRAM-go`; the programs are `examples/pingpong`, `examples/heat`.\n")
	for _, row := range []string{"pingpong/p2pdvm", "heat/p2pdvm"} {
		if pl := r.first(row, "placement"); pl != "" {
			p.f("  Placement of the first %s run (`p2pdvm status --json`): %s.\n", strings.TrimSuffix(row, "/p2pdvm"), pl)
		}
	}
	p.f("- C programs (`examples/c`) are built with MPICH's `mpicc -O2 -ffp-contract=off` for the MPICH rows and with\n")
	p.f("  `p2pdvm mpicc` and the same flags for the **p2pdvm C** rows (p2pdvm's own mpi.h and static MPI library), which\n")
	p.f("  run on the same 2-peer DVM as the Go programs.\n")

	p.f("\n## Ping-pong (2 ranks)\n\nOne-way time is the median over round trips of round-trip/2 (unless BENCH_PINGPONG_ITERS says otherwise, every row times 10,000 round trips at 8 B and 1 KiB, 1,000 at 64 KiB, 200 at 1 MiB and 50 at 4 MiB, after a tenth as many untimed); bandwidth is size / one-way time (1 MB = 10⁶ B).\n")
	p.pingpongTable("latency_us", "Latency", "µs")
	p.pingpongTable("bandwidth_MBps", "Bandwidth", "MB/s")

	p.f("\n## Heat (N=%s, %s iterations, 2 ranks)\n\n", meta("heat_n"), meta("heat_iters"))
	p.f("Time is the `time_s` the program prints (the iteration loop). The Go and the C program sweep with the same loop\n")
	p.f("(four cells a step, each middle-row value loaded once), so every row runs one kernel. Expected checksum %s (%s).\n\n",
		r.first("heat", "expected_checksum"), r.first("heat", "expected_from"))
	p.f("*Paired* is the median (min–max) over the repetitions of the run's time over MPICH TCP's in the same repetition:\n")
	p.f("the columns of one repetition run back to back, so the minutes-long drift of this VM's speed, which a ratio of\n")
	p.f("medians mixes in, cancels. The targets use the paired median.\n\n")
	p.f("| run | time (s) | checksum | vs MPICH TCP (medians) | vs MPICH TCP (paired) |\n|---|---:|---|---:|---:|\n")
	heatTCP := r.summarise("heat/mpich-tcp", "time_s", "heat/mpich-tcp")
	for _, impl := range []struct{ key, name string }{{"mpich-tcp", "MPICH TCP"}, {"mpich-shm", "MPICH shm"}, {"p2pdvm", "p2pdvm Go"}, {"p2pdvm-c", "p2pdvm C"}} {
		st := r.summarise("heat/"+impl.key, "time_s", "heat/"+impl.key)
		q := "1.00×"
		if impl.key != "mpich-tcp" {
			q = pairedCell(r.paired("heat/"+impl.key, "heat/mpich-tcp", "time_s"))
		}
		p.f("| %s | %s | %s | %s | %s |\n", impl.name, st.cell(), p.checksumOK(impl.key), ratio(st, heatTCP), q)
	}

	p.f("\n## Startup (%s ranks of MPI_Init + MPI_Finalize)\n\n", meta("startup_np"))
	p.f("Wall time of the launching command. MPICH runs `mpiexec -n %[1]s` oversubscribed on %[2]s cores, where its ranks\n", meta("startup_np"), meta("cores"))
	p.f("busy-poll while waiting for each other, so its figure includes that spinning. p2pdvm submits to a running DVM of %s peers.\n\n", meta("startup_peers"))
	p.f("| run | wall time (s) | vs MPICH |\n|---|---:|---:|\n")
	startMPICH := r.summarise("startup/mpich-shm", "wall_s", "startup/mpich-shm")
	startDVM := r.summarise("startup/p2pdvm", "wall_s", "startup/p2pdvm")
	p.f("| `mpiexec -n %s initfin` | %s | |\n", meta("startup_np"), startMPICH.cell())
	p.f("| `p2pdvm submit -n %s initfin-go` | %s | %s |\n", meta("startup_np"), startDVM.cell(), ratio(startDVM, startMPICH))

	p.f("\n## Idle peer\n\n")
	p.f("Each peer of the %s-peer DVM, a few seconds after the startup runs: VmRSS, and utime+stime from /proc/PID/stat\n", meta("startup_peers"))
	p.f("over a %s s idle window (clock ticks are 10 ms, so 10 ms is the resolution). Median over the peers, min–max.\n\n", meta("idle_window_s"))
	rss := r.summarise("idle/p2pdvm", "rss_mib", "idle/p2pdvm")
	cpu := r.summarise("idle/p2pdvm", "cpu_ms", "idle/p2pdvm")
	p.f("| metric | value |\n|---|---:|\n| VmRSS (MiB) | %s |\n| CPU over %s s (ms) | %s |\n", rss.cell(), meta("idle_window_s"), cpu.cell())
	p.heartbeats()

	p.f("\n")
	p.ckptSection()
	p.f("\n")
	p.storeSection(false)
	p.f("\n")
	p.scaleSection(false)
	p.flocSection()

	p.f("\n## Targets\n\n| target | measured | |\n|---|---|---|\n")
	for _, t := range p.targets(heatTCP, startMPICH, startDVM, rss, cpu) {
		p.f("| %s | %s | %s |\n", t.name, t.measured, t.met)
	}

	if notes := r.all("note", "text"); len(notes) > 0 {
		p.f("\n## Notes\n\n")
		for _, n := range notes {
			p.f("- %s\n", n)
		}
	}
}

// cmp builds a ratio target: ok(a.med/b.med) decides, the measured
// column shows the ratio and both medians.
func cmp(name string, a, b stat, unit string, ok func(float64) bool) target {
	if !a.ok || !b.ok || b.med == 0 {
		why := a.why
		if a.ok {
			why = b.why
		}
		return target{name, why, verdict(false, false)}
	}
	x := a.med / b.med
	return target{name, fmt.Sprintf("%.2f× (%s vs %s %s)", x, num(a.med), num(b.med), unit), verdict(ok(x), true)}
}

func (p *report) targets(heatTCP, startMPICH, startDVM, rss, cpu stat) []target {
	r := p.r
	pp := func(impl, size, metric string) stat {
		return r.summarise("pingpong/"+impl+"/"+size, metric, "pingpong/"+impl)
	}
	var ts []target
	ts = append(ts,
		cmp("8 B latency ≤ 2.0× MPICH TCP", pp("p2pdvm", "8", "latency_us"), pp("mpich-tcp", "8", "latency_us"), "µs",
			func(x float64) bool { return x <= 2.0 }),
		cmp("4 MiB bandwidth ≥ 0.7× MPICH TCP", pp("p2pdvm", "4194304", "bandwidth_MBps"), pp("mpich-tcp", "4194304", "bandwidth_MBps"), "MB/s",
			func(x float64) bool { return x >= 0.7 }),
		cmpPaired("heat time ≤ 1.1× MPICH TCP", r.paired("heat/p2pdvm", "heat/mpich-tcp", "time_s"),
			r.summarise("heat/p2pdvm", "time_s", "heat/p2pdvm"), heatTCP, "s", func(x float64) bool { return x <= 1.1 }),
		cmp("startup ≤ 1.0× MPICH", startDVM, startMPICH, "s",
			func(x float64) bool { return x <= 1.0 }),
		cmp("C: 8 B latency ≤ 2.0× MPICH TCP", pp("p2pdvm-c", "8", "latency_us"), pp("mpich-tcp", "8", "latency_us"), "µs",
			func(x float64) bool { return x <= 2.0 }),
		cmp("C: 4 MiB bandwidth ≥ 0.7× MPICH TCP", pp("p2pdvm-c", "4194304", "bandwidth_MBps"), pp("mpich-tcp", "4194304", "bandwidth_MBps"), "MB/s",
			func(x float64) bool { return x >= 0.7 }),
		cmpPaired("C: heat time ≤ 1.1× MPICH TCP", r.paired("heat/p2pdvm-c", "heat/mpich-tcp", "time_s"),
			r.summarise("heat/p2pdvm-c", "time_s", "heat/p2pdvm-c"), heatTCP, "s", func(x float64) bool { return x <= 1.1 }),
		cmp("C: 8 B latency ≤ 1.1× the Go API's", pp("p2pdvm-c", "8", "latency_us"), pp("p2pdvm", "8", "latency_us"), "µs",
			func(x float64) bool { return x <= 1.1 }),
		cmpPaired("C: heat time ≤ 1.1× the Go API's", r.paired("heat/p2pdvm-c", "heat/p2pdvm", "time_s"),
			r.summarise("heat/p2pdvm-c", "time_s", "heat/p2pdvm-c"), r.summarise("heat/p2pdvm", "time_s", "heat/p2pdvm"), "s",
			func(x float64) bool { return x <= 1.1 }),
	)
	if rss.ok {
		ts = append(ts, target{"idle RSS ≤ 60 MiB", num(rss.max) + " MiB (largest peer)", verdict(rss.max <= 60, true)})
	} else {
		ts = append(ts, target{"idle RSS ≤ 60 MiB", rss.why, verdict(false, false)})
	}
	if cpu.ok {
		// One clock tick is the resolution: anything above it is measurable.
		ts = append(ts, target{"idle: no measurable CPU", fmt.Sprintf("%s ms over %s s (busiest peer)", num(cpu.max), r.first("meta", "idle_window_s")),
			verdict(cpu.max <= 10, true)})
	} else {
		ts = append(ts, target{"idle: no measurable CPU", cpu.why, verdict(false, false)})
	}
	if c := p.checksumOK("p2pdvm"); c != "OK" && c != "–" {
		ts[2].met = "not met (checksum " + c + ")"
	}
	if c := p.checksumOK("p2pdvm-c"); c != "OK" && c != "–" {
		ts[6].met = "not met (checksum " + c + ")"
	}
	return ts
}

func main() {
	args, mergeInto, section := os.Args[1:], "", ""
	if len(args) == 3 && (args[0] == "-merge" || args[0] == "-merge-scale" || args[0] == "-merge-floc" || args[0] == "-merge-ckpt") {
		mergeInto, section, args = args[1], args[0], args[2:]
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: report RESULTS.tsv > BENCHMARKS.md\n       report -merge|-merge-scale|-merge-floc|-merge-ckpt BENCHMARKS.md RESULTS.tsv > NEW.md")
		os.Exit(2)
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	defer f.Close()
	r, err := read(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "report: %s: %v\n", args[0], err)
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	if mergeInto == "" {
		(&report{r: r, w: w}).write()
	} else {
		old, err := os.ReadFile(mergeInto)
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		var sec strings.Builder
		switch section {
		case "-merge-floc":
			w.WriteString(mergeFloc(string(old), r))
		case "-merge-ckpt":
			(&report{r: r, w: &sec}).ckptSection()
			w.WriteString(mergeSection(string(old), sec.String(), ckptBegin, ckptEnd))
		case "-merge-scale":
			(&report{r: r, w: &sec}).scaleSection(true)
			w.WriteString(mergeSection(string(old), sec.String(), scaleBegin, scaleEnd))
		default:
			(&report{r: r, w: &sec}).storeSection(true)
			w.WriteString(merge(string(old), sec.String()))
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}
