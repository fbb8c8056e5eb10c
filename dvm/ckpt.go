package dvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// The submitter's side of checkpoints and restarts: it starts each epoch
// and commits it, restarts the job when a host is lost, and is the only
// peer allowed to checkpoint or restart it. The epoch's cut is
// coordinated by the owner of the job's key (ckptcoord.go); the rank's
// side is in peal/ckpt.go, the host's in ckpthost.go, the pure protocol
// in ckptcore.go.

// keepEpochs is how many committed epochs a job record lists.
const keepEpochs = 16

type ckptResult struct {
	info EpochInfo
	err  error
}

// Checkpoint takes a checkpoint of job id now and returns the committed
// epoch. Only jobs submitted from this peer can be checkpointed here.
func (p *Peer) Checkpoint(ctx context.Context, id string) (EpochInfo, error) {
	j := p.jobs.get(id)
	if j == nil {
		return EpochInfo{}, fmt.Errorf("%w: %s was not submitted from this peer (only the job's owner may checkpoint it)", ErrNoSuchJob, id)
	}
	return j.Checkpoint(ctx)
}

// Checkpoint takes a checkpoint of the job and waits until it is
// committed or has failed.
func (j *Job) Checkpoint(ctx context.Context) (EpochInfo, error) {
	j.mu.Lock()
	if st := j.core.rec.State; st != JobRunning {
		j.mu.Unlock()
		return EpochInfo{}, fmt.Errorf("job %s is %s: only a running job can be checkpointed", j.ID(), st)
	}
	for _, r := range j.core.rec.Ranks {
		if r.State != RankRunning {
			j.mu.Unlock()
			return EpochInfo{}, fmt.Errorf("job %s: rank %d is %s; try again once every rank runs", j.ID(), r.Rank, r.State)
		}
	}
	epoch, err := j.ck.begin(time.Now())
	if err != nil {
		j.mu.Unlock()
		return EpochInfo{}, err
	}
	ch := make(chan ckptResult, 1)
	j.ckWait[epoch] = ch
	j.core.rec.CkptPending = epoch
	run := j.core.rec.Run
	hosts := j.hostsByRankLocked()
	j.mu.Unlock()

	j.p.goFunc(func() { j.coordinate(run, epoch, hosts) })
	t := time.NewTimer(j.p.cfg.CkptTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.info, r.err
	case <-t.C:
		j.failEpoch(run, epoch, fmt.Sprintf("not complete after %v", j.p.cfg.CkptTimeout))
	case <-ctx.Done():
		j.failEpoch(run, epoch, "cancelled")
	}
	r := <-ch
	return r.info, r.err
}

// checkpointEvery checkpoints the job at every interval while it runs.
func (j *Job) checkpointEvery(interval time.Duration) {
	j.every(interval, func() {
		if info, err := j.Checkpoint(j.p.ctx); err != nil {
			j.p.log.Warn("checkpoint failed", "job", j.ID(), "err", err)
		} else {
			j.p.log.Info("checkpoint committed", "job", j.ID(), "epoch", info.Epoch,
				"bytes", info.Bytes, "stored", info.Stored, "new", info.New, "took_ms", info.TookMS)
		}
	})
}

