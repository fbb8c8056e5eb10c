package dvm

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/p2pdvm/p2pdvm/storage"
)

// Client talks to a peer's local control API.
type Client struct {
	Socket string
}

// ErrNoPeer means nothing answers on the control socket.
var ErrNoPeer = errors.New("no p2pdvm peer is running there")

type ctlConn struct {
	c   net.Conn
	dec *json.Decoder
	mu  sync.Mutex
}

func (cl *Client) open(req CtlRequest) (*ctlConn, error) {
	if _, err := os.Stat(cl.Socket); err != nil {
		return nil, fmt.Errorf("%w: control socket %s: %v", ErrNoPeer, cl.Socket, errors.Unwrap(err))
	}
	tok, err := os.ReadFile(ctlTokenFile(cl.Socket))
	if err != nil {
		return nil, fmt.Errorf("%w: control token of %s: %v", ErrNoPeer, cl.Socket, errors.Unwrap(err))
	}
	req.Token = string(tok)
	c, err := net.DialTimeout("unix", cl.Socket, ctlDialTimeout)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoPeer, cl.Socket, err)
	}
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		c.Close()
		return nil, err
	}
	return &ctlConn{c: c, dec: json.NewDecoder(bufio.NewReader(c))}, nil
}

func (cc *ctlConn) next() (CtlEvent, error) {
	var ev CtlEvent
	if err := cc.dec.Decode(&ev); err != nil {
		return ev, fmt.Errorf("peer closed the control connection: %w", err)
	}
	if ev.Ev == "error" {
		return ev, errors.New(ev.Err)
	}
	return ev, nil
}

func (cl *Client) call(req CtlRequest, out any) error { return cl.callProgress(req, out, nil) }

// callProgress is call for operations that report progress first: each
// "progress" event goes to progress (if set) until the result arrives.
func (cl *Client) callProgress(req CtlRequest, out any, progress Progress) error {
	cc, err := cl.open(req)
	if err != nil {
		return err
	}
	defer cc.c.Close()
	for {
		ev, err := cc.next()
		if err != nil {
			return err
		}
		if ev.Ev == "progress" {
			if progress != nil {
				progress(ev.Done, ev.Total)
			}
			continue
		}
		if out != nil && len(ev.Result) > 0 {
			return json.Unmarshal(ev.Result, out)
		}
		return nil
	}
}

// Jobs lists the jobs the peer knows.
func (cl *Client) Jobs() ([]JobRecord, error) {
	var out []JobRecord
	return out, cl.call(CtlRequest{Op: "jobs"}, &out)
}

// Status returns a job's record, looked up in the DHT if need be.
func (cl *Client) Status(job string) (JobRecord, error) {
	var out JobRecord
	return out, cl.call(CtlRequest{Op: "status", Job: job}, &out)
}

// Checkpoint checkpoints a job submitted from this peer and returns the
// committed epoch.
func (cl *Client) Checkpoint(job string) (EpochInfo, error) {
	var e EpochInfo
	err := cl.call(CtlRequest{Op: "ckpt", Job: job}, &e)
	return e, err
}

// Kill kills a job submitted from this peer.
func (cl *Client) Kill(job string) error { return cl.call(CtlRequest{Op: "kill", Job: job}, nil) }

// Peers lists the connected peers.
func (cl *Client) Peers() ([]PeerInfo, error) {
	var out []PeerInfo
	return out, cl.call(CtlRequest{Op: "peers"}, &out)
}

// Info describes the peer.
func (cl *Client) Info() (NodeInfo, error) {
	var out NodeInfo
	return out, cl.call(CtlRequest{Op: "info"}, &out)
}

// Logs streams a job's output to fn.
func (cl *Client) Logs(job string, follow bool, fn func(Chunk)) error {
	cc, err := cl.open(CtlRequest{Op: "logs", Job: job, Follow: follow})
	if err != nil {
		return err
	}
	defer cc.c.Close()
	for {
		ev, err := cc.next()
		if err != nil {
			return err
		}
		switch ev.Ev {
		case "out":
			fn(*ev.Chunk)
		case "end":
			return nil
		}
	}
}

