package floc

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The policy tests are scripts in testdata/*.txt, run against a Table with
// a fake clock. A script is a sequence of commands; a command that prints
// something is followed by a "----" line and the expected output, up to a
// blank line. A command with no "----" must print nothing. Lines starting
// with # are comments. After every command the Table's invariants are
// checked.
//
// Commands:
//
//	new [Field=value ...]        DefaultConfig with the fields overridden; clock at base
//	tick DUR                     advance the clock
//	next JOB/RANK BYTES [xN] [every DUR]
//	                             N messages, DUR apart; prints each result,
//	                             runs of the same result as "result xN"
//	learned JOB/RANK HOST VERSION   HOST "-" is the empty peer.ID
//	invalidate JOB/RANK
//	dropjob JOB
//	sweep
//	shortcuts                    one line per shortcut, times relative to base
//	stats
//	counted JOB/RANK             the window's totals now, or "untracked"
//	tracked                      counted destinations, most recently seen first,
//	                             * marking those with a shortcut ("none" if empty)
//	hosts                        shortcut count per host ("none" if empty)
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

var base = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type scriptEnv struct {
	t   *testing.T
	tab *Table
	now time.Time
}

func runScript(t *testing.T, path string) {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var lines []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	env := &scriptEnv{t: t}
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		at := fmt.Sprintf("%s:%d", path, i+1)
		var want []string
		if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) == "----" {
			i += 2
			for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
				want = append(want, strings.TrimSpace(lines[i]))
			}
		}
		got := env.run(at, strings.Fields(line))
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %s\ngot:\n%s\nwant:\n%s", at, line, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if env.tab != nil {
			if err := env.tab.check(); err != nil {
				t.Fatalf("%s: %s: invariant: %v", at, line, err)
			}
		}
	}
}

func (env *scriptEnv) run(at string, f []string) []string {
	t := env.t
	if f[0] != "new" && env.tab == nil {
		t.Fatalf("%s: %s before new", at, f[0])
	}
	arg := func(i int) string {
		if i >= len(f) {
			t.Fatalf("%s: %s: missing argument %d", at, f[0], i)
		}
		return f[i]
	}
	num := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", at, err)
		}
		return n
	}
	dur := func(s string) time.Duration {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("%s: %v", at, err)
		}
		return d
	}
	dest := func(s string) Dest {
		job, rank, ok := strings.Cut(s, "/")
		if !ok {
			t.Fatalf("%s: destination %q is not JOB/RANK", at, s)
		}
		return Dest{job, int(num(rank))}
	}
	switch f[0] {
	case "new":
		cfg := DefaultConfig()
		cfg.MinMsgs = 8 // the scripts' counts were written for this threshold
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			fv := reflect.ValueOf(&cfg).Elem().FieldByName(k)
			switch {
			case !fv.IsValid():
				t.Fatalf("%s: no Config field %s", at, k)
			case fv.Kind() == reflect.Bool:
				fv.SetBool(v == "true")
			case fv.Type() == reflect.TypeFor[time.Duration]():
				fv.SetInt(int64(dur(v)))
			default:
				fv.SetInt(num(v))
			}
		}
		env.now = base
		env.tab = New(cfg, func() time.Time { return env.now })
		return nil
	case "tick":
		env.now = env.now.Add(dur(arg(1)))
		return nil
	case "next":
		d, n, count, every := dest(arg(1)), int(num(arg(2))), 1, time.Duration(0)
		for i := 3; i < len(f); i++ {
			switch {
			case strings.HasPrefix(f[i], "x"):
				count = int(num(f[i][1:]))
			case f[i] == "every":
				i++
				every = dur(arg(i))
			default:
				t.Fatalf("%s: next: unknown %q", at, f[i])
			}
		}
		var out []string
		last, run := "", 0
		flush := func() {
			switch {
			case run == 1:
				out = append(out, last)
			case run > 1:
				out = append(out, fmt.Sprintf("%s x%d", last, run))
			}
		}
		for i := range count {
			if i > 0 {
				env.now = env.now.Add(every)
			}
			sc, ok, want := env.tab.Next(d, n)
			var r string
			switch {
			case ok && want:
				t.Fatalf("%s: Next said both ok and want", at)
			case ok:
				r = fmt.Sprintf("shortcut %s v%d", string(sc.Host), sc.Version)
			case want:
				r = "routed want"
			default:
				r = "routed"
			}
			if !ok && sc != (Shortcut{}) {
				t.Fatalf("%s: Next returned a shortcut with ok=false: %+v", at, sc)
			}
			if r != last {
				flush()
				last, run = r, 0
			}
			run++
		}
		flush()
		return out
	case "learned":
		host := peer.ID(arg(2))
		if host == "-" {
			host = ""
		}
		added, removed := env.tab.Learned(dest(arg(1)), host, uint64(num(arg(3))))
		return hostChange(added, removed)
	case "peek":
		sc, ok := env.tab.Peek(dest(arg(1)))
		if !ok {
			return []string{"none"}
		}
		return []string{fmt.Sprintf("%s v%d", string(sc.Host), sc.Version)}
	case "invalidate":
		return hostChange("", env.tab.Invalidate(dest(arg(1))))
	case "dropjob":
		return hostChange("", env.tab.DropJob(arg(1)))
	case "sweep":
		return hostChange("", env.tab.Sweep())
	case "shortcuts":
		var out []string
		for _, s := range env.tab.Shortcuts() {
			out = append(out, fmt.Sprintf("%s/%d %s v%d installed=%v validated=%v used=%v msgs=%d bytes=%d",
				s.Dest.Job, s.Dest.Rank, string(s.Host), s.Version, s.Installed.Sub(base), s.Validated.Sub(base),
				s.LastUsed.Sub(base), s.Msgs, s.Bytes))
		}
		return out
	case "stats":
		s := env.tab.Stats()
		return []string{fmt.Sprintf("held=%d installed=%d invalidated=%d evicted=%d quiet=%d via=%d routed=%d",
			s.Held, s.Installed, s.Invalidated, s.Evicted, s.Quiet, s.ViaShortcut, s.Routed)}
	case "counted":
		tab := env.tab
		tab.mu.Lock()
		defer tab.mu.Unlock()
		e := tab.m[dest(arg(1))]
		if e == nil {
			return []string{"untracked"}
		}
		_, tk := tab.settle(env.now.Sub(tab.t0))
		e.win.advance(tk)
		return []string{fmt.Sprintf("msgs=%d bytes=%d", e.win.msgs, e.win.bytes)}
	case "tracked":
		tab := env.tab
		tab.mu.Lock()
		defer tab.mu.Unlock()
		var ds []string
		for e := tab.seen.front; e != nil; e = e.links[bySeen].next {
			s := fmt.Sprintf("%s/%d", e.dest.Job, e.dest.Rank)
			if e.held {
				s += "*"
			}
			ds = append(ds, s)
		}
		return []string{cmp.Or(strings.Join(ds, " "), "none")}
	case "hosts":
		tab := env.tab
		tab.mu.Lock()
		defer tab.mu.Unlock()
		var hs []string
		for h, n := range tab.hosts {
			hs = append(hs, fmt.Sprintf("%s=%d", string(h), n))
		}
		slices.Sort(hs)
		return []string{cmp.Or(strings.Join(hs, " "), "none")}
	}
	t.Fatalf("%s: unknown command %q", at, f[0])
	return nil
}

func hostChange(added peer.ID, removed []peer.ID) []string {
	var parts []string
	if added != "" {
		parts = append(parts, "added="+string(added))
	}
	if len(removed) > 0 {
		rs := make([]string, len(removed))
		for i, r := range removed {
			rs[i] = string(r)
		}
		parts = append(parts, "removed="+strings.Join(rs, ","))
	}
	if len(parts) == 0 {
		return []string{"-"}
	}
	return []string{strings.Join(parts, " ")}
}

// check verifies what the Table keeps redundantly: the lists against the
// map, the host counts against the shortcuts, and the caps.
func (t *Table) check() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	walk := func(l *list) (map[*entry]bool, error) {
		in := map[*entry]bool{}
		var prev *entry
		for e := l.front; e != nil; e = e.links[l.k].next {
			if e.links[l.k].prev != prev {
				return nil, fmt.Errorf("list %d: broken prev link at %v", l.k, e.dest)
			}
			if in[e] {
				return nil, fmt.Errorf("list %d: cycle at %v", l.k, e.dest)
			}
			in[e] = true
			prev = e
		}
		if l.back != prev || len(in) != l.n {
			return nil, fmt.Errorf("list %d: back or length (%d) wrong, walked %d", l.k, l.n, len(in))
		}
		return in, nil
	}
	seen, err := walk(&t.seen)
	if err != nil {
		return err
	}
	used, err := walk(&t.used)
	if err != nil {
		return err
	}
	if len(seen) != len(t.m) {
		return fmt.Errorf("%d counted, %d in the map", len(seen), len(t.m))
	}
	hosts := map[peer.ID]int{}
	for d, e := range t.m {
		if e.dest != d || !seen[e] {
			return fmt.Errorf("%v: map and seen list disagree", d)
		}
		if e.held != used[e] {
			return fmt.Errorf("%v: held=%v but on the used list=%v", d, e.held, used[e])
		}
		if e.held {
			if e.sc.Dest != d || e.sc.Host == "" {
				return fmt.Errorf("%v: bad shortcut %+v", d, e.sc)
			}
			hosts[e.sc.Host]++
		}
	}
	if !reflect.DeepEqual(hosts, t.hosts) {
		return fmt.Errorf("host counts %v, shortcuts say %v", t.hosts, hosts)
	}
	if t.cfg.Enabled && (t.used.n > t.cfg.MaxShortcuts || t.seen.n > t.cfg.MaxTracked) {
		return fmt.Errorf("%d shortcuts, %d counted: over the caps", t.used.n, t.seen.n)
	}
	return nil
}
