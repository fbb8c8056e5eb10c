package dvm

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// The local control API: newline-delimited JSON on DataDir/ctl.sock (mode
// 0600, so only the peer's user may drive it). One request per connection;
// submit and logs -f stream events until the job ends.
//
// Every request carries the token the peer writes to DataDir/ctl.token
// (0600) when it starts. The ranks it hosts run as the same user, and
// Landlock cannot keep them from connecting to a unix socket; it does
// keep them from reading the data dir, so without the token a rank
// cannot drive its own peer (submit as it, kill its jobs).

// CtlRequest is a command from the CLI.
type CtlRequest struct {
	Op      string   `json:"op"` // submit, cancel, jobs, status, logs, kill, peers, info
	Job     string   `json:"job,omitempty"`
	Program string   `json:"program,omitempty"`
	Args    []string `json:"args,omitempty"`
	N       int      `json:"n,omitempty"`
	Env     []string `json:"env,omitempty"`
	Files   []string `json:"files,omitempty"`  // submit: input files on this machine
	Reason  string   `json:"reason,omitempty"` // store put/pin/unpin: the pin's reason
	Follow  bool     `json:"follow,omitempty"`
	Path    string   `json:"path,omitempty"` // store put/get: a file on this machine
	// submit: checkpoint interval and restarts (see Spec)
	CkptInterval time.Duration `json:"ckpt_interval,omitempty"`
	MaxRestarts  int           `json:"max_restarts,omitempty"`
	Epoch        int           `json:"epoch,omitempty"` // restart: the epoch to resume from (0: the last)
	CID          string        `json:"cid,omitempty"`
	// Token is DataDir/ctl.token, proof that the caller may read the data
	// dir.
	Token string `json:"token"`
}

