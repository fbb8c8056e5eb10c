package dvm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Location is a rank's location object: where its process runs. It lives
// at the owner of RankKey(job, rank); Version grows with every move.
type Location struct {
	Job       string  `json:"job"`
	Rank      int     `json:"rank"`
	Host      peer.ID `json:"host"`
	Submitter peer.ID `json:"submitter"`
	Version   uint64  `json:"version"`
	// Addrs are host:port endpoints where the rank process itself accepts
	// direct (TLS, job-certificate) connections from the job's other ranks.
	Addrs []string `json:"addrs,omitempty"`
	// Ticket, once the host has registered the rank, is the submitter's
	// signed placement: what lets the object move to another owner.
	Ticket *Ticket `json:"ticket,omitempty"`
}

// spawnReq asks the owner of a rank's key to place and start it; the same
// body, with the location's version, asks a host to start the process.
type spawnReq struct {
	Job       string   `json:"job"`
	Rank      int      `json:"rank"`
	Size      int      `json:"size"`
	Submitter peer.ID  `json:"submitter"`
	Bin       string   `json:"bin"` // hex SHA-256 of the program
	BinSize   int64    `json:"bin_size"`
	Program   string   `json:"program"` // base name, for ps and logs
	Args      []string `json:"args,omitempty"`
	Version   uint64   `json:"version,omitempty"`
	// The job's shared TLS credentials for direct rank connections. They
	// travel only over the encrypted control plane and into the ranks'
	// welcome; never into the job record.
	Cert []byte `json:"cert,omitempty"`
	Key  []byte `json:"key,omitempty"`
	// MsgKey authenticates the job's messages between hosts (msgauth.go);
	// like Cert and Key it stays on the control plane.
	MsgKey []byte `json:"msg_key"`
	// Env is added to the rank's environment (checked by validateEnv).
	Env []string `json:"env,omitempty"`
	// Restore, on a restart, is the checkpoint the rank resumes from.
	Restore *restoreRef `json:"restore,omitempty"`
	// Host is where the submitter would place the rank. One peer picking
	// for all ranks spreads them over distinct peers; owners picking each
	// from its own routing table (which holds at most 20 peers per bucket)
	// collide.
	Host peer.ID `json:"host,omitempty"`
}

// restoreRef names a rank's state in a committed epoch.
type restoreRef struct {
	Epoch int    `json:"epoch"`
	CID   string `json:"cid"`
}

// startReply is a host's answer to proc.start.
type startReply struct {
	Addrs []string `json:"addrs,omitempty"`
}

func (r *spawnReq) validate() error {
	switch {
	case r.Job == "" || len(r.Job) > wire.MaxJobIDLen:
		return fmt.Errorf("%w: job id", wire.ErrBadRequest)
	case r.Size <= 0 || r.Size > MaxRanks || r.Rank < 0 || r.Rank >= r.Size:
		return fmt.Errorf("%w: rank %d of %d", wire.ErrBadRequest, r.Rank, r.Size)
	case len(r.Bin) != 64 || r.BinSize < 0 || r.BinSize > MaxProgramSize:
		return fmt.Errorf("%w: program reference", wire.ErrBadRequest)
	case len(r.MsgKey) != msgKeyLen:
		return fmt.Errorf("%w: message key", wire.ErrBadRequest)
	case r.Restore != nil && r.Restore.Epoch < 1:
		return fmt.Errorf("%w: restore epoch %d", wire.ErrBadRequest, r.Restore.Epoch)
	}
	if _, _, ok := parseRunID(r.Job); !ok {
		return fmt.Errorf("%w: job id %q", wire.ErrBadRequest, r.Job)
	}
	if r.Restore != nil {
		if _, err := ParseCID(r.Restore.CID); err != nil {
			return fmt.Errorf("%w: restore: %v", wire.ErrBadRequest, err)
		}
	}
	if err := validateEnv(r.Env); err != nil {
		return fmt.Errorf("%w: %v", wire.ErrBadRequest, err)
	}
	return nil
}

func (p *Peer) handleSpawn(ctx context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req spawnReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	if req.Submitter != from {
		return nil, fmt.Errorf("%w: spawn for a job submitted by another peer", wire.ErrDenied)
	}
	if l, ok := p.locs.get(req.Job, req.Rank); ok {
		return l, nil // a retried spawn: the rank is already placed
	}
	host := req.Host
	if host == "" {
		host = pickHost(p.livePeers(), req.Job, req.Rank)
	}
	loc := Location{Job: req.Job, Rank: req.Rank, Host: host, Submitter: req.Submitter, Version: 1}
	req.Version = loc.Version
	var sr startReply
	err := p.call(ctx, host, "proc.start", req, &sr)
	if err != nil && errors.Is(err, wire.ErrUnavailable) && req.Host != "" {
		// The suggested host is gone: place it from this peer's view.
		if alt := pickHost(p.livePeers(), req.Job, req.Rank); alt != host {
			host, loc.Host = alt, alt
			err = p.call(ctx, host, "proc.start", req, &sr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("start rank %d on %s: %w", req.Rank, shortID(host), err)
	}
	loc.Addrs = sr.Addrs
	p.locs.put(loc)
	p.log.Debug("placed rank", "job", req.Job, "rank", req.Rank, "host", shortID(host))
	return loc, nil
}

type releaseReq struct {
	Job string `json:"job"`
}

func (p *Peer) handleRelease(_ context.Context, from peer.ID, body json.RawMessage) (any, error) {
	var req releaseReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	p.locs.releaseJob(req.Job, from)
	return nil, nil
}
