package peal

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2pdvm/p2pdvm/internal/testutil"
	"github.com/p2pdvm/p2pdvm/internal/wire"
)

// directPair builds two endpoints of one job that talk only over direct
// connections (no host peer), listening on loopback.
func directPair(t *testing.T, cert, key [2][]byte) [2]*connProc {
	var ps [2]*connProc
	for r := range ps {
		cfg, err := jobTLS(cert[r], key[r])
		if err != nil {
			t.Fatal(err)
		}
		p := &connProc{
			w: wire.Welcome{Job: "j", Rank: r, Size: 2, Cert: cert[r], Key: key[r]}, m: NewMatcher(),
			routes: make([]route, 2), srcs: []srcState{{next: 1}, {next: 1}}, closed: make(chan struct{}), tlsCfg: cfg,
		}
		p.arm.cond = sync.NewCond(&p.arm.mu)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p.serveListener(ln)
		t.Cleanup(func() { ln.Close() })
		ps[r] = p
	}
	return ps
}

func TestDirectConnections(t *testing.T) {
	cert, key, err := GenerateJobCredentials("j")
	if err != nil {
		t.Fatal(err)
	}
	// "localhost" is not an IP, so it takes the TLS path; 127.0.0.1 the
	// authenticated plain path.
	for _, host := range []string{"localhost", "127.0.0.1"} {
		t.Run(host, func(t *testing.T) {
			ps := directPair(t, [2][]byte{cert, cert}, [2][]byte{key, key})
			port := ps[1].ln.Addr().(*net.TCPAddr).Port
			ps[0].locate(wire.Locate{Dst: 1, Addrs: []string{fmt.Sprintf("%s:%d", host, port)}})
			testutil.Eventually(t, 5*time.Second, "direct connection", func() bool {
				r := &ps[0].routes[1]
				r.mu.Lock()
				defer r.mu.Unlock()
				return r.conn != nil
			})
			big := []byte(strings.Repeat("x", 3*FragSize+17))
			for i := 0; i < 3; i++ {
				if err := ps[0].sendOne(&ps[0].routes[1], &wire.Msg{Src: 0, Dst: 1, Seq: uint64(i + 1), Tag: int32(i), Payload: []byte{byte(i)}}); err != nil {
					t.Fatal(err)
				}
			}
			ps[0].routes[1].seq = 3
			if err := ps[0].Send(1, 0, 9, big); err != nil {
				t.Fatal(err)
			}
			// Posted before arrival: fragments land in the caller's buffer.
			into := make([]byte, len(big))
			posted := ps[1].PostInto(0, 0, 10, into)
			small := ps[1].PostInto(0, 0, 11, make([]byte, 10))
			if err := ps[0].Send(1, 0, 10, big); err != nil {
				t.Fatal(err)
			}
			if err := ps[0].Send(1, 0, 11, big); err != nil {
				t.Fatal(err)
			}
			if m, err := posted.Wait(); err != nil || &m.Data[0] != &into[0] || string(m.Data) != string(big) {
				t.Fatalf("fragmented message into a posted buffer: %d bytes, in place %v, %v", len(m.Data), &m.Data[0] == &into[0], err)
			}
			if m, err := small.Wait(); err != nil || len(m.Data) != len(big) {
				t.Fatalf("too-small posted buffer must still report the whole count: %d, %v", len(m.Data), err)
			}
			for i := 0; i < 3; i++ {
				m, err := ps[1].Post(0, 0, int32(i)).Wait()
				if err != nil || len(m.Data) != 1 || m.Data[0] != byte(i) {
					t.Fatalf("message %d: %v %v", i, m.Data, err)
				}
			}
			m, err := ps[1].Post(0, 0, 9).Wait()
			if err != nil || string(m.Data) != string(big) {
				t.Fatalf("fragmented message: %d bytes, %v", len(m.Data), err)
			}
		})
	}
}

// A process without the job's key gets no direct connection, on either path.
func TestDirectRejectsStrangers(t *testing.T) {
	cert, key, _ := GenerateJobCredentials("j")
	ocert, okey, _ := GenerateJobCredentials("other")
	for _, host := range []string{"localhost", "127.0.0.1"} {
		ps := directPair(t, [2][]byte{ocert, cert}, [2][]byte{okey, key})
		port := ps[1].ln.Addr().(*net.TCPAddr).Port
		if c, _ := ps[0].dial([]string{fmt.Sprintf("%s:%d", host, port)}, 1); c != nil {
			// TLS may report the failure only on first use; the receiver
			// must still never deliver anything from it.
			m := wire.Msg{Src: 0, Dst: 1, Seq: 1, Payload: []byte("intruder")}
			_ = writeMsg(c, new([]byte), &m, wire.TypeDeliver)
			time.Sleep(100 * time.Millisecond)
			if _, ok, _ := ps[1].Probe(AnySource, 0, AnyTag, false); ok {
				t.Fatalf("%s: a stranger's message was delivered", host)
			}
			c.Close()
		}
	}
}

