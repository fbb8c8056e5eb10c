package dvm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/p2pdvm/p2pdvm/internal/wire"
	"github.com/p2pdvm/p2pdvm/peal"
)

// procListener is the unix socket that rank processes on this peer attach
// to. A process proves which rank it is with the token it was started with.
type procListener struct {
	path string
	l    net.Listener
	wg   sync.WaitGroup
}

// maxSockPath is the usable length of a unix socket path on Linux.
const maxSockPath = 107

func listenUnix(path string) (net.Listener, error) {
	if len(path) > maxSockPath {
		return nil, fmt.Errorf("socket path %s is %d bytes, longer than the %d a unix socket allows; use a shorter --data", path, len(path), maxSockPath)
	}
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// acceptLoop serves every connection l accepts in its own goroutine, all
// of them counted in wg so that closing l and waiting on wg stops them.
func acceptLoop(l net.Listener, wg *sync.WaitGroup, serve func(net.Conn)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(c)
			}()
		}
	}()
}

func listenProcs(p *Peer) (*procListener, error) {
	path := filepath.Join(p.cfg.DataDir, "proc.sock")
	l, err := listenUnix(path)
	if err != nil {
		return nil, fmt.Errorf("dvm: process socket: %w", err)
	}
	pl := &procListener{path: path, l: l}
	acceptLoop(l, &pl.wg, p.serveProc)
	return pl, nil
}

func (pl *procListener) close() error {
	err := pl.l.Close()
	pl.wg.Wait()
	_ = os.Remove(pl.path)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// serveProc runs one process's connection: hello, then its sends.
func (p *Peer) serveProc(c net.Conn) {
	defer c.Close()
	fr := wire.NewReader(c, peal.MaxFrame)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, body, err := fr.Next()
	if err != nil || typ != wire.TypeHello {
		return
	}
	pr := p.procs.byToken(string(body))
	if pr == nil {
		_ = wire.WriteFrame(c, wire.TypeAbort, []byte("unknown token"))
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if err := pr.attach(c); err != nil {
		p.log.Warn("process attach", "job", pr.job, "rank", pr.rank, "err", err)
		return
	}
	defer pr.detach(c)
	for {
		typ, body, err := fr.Next()
		if err != nil {
			return
		}
		switch typ {
		case wire.TypeSend:
			m, err := wire.DecodeMsg(body)
			if err != nil || int(m.Dst) >= pr.size || m.Seq == 0 {
				p.log.Warn("process sent a bad message", "job", pr.job, "rank", pr.rank, "err", err)
				return
			}
			// The process numbers its messages per destination; the
			// receiving process orders them. The peer only carries them.
			m.Job, m.Src = pr.job, uint32(pr.rank)
			if err := p.out.send(pr, &m); err != nil {
				return // the peer is closing
			}
		case wire.TypeAbort:
			var a wire.Abort
			_ = wire.DecodeJSON(body, &a)
			p.abortJob(pr, a.Code, a.Msg)
		case wire.TypeCkptCount, wire.TypeCkptSaved:
			p.ckptFromProc(pr, typ, body)
		}
	}
}

type abortReq struct {
	Job  string `json:"job"`
	Rank int    `json:"rank"`
	Code int    `json:"code"`
	Msg  string `json:"msg,omitempty"`
}

// abortJob asks the submitter to end the job with code (MPI_Abort).
func (p *Peer) abortJob(pr *proc, code int, msg string) {
	p.goFunc(func() {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		req := abortReq{Job: pr.job, Rank: pr.rank, Code: code, Msg: msg}
		if err := p.call(ctx, pr.submitter, "job.abort", req, nil); err != nil {
			p.log.Warn("abort: submitter unreachable, killing local ranks", "job", pr.job, "err", err)
			p.procs.killJob(pr.job)
		}
	})
}
