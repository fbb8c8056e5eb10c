package peal

import (
	"errors"
	"fmt"
	"os"
)

// ErrCancelled completes a receive withdrawn by Cancel.
var ErrCancelled = errors.New("peal: receive cancelled")

// ErrAborted is what the other members of an in-memory group see after one
// of them calls Abort.
var ErrAborted = errors.New("peal: job aborted")

// NewGroup returns n connected in-memory processes, for testing shims and
// programs without peers. Messages are copied on Send, as the real runtime
// does.
func NewGroup(job string, n int) []Proc {
	g := make([]*memProc, n)
	for i := range g {
		g[i] = &memProc{job: job, rank: i, m: NewMatcher(), group: g}
	}
	ps := make([]Proc, n)
	for i := range g {
		ps[i] = g[i]
	}
	return ps
}

type memProc struct {
	job   string
	rank  int
	m     *Matcher
	group []*memProc
}

var _ Proc = (*memProc)(nil)

func (p *memProc) Job() string { return p.job }
func (p *memProc) Rank() int   { return p.rank }
func (p *memProc) Size() int   { return len(p.group) }

func (p *memProc) Send(dst int, ctx uint32, tag int32, data []byte) error {
	if dst < 0 || dst >= len(p.group) {
		return fmt.Errorf("peal: send to rank %d of %d", dst, len(p.group))
	}
	p.group[dst].m.DeliverCopy(p.rank, ctx, tag, data)
	return nil
}

func (p *memProc) Post(src int, ctx uint32, tag int32) *Recv { return p.m.Post(src, ctx, tag) }

func (p *memProc) PostInto(src int, ctx uint32, tag int32, buf []byte) *Recv {
	return p.m.PostInto(src, ctx, tag, buf)
}

func (p *memProc) Cancel(r *Recv) bool { return p.m.Cancel(r) }

func (p *memProc) Probe(src int, ctx uint32, tag int32, block bool) (Message, bool, error) {
	return p.m.Probe(src, ctx, tag, block)
}

func (p *memProc) Abort(code int, msg string) error {
	for _, q := range p.group {
		q.m.Fail(fmt.Errorf("%w by rank %d with code %d: %s", ErrAborted, p.rank, code, msg))
	}
	fmt.Fprintf(os.Stderr, "peal: rank %d aborted the group (code %d): %s\n", p.rank, code, msg)
	return nil
}

func (p *memProc) Close() error {
	p.m.Fail(ErrClosed)
	return nil
}
