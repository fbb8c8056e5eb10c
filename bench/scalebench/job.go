package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/p2pdvm/p2pdvm/dvm"
)

// jobResult is the allreduce job's outcome.
type jobResult struct {
	wall  time.Duration
	hosts int    // distinct peers that ran ranks
	line  string // the program's result line
	ok    bool
	why   string // when !ok
}

// runJob submits the allreduce program with n ranks from peer 0, follows
// its output to the end and checks the result line against the closed
// form.
func (c *cluster) runJob(ctx context.Context, prog string, n, iters int, limit time.Duration) jobResult {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t0 := time.Now()
	j, err := c.peers[0].Submit(ctx, dvm.Spec{Program: prog, N: n, Args: []string{strconv.Itoa(iters)}})
	if err != nil {
		return jobResult{why: fmt.Sprintf("submit: %v", err)}
	}
	var out strings.Builder
	oerr := j.Output(ctx, true, func(ch dvm.Chunk) error { out.Write(ch.Data); return nil })
	rec, werr := j.Wait(ctx)
	r := jobResult{wall: time.Since(t0)}
	hosts := map[string]bool{}
	for _, rk := range rec.Ranks {
		hosts[fmt.Sprint(rk.Host)] = true
	}
	r.hosts = len(hosts)
	switch {
	case werr != nil:
		r.why = fmt.Sprintf("wait: %v", werr)
	case oerr != nil:
		r.why = fmt.Sprintf("output: %v", oerr)
	case rec.State != dvm.JobDone || rec.ExitCode != 0:
		r.why = fmt.Sprintf("job %s, exit %d: %s", rec.State, rec.ExitCode, rec.Err)
	}
	r.line, err = checkAllreduce(out.String(), n, iters)
	if r.why == "" && err != nil {
		r.why = err.Error()
	}
	if r.why != "" {
		// What the ranks said goes to the log: the job's own log dir
		// disappears with the peers' data dirs.
		logf("job %s failed; its output:\n%s", j.ID(), out.String())
		// Kill what may be left running; the job is over for the bench.
		_ = c.peers[0].Kill(j.ID(), "scalebench: "+r.why, dvm.ExitKilled)
		return r
	}
	r.ok = true
	return r
}

var allreduceLine = regexp.MustCompile(`allreduce ranks=(\d+) iters=(\d+) sum=(-?\d+)`)

// checkAllreduce finds the program's result line in its output and checks
// it: ranks and iterations as asked, and a sum of
// ITERS(ITERS+1)/2 · N(N+1)/2.
func checkAllreduce(out string, n, iters int) (string, error) {
	m := allreduceLine.FindStringSubmatch(out)
	if m == nil {
		last := strings.TrimSpace(out)
		if i := strings.LastIndexByte(last, '\n'); i >= 0 {
			last = last[i+1:]
		}
		return "", fmt.Errorf("no result line in the output (last line: %q)", last)
	}
	gotN, _ := strconv.Atoi(m[1])
	gotIters, _ := strconv.Atoi(m[2])
	sum, _ := strconv.ParseInt(m[3], 10, 64)
	want := int64(iters) * int64(iters+1) / 2 * (int64(n) * int64(n+1) / 2)
	if gotN != n || gotIters != iters || sum != want {
		return m[0], fmt.Errorf("%q: want ranks=%d iters=%d sum=%d", m[0], n, iters, want)
	}
	return m[0], nil
}