// CtlEvent is one line of an answer.
type CtlEvent struct {
	Ev     string          `json:"ev"` // job, out, end, progress, result, error
	Job    string          `json:"job,omitempty"`
	Chunk  *Chunk          `json:"chunk,omitempty"`
	Record *JobRecord      `json:"record,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Err    string          `json:"err,omitempty"`
	// Done and Total are a transfer's bytes so far and in all, sent as
	// "progress" events before the result of a long store put or get.
	Done  int64 `json:"done,omitempty"`
	Total int64 `json:"total,omitempty"`
}

// progressEvery is the most often a transfer reports progress: a bar
// redrawn ten times a second looks live and costs nothing.
const progressEvery = 100 * time.Millisecond

// progressSender turns Progress calls into throttled "progress" events.
// The last call (done == total) is always sent.
func progressSender(send func(CtlEvent) error) Progress {
	var last time.Time
	return func(done, total int64) {
		if now := time.Now(); now.Sub(last) >= progressEvery || done == total {
			last = now
			_ = send(CtlEvent{Ev: "progress", Done: done, Total: total})
		}
	}
}

// PeerInfo describes a peer for `p2pdvm peers` and `info`.
type PeerInfo struct {
	ID        string   `json:"id"`
	Addrs     []string `json:"addrs"`
	InRouting bool     `json:"in_routing_table"`
	Direction string   `json:"direction,omitempty"`
	// Floc shortcuts this peer holds to ranks hosted at that peer, and the
	// messages sent over them.
	Shortcuts    int    `json:"shortcuts,omitempty"`
	ShortcutMsgs uint64 `json:"shortcut_msgs,omitempty"`
}

// NodeInfo describes the local peer.
type NodeInfo struct {
	ID      string   `json:"id"`
	Addrs   []string `json:"addrs"`
	DataDir string   `json:"data_dir"`
	Peers   int      `json:"peers"`
	Procs   int      `json:"procs"`
	Locs    int      `json:"location_objects"`
	// Objects are the location objects held: "run:rank@host vVERSION".
	Objects []string `json:"objects,omitempty"`
	// Traffic says how messages from ranks hosted here left this peer.
	Traffic TrafficStats `json:"traffic"`
	// Heartbeats are the pings this peer sent as an owner or a submitter.
	Heartbeats HeartbeatStats `json:"heartbeats"`
}

type ctlServer struct {
	p     *Peer
	l     net.Listener
	wg    sync.WaitGroup
	token []byte
}

// ctlTokenFile is where a peer keeps its control token, next to the
// control socket.
func ctlTokenFile(socket string) string { return filepath.Join(filepath.Dir(socket), "ctl.token") }

func listenControl(p *Peer) (*ctlServer, error) {
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	token := []byte(hex.EncodeToString(tok))
	if err := writeFileAtomic(ctlTokenFile(p.ControlSocket()), token, 0o600); err != nil {
		return nil, fmt.Errorf("dvm: control token: %w", err)
	}
	l, err := listenUnix(p.ControlSocket())
	if err != nil {
		return nil, fmt.Errorf("dvm: control socket: %w", err)
	}
	s := &ctlServer{p: p, l: l, token: token}
	acceptLoop(l, &s.wg, func(c net.Conn) {
		defer c.Close()
		s.serve(c)
	})
	return s, nil
}

func (s *ctlServer) close() error {
	err := s.l.Close()
	s.wg.Wait()
	_ = os.Remove(s.p.ControlSocket())
	_ = os.Remove(ctlTokenFile(s.p.ControlSocket()))
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (s *ctlServer) serve(c net.Conn) {
	p := s.p
	r := bufio.NewReader(c)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return
	}
	var req CtlRequest
	enc := json.NewEncoder(c)
	var wmu sync.Mutex
	send := func(ev CtlEvent) error {
		wmu.Lock()
		defer wmu.Unlock()
		return enc.Encode(ev)
	}
	fail := func(err error) { _ = send(CtlEvent{Ev: "error", Err: err.Error()}) }
	if err := json.Unmarshal(line, &req); err != nil {
		fail(fmt.Errorf("bad request: %v", err))
		return
	}
	if subtle.ConstantTimeCompare([]byte(req.Token), s.token) != 1 {
		fail(errors.New("not authorized: the request does not carry this peer's control token (ctl.token in its data dir)"))
		return
	}
	ctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	result := func(v any, err error) {
		if err != nil {
			fail(err)
			return
		}
		b, _ := json.Marshal(v)
		_ = send(CtlEvent{Ev: "result", Result: b})
	}
	switch req.Op {
	case "submit":
		j, err := p.Submit(ctx, Spec{Program: req.Program, Args: req.Args, N: req.N, Env: req.Env, Files: req.Files,
			CkptInterval: req.CkptInterval, MaxRestarts: req.MaxRestarts})
		if err != nil {
			fail(err)
			return
		}
		s.follow(ctx, r, j, send)
	case "restart":
		j, err := p.Restart(ctx, req.Job, req.Epoch)
		if err != nil {
			fail(err)
			return
		}
		s.follow(ctx, r, j, send)
	case "jobs":
		result(p.Jobs(), nil)
	case "status":
		result(p.JobStatus(ctx, req.Job))
	case "kill":
		result(nil, p.Kill(req.Job, "killed by its owner", ExitKilled))
	case "ckpt":
		result(p.Checkpoint(ctx, req.Job))
	case "logs":
		err := p.Logs(ctx, req.Job, req.Follow, func(c Chunk) error { return send(CtlEvent{Ev: "out", Chunk: &c}) })
		if err != nil {
			fail(err)
			return
		}
		_ = send(CtlEvent{Ev: "end"})
	case "peers":
		result(p.Peers(), nil)
	case "info":
		result(p.Info(), nil)
	case "store.put":
		result(p.StorePut(req.Path, req.Reason, progressSender(send)))
	case "store.get":
		result(p.StoreGet(req.CID, req.Path, progressSender(send)))
	case "store.pin":
		result(nil, p.Pin(req.CID, req.Reason))
	case "store.unpin":
		result(nil, p.Unpin(req.CID, req.Reason))
	case "store.pins":
		result(p.Pins(), nil)
	case "store.gc":
		result(p.GC())
	case "store.stat":
		result(p.StoreStat(req.CID))
	case "store.ls":
		result(p.blocks.List())
	default:
		fail(fmt.Errorf("unknown operation %q", req.Op))
	}
}

// follow streams a job just started to the client. A "cancel" line, or
// the client going away, kills the job: Ctrl-C on submit must not leave
// ranks running on other peers.
func (s *ctlServer) follow(ctx context.Context, r *bufio.Reader, j *Job, send func(CtlEvent) error) {
	if send(CtlEvent{Ev: "job", Job: j.ID()}) != nil {
		j.kill("submit client went away", ExitInterrupted, JobKilled)
		return
	}
	go func() {
		line, err := r.ReadBytes('\n')
		reason := "submit client went away"
		if err == nil {
			var c CtlRequest
			if json.Unmarshal(line, &c) == nil && c.Op == "cancel" {
				reason = "interrupted"
			}
		}
		select {
		case <-j.Done():
		default:
			j.kill(reason, ExitInterrupted, JobKilled)
		}
	}()
	err := j.Output(ctx, true, func(c Chunk) error { return send(CtlEvent{Ev: "out", Chunk: &c}) })
	if err != nil {
		j.kill("submit client went away", ExitInterrupted, JobKilled)
		<-j.Done()
	}
	rec := j.record()
	_ = send(CtlEvent{Ev: "end", Job: j.ID(), Record: &rec})
}

// Peers lists the peers this peer is connected to.
func (p *Peer) Peers() []PeerInfo {
	inRT := map[string]bool{}
	for _, q := range p.dht.RoutingTable().ListPeers() {
		inRT[q.String()] = true
	}
	type scAt struct {
		n    int
		msgs uint64
	}
	sc := map[peer.ID]scAt{}
	for _, s := range p.out.floc.Shortcuts() {
		a := sc[s.Host]
		a.n++
		a.msgs += s.Msgs
		sc[s.Host] = a
	}
	var out []PeerInfo
	for _, q := range p.h.Network().Peers() {
		pi := PeerInfo{ID: q.String(), InRouting: inRT[q.String()], Shortcuts: sc[q].n, ShortcutMsgs: sc[q].msgs}
		for _, c := range p.h.Network().ConnsToPeer(q) {
			pi.Addrs = append(pi.Addrs, c.RemoteMultiaddr().String())
			if pi.Direction == "" {
				pi.Direction = map[network.Direction]string{network.DirInbound: "inbound", network.DirOutbound: "outbound"}[c.Stat().Direction]
			}
		}
		out = append(out, pi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Info describes this peer.
func (p *Peer) Info() NodeInfo {
	ni := NodeInfo{ID: p.h.ID().String(), DataDir: p.cfg.DataDir, Peers: len(p.h.Network().Peers()),
		Procs: p.procs.count(), Locs: p.locs.count(), Traffic: p.Traffic(),
		Heartbeats: p.pings.snapshot()}
	for _, l := range p.locs.list() {
		ni.Objects = append(ni.Objects, fmt.Sprintf("%s:%d@%s v%d", l.Job, l.Rank, shortID(l.Host), l.Version))
	}
	sort.Strings(ni.Objects)
	for _, a := range p.Addrs() {
		ni.Addrs = append(ni.Addrs, a.String())
	}
	return ni
}

// ctlDialTimeout bounds connecting to the local peer.
const ctlDialTimeout = 5 * time.Second
