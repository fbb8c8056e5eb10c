package dvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// The coordinator of a job's checkpoints is the peer that owns the job's
// key, JobKey(job), as its record does. The submitter starts each epoch
// (its interval, or `p2pdvm ckpt`) by asking that owner to coordinate it
// (ckpt.coord) under a grant it signs; the coordinator runs the cut
// (ckptCore: every rank's safe-point count, the cut one past the largest,
// every rank's state stored) with the ranks' hosts, and answers with the
// complete epoch. Only then does the submitter commit it: pin, name it in
// the record it signs, release the epoch before. A coordinator that dies
// mid-epoch fails that epoch (the last committed one stays the one to
// restart from); the submitter forgets the owner it asked, so the next
// epoch goes to whoever owns the key then: the role moves with the key.

// ckptGrant is the submitter's signed word that Coord coordinates epoch
// Epoch of run Run. Hosts take checkpoint requests only from the
// submitter or from a coordinator that shows the grant.
type ckptGrant struct {
	Run   string  `json:"run"`
	Epoch int     `json:"epoch"`
	Coord peer.ID `json:"coord"`
	Key   []byte  `json:"key"` // the submitter's public key
	Sig   []byte  `json:"sig"`
}

func (g ckptGrant) signingBytes() []byte {
	g.Sig = nil
	b, _ := json.Marshal(g)
	return b
}

func (p *Peer) signGrant(run string, epoch int, coord peer.ID) (*ckptGrant, error) {
	key, pub, err := p.selfKey()
	if err != nil {
		return nil, err
	}
	g := &ckptGrant{Run: run, Epoch: epoch, Coord: coord, Key: pub}
	g.Sig, err = key.Sign(g.signingBytes())
	return g, err
}

// verify checks that submitter signed g.
func (g *ckptGrant) verify(submitter peer.ID) error {
	return checkSigned(submitter, g.Key, g.signingBytes(), g.Sig, "checkpoint grant for "+g.Run)
}

// coordReq asks the owner of a job's key to coordinate one epoch.
type coordReq struct {
	Grant ckptGrant `json:"grant"`
	Hosts []peer.ID `json:"hosts"` // the host of each rank of the run
}

// ckptReport is a host's report of one rank to the epoch's coordinator.
type ckptReport struct {
	Run    string           `json:"run"`
	Epoch  int              `json:"epoch"`
	Rank   int              `json:"rank"`
	Count  *uint64          `json:"count,omitempty"`
	Stored *wire.CkptStored `json:"stored,omitempty"`
}

// maxCoordinations bounds the epochs one peer coordinates at once, so
// that requests cannot pile up work on it.
const maxCoordinations = 256

// coordination is one epoch this peer coordinates.
type coordination struct {
	grant ckptGrant
	hosts []peer.ID
	mu    sync.Mutex
	core  *ckptCore
	done  chan ckptResult // buffered: the first outcome
}

func coordKey(run string, epoch int) string { return fmt.Sprintf("%s#%d", run, epoch) }

type coordTable struct {
	mu sync.Mutex
	m  map[string]*coordination
	n  uint64 // epochs coordinated here, ever
}

func newCoordTable() *coordTable { return &coordTable{m: map[string]*coordination{}} }

func (t *coordTable) get(run string, epoch int) *coordination {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[coordKey(run, epoch)]
}

// handleCkptCoord is the coordinator's side: run the epoch's cut and
// answer with the complete epoch, or the reason it failed.
func (p *Peer) handleCkptCoord(ctx context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req coordReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	g := req.Grant
	switch {
	case len(req.Hosts) == 0 || len(req.Hosts) > MaxRanks || g.Epoch < 1:
		return nil, fmt.Errorf("%w: checkpoint of %d ranks, epoch %d", wire.ErrBadRequest, len(req.Hosts), g.Epoch)
	case g.Coord != p.h.ID():
		return nil, fmt.Errorf("%w: the grant names another coordinator", wire.ErrDenied)
	}
	if _, _, ok := parseRunID(g.Run); !ok {
		return nil, fmt.Errorf("%w: run id %q", wire.ErrBadRequest, g.Run)
	}
	if err := g.verify(from); err != nil {
		return nil, err
	}
	c := &coordination{grant: g, hosts: req.Hosts, core: newCkptCore(len(req.Hosts)), done: make(chan ckptResult, 1)}
	c.core.next = g.Epoch
	_, _ = c.core.begin(time.Now())
	k := coordKey(g.Run, g.Epoch)
	p.coords.mu.Lock()
	if _, dup := p.coords.m[k]; dup || len(p.coords.m) >= maxCoordinations {
		p.coords.mu.Unlock()
		return nil, fmt.Errorf("%w: epoch %d of %s is already coordinated here, or too many are", wire.ErrUnavailable, g.Epoch, g.Run)
	}
	p.coords.m[k] = c
	p.coords.n++
	p.coords.mu.Unlock()
	defer func() {
		p.coords.mu.Lock()
		delete(p.coords.m, k)
		p.coords.mu.Unlock()
	}()
	p.log.Debug("coordinating checkpoint", "job", g.Run, "epoch", g.Epoch, "submitter", shortID(from))

	p.coordSend(c, wire.Ckpt{Epoch: g.Epoch, Phase: "prepare"})
	t := time.NewTimer(p.cfg.CkptTimeout)
	defer t.Stop()
	select {
	case r := <-c.done:
		return r.info, r.err
	case <-t.C:
		p.coordStep(c, c.fail(fmt.Sprintf("not complete after %v", p.cfg.CkptTimeout)))
	case <-ctx.Done():
		p.coordStep(c, c.fail("the coordinator is closing"))
	}
	r := <-c.done
	return r.info, r.err
}