// Submission is a job being submitted through the control API.
type Submission struct {
	cc  *ctlConn
	Job string
}

// Submit starts a job; read its output with Events.
func (cl *Client) Submit(spec Spec) (*Submission, error) {
	return cl.start(CtlRequest{Op: "submit", Program: spec.Program, Args: spec.Args, N: spec.N, Env: spec.Env, Files: spec.Files,
		CkptInterval: spec.CkptInterval, MaxRestarts: spec.MaxRestarts})
}

// Restart starts a job that resumes a failed or killed one from its
// checkpoint epoch (0: the last committed), and follows it as Submit does.
func (cl *Client) Restart(job string, epoch int) (*Submission, error) {
	return cl.start(CtlRequest{Op: "restart", Job: job, Epoch: epoch})
}

func (cl *Client) start(req CtlRequest) (*Submission, error) {
	cc, err := cl.open(req)
	if err != nil {
		return nil, err
	}
	ev, err := cc.next()
	if err != nil {
		cc.c.Close()
		return nil, err
	}
	return &Submission{cc: cc, Job: ev.Job}, nil
}

// Cancel asks the peer to kill the job (Ctrl-C).
func (s *Submission) Cancel() {
	b, _ := json.Marshal(CtlRequest{Op: "cancel"})
	s.cc.mu.Lock()
	_, _ = s.cc.c.Write(append(b, '\n'))
	s.cc.mu.Unlock()
}

// Wait delivers output to fn until the job ends and returns its record.
func (s *Submission) Wait(fn func(Chunk)) (JobRecord, error) {
	defer s.cc.c.Close()
	for {
		ev, err := s.cc.next()
		if err != nil {
			return JobRecord{}, err
		}
		switch ev.Ev {
		case "out":
			fn(*ev.Chunk)
		case "end":
			return *ev.Record, nil
		}
	}
}

// StorePut stores a file (an absolute path on the peer's machine) and
// pins it there for reason (not at all if reason is empty); progress, if
// set, follows the bytes read.
func (cl *Client) StorePut(path, reason string, progress Progress) (StoreResult, error) {
	var r StoreResult
	err := cl.callProgress(CtlRequest{Op: "store.put", Path: path, Reason: reason}, &r, progress)
	return r, err
}

// StoreGet writes the file named by cid to path (absolute); progress, if
// set, follows the bytes written.
func (cl *Client) StoreGet(cid, path string, progress Progress) (StoreResult, error) {
	var r StoreResult
	err := cl.callProgress(CtlRequest{Op: "store.get", CID: cid, Path: path}, &r, progress)
	return r, err
}

// StorePin pins a file on the peer for reason.
func (cl *Client) StorePin(cid, reason string) error {
	return cl.call(CtlRequest{Op: "store.pin", CID: cid, Reason: reason}, nil)
}

// StoreUnpin removes reason's pin on a file (every pin if reason is "").
func (cl *Client) StoreUnpin(cid, reason string) error {
	return cl.call(CtlRequest{Op: "store.unpin", CID: cid, Reason: reason}, nil)
}

// StorePins lists the peer's pins.
func (cl *Client) StorePins() ([]storage.Pin, error) {
	var ps []storage.Pin
	err := cl.call(CtlRequest{Op: "store.pins"}, &ps)
	return ps, err
}

// StoreGC frees the blocks on the peer that nothing references.
func (cl *Client) StoreGC() (GCResult, error) {
	var r GCResult
	err := cl.call(CtlRequest{Op: "store.gc"}, &r)
	return r, err
}

// StoreList lists the blocks the peer holds.
func (cl *Client) StoreList() ([]storage.BlockInfo, error) {
	var bs []storage.BlockInfo
	err := cl.call(CtlRequest{Op: "store.ls"}, &bs)
	return bs, err
}

// StoreStat describes a stored file and where its blocks are.
func (cl *Client) StoreStat(cid string) (FileStat, error) {
	var st FileStat
	err := cl.call(CtlRequest{Op: "store.stat", CID: cid}, &st)
	return st, err
}
