package dvm

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Chunk is a piece of one rank's output.
type Chunk struct {
	Rank int    `json:"rank"`
	FD   int    `json:"fd"` // 1 stdout, 2 stderr
	Data []byte `json:"data"`
}

// Output replays the job's output from the start and, with follow, keeps
// delivering it until the job ends. Everyone reads the same log file, so a
// late reader sees exactly what an early one saw.
func (j *Job) Output(ctx context.Context, follow bool, fn func(Chunk) error) error {
	f, err := os.Open(filepath.Join(j.logDir, "output.log"))
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var pend []byte // bytes of a record not yet complete on disk
	for {
		j.mu.Lock()
		changed, done := j.changed, isClosed(j.done)
		j.mu.Unlock()
		for {
			c, n, err := nextChunk(r, &pend)
			if err != nil {
				return err
			}
			if n == 0 {
				break
			}
			if err := fn(c); err != nil {
				return err
			}
		}
		if done || !follow {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// nextChunk decodes the next whole record, keeping a partial one in pend.
func nextChunk(r *bufio.Reader, pend *[]byte) (Chunk, int, error) {
	for {
		if len(*pend) >= 9 {
			n := int(binary.LittleEndian.Uint32((*pend)[5:9]))
			if n > maxOutputFrame {
				return Chunk{}, 0, errors.New("dvm: corrupt job log")
			}
			if len(*pend) >= 9+n {
				p := *pend
				c := Chunk{Rank: int(binary.LittleEndian.Uint32(p[0:4])), FD: 1, Data: append([]byte(nil), p[9:9+n]...)}
				if p[4] == wire.TypeStderr {
					c.FD = 2
				}
				*pend = append(p[:0], p[9+n:]...)
				return c, 1, nil
			}
		}
		var buf [32 << 10]byte
		k, err := r.Read(buf[:])
		*pend = append(*pend, buf[:k]...)
		if k == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				return Chunk{}, 0, nil
			}
			return Chunk{}, 0, err
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

type logsReq struct {
	Job string `json:"job"`
}

// maxRemoteLog bounds the log a remote peer may fetch in one reply.
const maxRemoteLog = 2 << 20

func (p *Peer) handleJobLogs(ctx context.Context, _ peer.ID, body json.RawMessage) (any, error) {
	var req logsReq
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	j := p.jobs.get(req.Job)
	if j == nil {
		return nil, fmt.Errorf("%w: job %s was not submitted here", wire.ErrNotFound, req.Job)
	}
	var out []Chunk
	total := 0
	err := j.Output(ctx, false, func(c Chunk) error {
		total += len(c.Data)
		if total > maxRemoteLog {
			return errLogTooBig
		}
		out = append(out, c)
		return nil
	})
	if errors.Is(err, errLogTooBig) {
		out = append(out, Chunk{Rank: 0, FD: 2, Data: []byte("p2pdvm: log truncated; read it on the submitting peer\n")})
		err = nil
	}
	return out, err
}

var errLogTooBig = errors.New("log too big")

// Logs returns a finished or running job's output from wherever it was
// submitted: locally with follow, or from the submitter without it.
func (p *Peer) Logs(ctx context.Context, id string, follow bool, fn func(Chunk) error) error {
	if j := p.jobs.get(id); j != nil {
		return j.Output(ctx, follow, fn)
	}
	rec, err := p.JobStatus(ctx, id)
	if err != nil {
		return err
	}
	var chunks []Chunk
	if err := p.call(ctx, rec.Owner, "job.logs", logsReq{Job: id}, &chunks); err != nil {
		return fmt.Errorf("logs of %s from its submitter: %w", id, err)
	}
	for _, c := range chunks {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}