func (c *coordination) fail(reason string) ckptStep {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.fail(c.grant.Epoch, reason)
}

// coordSend sends c's epoch request to every rank through its host; a
// rank that cannot be told fails the epoch.
func (p *Peer) coordSend(c *coordination, ck wire.Ckpt) {
	errs := p.sendCkpt(c.grant.Run, c.hosts, ck, &c.grant)
	for rank, err := range errs {
		if err != nil && ck.Phase != "abort" {
			p.coordStep(c, c.fail(fmt.Sprintf("rank %d: %v", rank, err)))
			return
		}
	}
}

// coordStep carries out what the coordination's core asked for.
func (p *Peer) coordStep(c *coordination, step ckptStep) {
	finish := func(r ckptResult) {
		select {
		case c.done <- r:
		default:
		}
	}
	switch {
	case step.sendAt > 0:
		p.goFunc(func() { p.coordSend(c, wire.Ckpt{Epoch: c.grant.Epoch, Phase: "at", At: step.sendAt}) })
	case step.commit != nil:
		finish(ckptResult{info: *step.commit})
	case step.abort != "":
		p.goFunc(func() { p.coordSend(c, wire.Ckpt{Epoch: c.grant.Epoch, Phase: "abort"}) })
		finish(ckptResult{err: fmt.Errorf("%w: %s", wire.ErrUnavailable, step.abort)})
	}
}

// handleCkptReport takes a host's report of one rank for an epoch this
// peer coordinates; only the rank's host may report it.
func (p *Peer) handleCkptReport(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var r ckptReport
	if err := decodeBody(body, &r); err != nil {
		return nil, err
	}
	c := p.coords.get(r.Run, r.Epoch)
	if c == nil {
		return nil, fmt.Errorf("%w: epoch %d of %s is not coordinated here", wire.ErrGone, r.Epoch, r.Run)
	}
	if r.Rank < 0 || r.Rank >= len(c.hosts) || c.hosts[r.Rank] != from {
		return nil, fmt.Errorf("%w: rank %d of %s is not hosted by the reporting peer", wire.ErrDenied, r.Rank, r.Run)
	}
	var step ckptStep
	c.mu.Lock()
	switch {
	case r.Count != nil:
		step = c.core.count(r.Epoch, r.Rank, *r.Count)
	case r.Stored != nil:
		step = c.core.stored(r.Epoch, r.Rank, *r.Stored, time.Now())
	}
	c.mu.Unlock()
	p.coordStep(c, step)
	return nil, nil
}

// sendCkpt sends ck to every rank of run through its host, with the
// grant that lets a coordinator other than the submitter ask (nil from
// the submitter itself), and returns each rank's error.
func (p *Peer) sendCkpt(run string, hosts []peer.ID, ck wire.Ckpt, g *ckptGrant) []error {
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for rank, h := range hosts {
		wg.Go(func() {
			if h == "" {
				errs[rank] = errors.New("rank has no host")
				return
			}
			ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
			defer cancel()
			errs[rank] = p.call(ctx, h, "proc.ckpt", ckptReq{Job: run, Rank: rank, Ckpt: ck, Grant: g}, nil)
		})
	}
	wg.Wait()
	return errs
}

// reportCkpt sends a rank's checkpoint report to the coordinator that
// asked for the epoch. Off the process's read loop: a report must not
// hold up the rank's messages.
func (p *Peer) reportCkpt(pr *proc, r ckptReport) {
	coord := pr.ckptCoord(r.Epoch)
	if coord == "" {
		p.log.Warn("checkpoint report for an epoch no coordinator asked for", "job", pr.job, "rank", pr.rank, "epoch", r.Epoch)
		return
	}
	r.Run, r.Rank = pr.job, pr.rank
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if err := p.call(ctx, coord, "ckpt.report", r, nil); err != nil && !errors.Is(err, wire.ErrGone) {
		p.log.Warn("checkpoint report", "job", pr.job, "rank", pr.rank, "epoch", r.Epoch, "coordinator", shortID(coord), "err", err)
	}
}
