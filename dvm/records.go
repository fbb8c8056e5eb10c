package dvm

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// maxRecords bounds the records one peer holds for others, so a peer
// cannot be filled up by a flood of job.create calls.
const maxRecords = 10000

// recordTable holds the job records this peer owns in the key space.
type recordTable struct {
	mu sync.Mutex
	m  map[string]JobRecord
}

func newRecordTable() *recordTable { return &recordTable{m: map[string]JobRecord{}} }

func (t *recordTable) get(id string) (JobRecord, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.m[id]
	return r, ok
}

func (t *recordTable) list() []JobRecord {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]JobRecord, 0, len(t.m))
	for _, r := range t.m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Submitted.Before(out[j].Submitted) })
	return out
}

func signingBytes(rec JobRecord) []byte {
	rec.Sig = nil
	b, _ := json.Marshal(rec)
	return b
}

// sign sets rec.Sig with the peer's identity key.
func (p *Peer) sign(rec *JobRecord) error {
	key, pub, err := p.selfKey()
	if err != nil {
		return err
	}
	rec.OwnerKey = pub
	sig, err := key.Sign(signingBytes(*rec))
	rec.Sig = sig
	return err
}

// put stores rec if its owner signed it and it is newer than what is held.
// Who delivers it does not matter: the submitter publishing, or a leaving
// owner handing it on.
func (t *recordTable) put(rec JobRecord) error {
	if rec.ID == "" || len(rec.ID) > wire.MaxJobIDLen || rec.N <= 0 || len(rec.Ranks) > rec.N {
		return fmt.Errorf("%w: invalid job record", wire.ErrBadRequest)
	}
	if err := checkSigned(rec.Owner, rec.OwnerKey, signingBytes(rec), rec.Sig, "job record "+rec.ID); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old, ok := t.m[rec.ID]
	switch {
	case ok && old.Owner != rec.Owner:
		return fmt.Errorf("%w: job %s belongs to %s", wire.ErrDenied, rec.ID, shortID(old.Owner))
	case ok && old.Rev >= rec.Rev:
		return nil // a stale or repeated copy
	case !ok && len(t.m) >= maxRecords:
		return fmt.Errorf("%w: record table full", wire.ErrUnavailable)
	}
	t.m[rec.ID] = rec
	return nil
}

func (p *Peer) handleJobCreate(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var rec JobRecord
	if err := decodeBody(body, &rec); err != nil {
		return nil, err
	}
	return nil, p.records.put(rec)
}

func (p *Peer) handleJobUpdate(ctx context.Context, from peer.ID, body json.RawMessage) (any, error) {
	return p.handleJobCreate(ctx, from, body)
}

type jobGetReq struct {
	Job string `json:"job"`
}

func (p *Peer) handleJobGet(_ context.Context, _ peer.ID, body json.RawMessage) (any, error) {
	var req jobGetReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if j := p.jobs.get(req.Job); j != nil {
		return j.record(), nil
	}
	if r, ok := p.records.get(req.Job); ok {
		return r, nil
	}
	return nil, fmt.Errorf("%w: job %s", wire.ErrNotFound, req.Job)
}

// publishRecord signs rec and stores it at the owner of its key. Failures
// are logged, not fatal: the submitter's own copy stays authoritative.
func (p *Peer) publishRecord(ctx context.Context, rec JobRecord) {
	if err := p.sign(&rec); err != nil {
		p.log.Warn("sign job record", "job", rec.ID, "err", err)
		return
	}
	owner, err := p.ownerOf(ctx, JobKey(rec.ID))
	if err == nil {
		err = p.call(ctx, owner, "job.update", rec, nil)
	}
	if err != nil {
		p.log.Warn("publish job record", "job", rec.ID, "err", err)
	}
}

// handOffRecords gives every record this peer holds to the peer that will
// own its key once this one has left, so `status` keeps working. It is
// bounded in time: leaving must not hang on an unreachable peer.
func (p *Peer) handOffRecords() {
	recs := p.records.list()
	if len(recs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 3*time.Second)
	defer cancel()
	others := p.dht.RoutingTable().ListPeers()
	var wg sync.WaitGroup
	for _, r := range recs {
		next := closest(JobKey(r.ID), others)
		if next == "" {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.call(ctx, next, "job.update", r, nil); err != nil {
				p.log.Warn("hand off job record", "job", r.ID, "to", shortID(next), "err", err)
			}
		}()
	}
	wg.Wait()
}

// JobStatus finds a job's record: this peer's own copy if it submitted or
// owns the job, else the copy at the owner of its key.
func (p *Peer) JobStatus(ctx context.Context, id string) (JobRecord, error) {
	if j := p.jobs.get(id); j != nil {
		rec := j.record()
		if !rec.State.Terminal() {
			p.liveCounts(ctx, &rec)
		}
		return rec, nil
	}
	if r, ok := p.records.get(id); ok {
		return r, nil
	}
	owner, err := p.ownerOf(ctx, JobKey(id))
	if err != nil {
		return JobRecord{}, err
	}
	var rec JobRecord
	if err := p.call(ctx, owner, "job.get", jobGetReq{Job: id}, &rec); err != nil {
		return JobRecord{}, fmt.Errorf("job %s: %w", id, err)
	}
	return rec, nil
}

// Jobs lists the jobs this peer submitted and the records it holds.
func (p *Peer) Jobs() []JobRecord {
	seen := map[string]bool{}
	var out []JobRecord
	for _, j := range p.jobs.list() {
		r := j.record()
		seen[r.ID] = true
		out = append(out, r)
	}
	for _, r := range p.records.list() {
		if !seen[r.ID] {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Submitted.Before(out[j].Submitted) })
	return out
}