func TestReorderAndDedup(t *testing.T) {
	p := &connProc{w: wire.Welcome{Rank: 1, Size: 2}, m: NewMatcher(), srcs: []srcState{{next: 1}, {next: 1}}}
	for _, seq := range []uint64{2, 1, 2, 3, 1, 4} {
		p.arrive(&wire.Msg{Src: 0, Dst: 1, Seq: seq, Payload: []byte{byte(seq)}})
	}
	for want := byte(1); want <= 4; want++ {
		m, ok, _ := p.m.Post(0, 0, AnyTag).Test()
		if !ok || m.Data[0] != want {
			t.Fatalf("want message %d in order, got %v (ok=%v)", want, m.Data, ok)
		}
	}
	if _, ok, _ := p.m.Probe(AnySource, 0, AnyTag, false); ok {
		t.Fatal("a duplicate was delivered")
	}
}

// quietPair is two ranks of one job in quiet mode, joined by a polled
// local connection both ways.
func quietPair(t *testing.T) [2]*connProc {
	t.Helper()
	cert, key, err := GenerateJobCredentials("j")
	if err != nil {
		t.Fatal(err)
	}
	ps := directPair(t, [2][]byte{cert, cert}, [2][]byte{key, key})
	t.Cleanup(func() { ps[0].Close(); ps[1].Close() })
	for _, p := range ps {
		p.Quiet()
	}
	port := ps[1].ln.Addr().(*net.TCPAddr).Port
	ps[0].locate(wire.Locate{Dst: 1, Addrs: []string{fmt.Sprintf("127.0.0.1:%d", port)}})
	routed := func(p *connProc, peer int) bool {
		r := &p.routes[peer]
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.conn != nil && r.polled
	}
	testutil.Eventually(t, 5*time.Second, "a polled connection both ways", func() bool {
		ps[1].Poll() // the hello reaches rank 1 whatever the arming, but polling is what a rank does
		return routed(ps[0], 1) && routed(ps[1], 0)
	})
	if !ps[0].Polled(1) || ps[0].LocalRanks() != 2 {
		t.Fatalf("Polled(1)=%v LocalRanks=%d", ps[0].Polled(1), ps[0].LocalRanks())
	}
	return ps
}

// A quiet rank that must not spin sleeps in WaitReadable: it returns when
// a message comes, long before its timeout, and Poll then delivers the
// message; with nothing coming it sleeps the whole timeout.
func TestQuietWaitReadable(t *testing.T) {
	ps := quietPair(t)
	idle := time.Now()
	if !ps[1].WaitReadable(50 * time.Millisecond) {
		t.Fatal("WaitReadable in quiet mode did not wait")
	}
	if d := time.Since(idle); d < 45*time.Millisecond {
		t.Errorf("WaitReadable with nothing to read returned after %v, want about 50ms", d)
	}
	rc := ps[1].Post(0, 0, 7)
	woke := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		ps[1].WaitReadable(time.Minute)
		woke <- time.Since(start)
	}()
	if err := ps[0].Send(1, 0, 7, []byte("wake")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatal("WaitReadable slept through an arriving message")
	}
	ps[1].Poll()
	m, ok, err := rc.Test()
	if !ok || err != nil || string(m.Data) != "wake" {
		t.Fatalf("after the wake-up and a poll: ok=%v err=%v data=%q", ok, err, m.Data)
	}
}

// In quiet mode (the C library's) the local connection leaves Go's poller:
// nothing reads it unless a caller polls, blocks in Block, or writes into
// a full socket. Two ranks writing large messages to each other at once
// must still both finish, and every message must arrive whole.
func TestQuietModeLargeExchange(t *testing.T) {
	ps := quietPair(t)
	payload := func(r int) []byte { return bytes.Repeat([]byte{byte('a' + r)}, 9*FragSize/2) }
	var wg sync.WaitGroup
	for r := range ps {
		wg.Go(func() {
			me, other := ps[r], 1-r
			for k := 0; k < 3; k++ {
				if err := me.Send(other, 0, int32(k), payload(r)); err != nil {
					t.Errorf("rank %d send %d: %v", r, k, err)
					return
				}
			}
			for k := 0; k < 3; k++ {
				rc := me.Post(other, 0, int32(k))
				var m Message
				var err error
				me.Block(func() { m, err = rc.Wait() })
				if err != nil || !bytes.Equal(m.Data, payload(other)) {
					t.Errorf("rank %d message %d: %d bytes, %v", r, k, len(m.Data), err)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("ranks writing to each other in quiet mode deadlocked")
	}
}
