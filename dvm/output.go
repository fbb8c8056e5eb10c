package dvm

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// outputSink takes a rank's output and exit on the host side.
type outputSink interface {
	write(fd byte, data []byte) error
	exit(e wire.Exit) error
	close()
}

type outHello struct {
	Job  string `json:"job"`
	Rank int    `json:"rank"`
}

// openOutput connects a rank's output to its submitter: a direct call when
// the submitter is this peer, else one stream per rank.
func (p *Peer) openOutput(ctx context.Context, submitter peer.ID, job string, rank int) (outputSink, error) {
	if submitter == p.h.ID() {
		j, run := p.jobs.getRun(job)
		if j == nil {
			return nil, fmt.Errorf("%w: job %s is not known to its submitter", wire.ErrNotFound, job)
		}
		return &localSink{j: j, run: run, rank: rank}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := p.h.NewStream(ctx, submitter, protoOut)
	if err != nil {
		return nil, fmt.Errorf("%w: output stream to submitter %s: %v", wire.ErrUnavailable, shortID(submitter), err)
	}
	b, _ := json.Marshal(outHello{Job: job, Rank: rank})
	if err := wire.WriteFrame(s, wire.TypeRequest, b); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("%w: output stream: %v", wire.ErrUnavailable, err)
	}
	return &streamSink{s: s}, nil
}

type localSink struct {
	j         *Job
	run, rank int
}

func (l *localSink) write(fd byte, data []byte) error { l.j.output(l.rank, fd, data); return nil }
func (l *localSink) exit(e wire.Exit) error {
	l.j.exit(l.run, l.rank, e, RankExited)
	return nil
}
func (l *localSink) close() {}

type streamSink struct {
	mu sync.Mutex
	s  network.Stream
}

func (ss *streamSink) write(fd byte, data []byte) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return wire.WriteFrame(ss.s, fd, data)
}

func (ss *streamSink) exit(e wire.Exit) error {
	b, _ := json.Marshal(e)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return wire.WriteFrame(ss.s, wire.TypeExit, b)
}

func (ss *streamSink) close() { _ = ss.s.Close() }

// maxOutputFrame bounds one output chunk from a host.
const maxOutputFrame = 1 << 20

// serveOutput receives one rank's output on the submitter. A stream that
// breaks before the exit frame means the rank's host is gone.
func (p *Peer) serveOutput(s network.Stream) {
	from := s.Conn().RemotePeer()
	fr := wire.NewReader(s, maxOutputFrame)
	_ = s.SetReadDeadline(time.Now().Add(rpcIdle))
	typ, body, err := fr.Next()
	var h outHello
	if err != nil || typ != wire.TypeRequest || wire.DecodeJSON(body, &h) != nil {
		_ = s.Reset()
		return
	}
	_ = s.SetReadDeadline(time.Time{})
	j, run := p.jobs.getRun(h.Job)
	if j == nil || h.Rank < 0 || h.Rank >= j.n || !j.claimOutput(run, h.Rank, from) {
		p.log.Warn("output stream refused", "peer", shortID(from), "job", h.Job, "rank", h.Rank)
		_ = s.Reset()
		return
	}
	for {
		typ, body, err := fr.Next()
		if err != nil {
			j.exit(run, h.Rank, wire.Exit{Code: 255, Err: "host lost: " + err.Error()}, RankLost)
			_ = s.Reset()
			return
		}
		switch typ {
		case wire.TypeStdout, wire.TypeStderr:
			j.output(h.Rank, typ, body)
		case wire.TypeExit:
			var e wire.Exit
			if err := wire.DecodeJSON(body, &e); err != nil {
				e = wire.Exit{Code: 255, Err: "bad exit frame"}
			}
			j.exit(run, h.Rank, e, RankExited)
			_ = s.Close()
			return
		default:
			j.exit(run, h.Rank, wire.Exit{Code: 255, Err: "protocol error from host"}, RankLost)
			_ = s.Reset()
			return
		}
	}
}