// every runs fn at every interval until the job ends or the peer closes.
func (j *Job) every(interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-j.done:
			return
		case <-j.p.ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// coordinate has the owner of the job's key coordinate epoch of run
// (ckptcoord.go) and commits or fails the epoch with its answer.
func (j *Job) coordinate(run, epoch int, hosts []peer.ID) {
	ctx, cancel := context.WithTimeout(j.p.ctx, j.p.cfg.CkptTimeout)
	defer cancel()
	key := JobKey(j.ID())
	coord, err := j.p.ownerOf(ctx, key)
	var info EpochInfo
	if err == nil {
		var g *ckptGrant
		if g, err = j.p.signGrant(runID(j.ID(), run), epoch, coord); err == nil {
			err = j.p.call(ctx, coord, "ckpt.coord", coordReq{Grant: *g, Hosts: hosts}, &info)
		}
	}
	if err != nil {
		// A coordinator that left or crashed is not asked again: the
		// next epoch looks the key's owner up afresh.
		j.p.forgetOwner(key)
		j.failEpoch(run, epoch, fmt.Sprintf("coordinator %s: %v", shortID(coord), err))
		return
	}
	j.mu.Lock()
	step := j.ck.adopt(epoch, info)
	j.mu.Unlock()
	j.doStep(run, epoch, step)
}

// hostsByRankLocked is the host of each rank of the current run.
func (j *Job) hostsByRankLocked() []peer.ID {
	hosts := make([]peer.ID, j.n)
	for i, r := range j.core.rec.Ranks {
		hosts[i] = r.Host
	}
	return hosts
}

func (j *Job) failEpoch(run, epoch int, reason string) {
	j.mu.Lock()
	step := j.ck.fail(epoch, reason)
	j.mu.Unlock()
	j.doStep(run, epoch, step)
}

// doStep carries out what the coordinator's core asked for.
func (j *Job) doStep(run, epoch int, step ckptStep) {
	switch {
	case step.commit != nil:
		// The epoch's state is kept from gc before the record names it;
		// the epoch before is released only after.
		j.pinEpoch(*step.commit)
		j.mu.Lock()
		var prev *EpochInfo
		if n := len(j.core.rec.Epochs); n > 0 {
			prev = &j.core.rec.Epochs[n-1]
		}
		j.core.rec.CkptPending = 0
		j.core.rec.Epochs = append(j.core.rec.Epochs, *step.commit)
		if len(j.core.rec.Epochs) > keepEpochs {
			j.core.rec.Epochs = append([]EpochInfo(nil), j.core.rec.Epochs[len(j.core.rec.Epochs)-keepEpochs:]...)
		}
		ch := j.ckWait[epoch]
		delete(j.ckWait, epoch)
		j.notifyLocked()
		j.mu.Unlock()
		// Committed means named by the published record: publish first.
		j.publish()
		if ch != nil {
			ch <- ckptResult{info: *step.commit}
		}
		if prev != nil {
			j.unpinEpoch(*prev, step.commit)
		}
	case step.abort != "":
		// The ranks may wait at their cut for a coordinator that is gone:
		// the submitter releases them itself.
		j.mu.Lock()
		hosts := j.hostsByRankLocked()
		j.mu.Unlock()
		j.p.sendCkpt(runID(j.ID(), run), hosts, wire.Ckpt{Epoch: epoch, Phase: "abort"}, nil)
		j.mu.Lock()
		if j.core.rec.CkptPending == epoch {
			j.core.rec.CkptPending = 0
		}
		ch := j.ckWait[epoch]
		delete(j.ckWait, epoch)
		j.mu.Unlock()
		if ch != nil {
			ch <- ckptResult{err: errors.New(step.abort)}
		}
	}
}

type ckptReq struct {
	Job   string     `json:"job"` // run id
	Rank  int        `json:"rank"`
	Ckpt  wire.Ckpt  `json:"ckpt"`
	Grant *ckptGrant `json:"grant,omitempty"` // from a coordinator other than the submitter
}

// restart replaces run after rank's host was lost: the next run resumes
// every rank from the last committed epoch, or from the start if none.
// hosts are the peers that hosted ranks of run.
func (j *Job) restart(run, rank int, lost peer.ID, hosts []peer.ID) {
	hosts = slices.DeleteFunc(hosts, func(h peer.ID) bool { return h == lost })
	j.mu.Lock()
	var aborted int
	if j.ck.cur != nil {
		aborted = j.ck.cur.epoch
		j.ck.cur = nil
	}
	j.core.rec.CkptPending = 0
	from, ok := j.ck.last()
	next, restarts, limit := j.core.rec.Run, j.core.rec.Restarts, j.core.maxRestarts
	ch := j.ckWait[aborted]
	delete(j.ckWait, aborted)
	j.mu.Unlock()
	if ch != nil {
		ch <- ckptResult{err: fmt.Errorf("checkpoint %d aborted: rank %d was lost", aborted, rank)}
	}

	msg := fmt.Sprintf("p2pdvm: restarting from epoch %d after peer %s (rank %d) was lost; restart %d of %d\n", from.Epoch, shortID(lost), rank, restarts, limit)
	if !ok {
		msg = fmt.Sprintf("p2pdvm: restarting from the beginning (no checkpoint committed yet) after peer %s (rank %d) was lost; restart %d of %d\n", shortID(lost), rank, restarts, limit)
	}
	j.output(rank, wire.TypeStderr, []byte(msg))
	j.p.log.Warn("restarting job", "job", j.ID(), "run", next, "epoch", from.Epoch, "lost", shortID(lost))
	// What survives of the old run must stop before its ranks' places
	// are taken: the new run's ids differ, so they cannot meet, but they
	// would waste the cores.
	j.killHosts(runID(j.ID(), run), hosts)
	var fromp *EpochInfo
	if ok {
		fromp = &from
	}
	j.p.goFunc(func() { j.spawnAll(next, fromp) })
	j.p.goFunc(func() { j.publish() })
}

// handleCkpt passes a checkpoint request to a rank process hosted here,
// from the job's submitter or from the coordinator its grant names.
func (p *Peer) handleCkpt(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req ckptReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	switch req.Ckpt.Phase {
	case "prepare", "at", "abort":
	default:
		return nil, fmt.Errorf("%w: checkpoint phase %q", wire.ErrBadRequest, req.Ckpt.Phase)
	}
	pr := p.procs.get(req.Job, req.Rank)
	if pr == nil {
		return nil, fmt.Errorf("%w: rank %s:%d is not hosted here", wire.ErrNotFound, req.Job, req.Rank)
	}
	if from != pr.submitter {
		g := req.Grant
		if g == nil || g.Coord != from || g.Run != req.Job || g.Epoch != req.Ckpt.Epoch {
			return nil, fmt.Errorf("%w: only the owner of job %s, or the coordinator it names, may checkpoint it", wire.ErrDenied, req.Job)
		}
		if err := g.verify(pr.submitter); err != nil {
			return nil, err
		}
	}
	if req.Ckpt.Phase == "prepare" {
		pr.setCkptCoord(req.Ckpt.Epoch, from)
	}
	b, _ := json.Marshal(req.Ckpt)
	if err := pr.send(wire.TypeCkpt, b); err != nil {
		return nil, fmt.Errorf("%w: rank %d: %v", wire.ErrUnavailable, req.Rank, err)
	}
	return nil, nil
}

// Restart starts a job that resumes job id, which ended failed or killed,
// from its committed epoch (the last one if epoch is 0). The new job has
// an id of its own and the old job's program, arguments and settings.
func (p *Peer) Restart(ctx context.Context, id string, epoch int) (*Job, error) {
	old := p.jobs.get(id)
	if old == nil {
		return nil, fmt.Errorf("%w: %s was not submitted from this peer (only the job's owner may restart it)", ErrNoSuchJob, id)
	}
	rec := old.record()
	maxRestarts := old.core.maxRestarts // set before the job started
	if !rec.State.Terminal() || rec.State == JobDone {
		return nil, fmt.Errorf("job %s is %s: only a failed or killed job can be restarted", id, rec.State)
	}
	if len(rec.Epochs) == 0 {
		return nil, fmt.Errorf("job %s has no committed checkpoint to restart from", id)
	}
	from := rec.Epochs[len(rec.Epochs)-1]
	if epoch != 0 {
		i := slices.IndexFunc(rec.Epochs, func(e EpochInfo) bool { return e.Epoch == epoch })
		if i < 0 {
			return nil, fmt.Errorf("job %s has no committed epoch %d (it has %d to %d)", id, epoch, rec.Epochs[0].Epoch, from.Epoch)
		}
		from = rec.Epochs[i]
	}
	next := JobRecord{Program: rec.Program, Args: rec.Args, N: rec.N, CkptInterval: rec.CkptInterval,
		Resumes: fmt.Sprintf("%s@%d", id, from.Epoch)}
	return p.startJob(ctx, next, old.env, maxRestarts, old.bin, old.binSize, &from)
}

// pinCkptPrefix marks the pins that keep a job's last committed epoch:
// unlike a running job's files (pinJobPrefix) they outlive the peer's
// restarts, so a failed job can still be restarted by hand.
const pinCkptPrefix = "ckpt:"

// pinEpoch keeps every rank's state of e from gc on the peers that hold it.
func (j *Job) pinEpoch(e EpochInfo) {
	for _, cid := range e.CIDs {
		if err := j.p.Pin(cid, pinCkptPrefix+j.ID()); err != nil {
			j.p.log.Warn("pin checkpoint", "job", j.ID(), "epoch", e.Epoch, "cid", cid, "err", err)
		}
	}
}

// unpinEpoch releases e for gc, but for states that next, if given, shares
// (an unchanged rank stores the same CID again).
func (j *Job) unpinEpoch(e EpochInfo, next *EpochInfo) {
	for _, cid := range e.CIDs {
		if next != nil && slices.Contains(next.CIDs, cid) {
			continue
		}
		if err := j.p.Unpin(cid, pinCkptPrefix+j.ID()); err != nil {
			j.p.log.Debug("unpin checkpoint", "job", j.ID(), "epoch", e.Epoch, "cid", cid, "err", err)
		}
	}
}
