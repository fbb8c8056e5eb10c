package dvm

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// Protocol IDs. Each version bump is a new ID; peers refuse what they do
// not speak instead of misreading it.
const (
	protoRPC  = protocol.ID(ProtocolPrefix + "/rpc/1.0.0")
	protoData = protocol.ID(ProtocolPrefix + "/data/1.0.0")
	protoOut  = protocol.ID(ProtocolPrefix + "/out/1.0.0")
)

const (
	// maxRPCFrame bounds one RPC request or reply; the largest is a routed
	// message fragment, base64 in JSON.
	maxRPCFrame = 4 << 20
	// rpcIdle bounds how long a peer may take to send its request.
	rpcIdle = 30 * time.Second
)

// handler serves one RPC method. from is the authenticated remote peer.
type handler func(ctx context.Context, from peer.ID, body json.RawMessage) (any, error)

// handlers maps method names to handlers; one switch point, as in kad-dht.
func (p *Peer) handlers() map[string]handler {
	return map[string]handler{
		"job.create":   p.handleJobCreate,
		"job.update":   p.handleJobUpdate,
		"job.get":      p.handleJobGet,
		"job.logs":     p.handleJobLogs,
		"job.abort":    p.handleJobAbort,
		"rank.spawn":   p.handleSpawn,
		"rank.route":   p.handleRoute,
		"rank.release": p.handleRelease,
		"rank.deliver": p.handleDeliver,
		"loc.handoff":  p.handleLocHandoff,
		"loc.register": p.handleLocRegister,
		"loc.moved":    p.handleLocMoved,
		"loc.ticket":   p.handleLocTicket,
		"proc.ticket":  p.handleTicket,
		"proc.start":   p.handleStart,
		"proc.kill":    p.handleKill,
		"proc.ckpt":    p.handleCkpt,
		"proc.stats":   p.handleProcStats,
		"ckpt.coord":   p.handleCkptCoord,
		"ckpt.report":  p.handleCkptReport,
		"peer.ping":    p.handlePing,
		"host.lost":    p.handleHostLost,
	}
}

func (p *Peer) serveRPC(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(rpcIdle))
	from := s.Conn().RemotePeer()
	fr := wire.NewReader(s, maxRPCFrame)
	typ, body, err := fr.Next()
	if err != nil || typ != wire.TypeRequest {
		p.log.Debug("rpc: bad request frame", "peer", from, "err", err)
		_ = s.Reset()
		return
	}
	var req wire.Request
	var reply wire.Reply
	if err := wire.DecodeJSON(body, &req); err != nil {
		reply = errReply(err)
	} else if h, ok := p.rpc[req.Method]; !ok {
		reply = errReply(fmt.Errorf("%w: unknown method %q", wire.ErrBadRequest, req.Method))
	} else {
		// The handler may run long (proc.start fetches a binary); the
		// stream deadline covers only the request read and the reply write.
		_ = s.SetDeadline(time.Time{})
		res, err := h(p.ctx, from, req.Body)
		if err != nil {
			reply = errReply(err)
		} else if res != nil {
			reply.Body, err = json.Marshal(res)
			if err != nil {
				reply = errReply(fmt.Errorf("%w: %v", wire.ErrInternal, err))
			}
		}
	}
	out, _ := json.Marshal(reply)
	_ = s.SetDeadline(time.Now().Add(rpcIdle))
	if err := wire.WriteFrame(s, wire.TypeReply, out); err != nil {
		p.log.Debug("rpc: write reply", "peer", from, "err", err)
	}
}

func errReply(err error) wire.Reply {
	return wire.Reply{Code: wire.CodeOf(err), Msg: err.Error()}
}

// call runs method on peer to. A call to this peer itself skips the network
// but goes through the same handler, so both paths behave alike.
func (p *Peer) call(ctx context.Context, to peer.ID, method string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if to == p.h.ID() {
		h, ok := p.rpc[method]
		if !ok {
			return fmt.Errorf("dvm: unknown method %q", method)
		}
		res, err := h(ctx, to, body)
		if err != nil {
			return err
		}
		if resp != nil && res != nil {
			b, err := json.Marshal(res)
			if err != nil {
				return err
			}
			return json.Unmarshal(b, resp)
		}
		return nil
	}
	s, err := p.h.NewStream(ctx, to, protoRPC)
	if err != nil {
		return fmt.Errorf("%w: %s to %s: %v", wire.ErrUnavailable, method, shortID(to), err)
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(d)
	}
	rb, _ := json.Marshal(wire.Request{Method: method, Body: body})
	if err := wire.WriteFrame(s, wire.TypeRequest, rb); err != nil {
		_ = s.Reset()
		return fmt.Errorf("%w: %s to %s: %v", wire.ErrUnavailable, method, shortID(to), err)
	}
	_ = s.CloseWrite()
	typ, rbody, err := wire.NewReader(s, maxRPCFrame).Next()
	if err != nil {
		_ = s.Reset()
		return fmt.Errorf("%w: %s to %s: no reply: %v", wire.ErrUnavailable, method, shortID(to), err)
	}
	if typ != wire.TypeReply {
		return fmt.Errorf("%w: %s: reply frame type %d", wire.ErrMalformed, method, typ)
	}
	var reply wire.Reply
	if err := wire.DecodeJSON(rbody, &reply); err != nil {
		return err
	}
	if err := reply.Err(); err != nil {
		return err
	}
	if resp != nil && len(reply.Body) > 0 {
		if err := wire.DecodeJSON(reply.Body, resp); err != nil {
			return err
		}
	}
	return nil
}

func decodeBody(body json.RawMessage, v any) error {
	if err := wire.DecodeJSON(body, v); err != nil {
		return fmt.Errorf("%w: %v", wire.ErrBadRequest, err)
	}
	return nil
}

func shortID(p peer.ID) string {
	s := p.String()
	if len(s) > 10 {
		return s[len(s)-10:]
	}
	return s
}
