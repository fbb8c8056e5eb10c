package peal

import (
	"errors"
	"testing"
)

func msg(src int, ctx uint32, tag int32, b string) Message {
	return Message{Src: src, Ctx: ctx, Tag: tag, Data: []byte(b)}
}

func TestMatchingRules(t *testing.T) {
	type step struct {
		deliver *Message
		post    *[3]int // src, ctx, tag
		want    string  // data the post completes with, "" = stays pending
	}
	m1, m2, m3 := msg(1, 0, 5, "a"), msg(1, 0, 5, "b"), msg(2, 0, 6, "c")
	cases := []struct {
		name  string
		steps []step
	}{
		{"non-overtaking from one source", []step{
			{deliver: &m1}, {deliver: &m2},
			{post: &[3]int{1, 0, 5}, want: "a"},
			{post: &[3]int{1, 0, 5}, want: "b"},
		}},
		{"any source takes earliest arrival", []step{
			{deliver: &m3}, {deliver: &m1},
			{post: &[3]int{AnySource, 0, int(AnyTag)}, want: "c"},
		}},
		{"tag selects", []step{
			{deliver: &m1}, {deliver: &m3},
			{post: &[3]int{AnySource, 0, 6}, want: "c"},
			{post: &[3]int{AnySource, 0, 5}, want: "a"},
		}},
		{"context isolates", []step{
			{deliver: &m1},
			{post: &[3]int{1, 1, 5}, want: ""},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mt := NewMatcher()
			for i, s := range c.steps {
				if s.deliver != nil {
					mt.Deliver(*s.deliver)
					continue
				}
				r := mt.Post(s.post[0], uint32(s.post[1]), int32(s.post[2]))
				got, done, err := r.Test()
				if err != nil {
					t.Fatal(err)
				}
				if (s.want == "") == done || done && string(got.Data) != s.want {
					t.Fatalf("step %d: done=%v data=%q, want %q", i, done, got.Data, s.want)
				}
			}
		})
	}
}

func TestPostedReceivesMatchInPostOrder(t *testing.T) {
	mt := NewMatcher()
	r1 := mt.Post(AnySource, 0, AnyTag)
	r2 := mt.Post(1, 0, 5)
	mt.Deliver(msg(1, 0, 5, "first"))
	mt.Deliver(msg(1, 0, 5, "second"))
	a, _ := r1.Wait()
	b, _ := r2.Wait()
	if string(a.Data) != "first" || string(b.Data) != "second" {
		t.Fatalf("got %q then %q", a.Data, b.Data)
	}
}

func TestProbeDoesNotConsume(t *testing.T) {
	mt := NewMatcher()
	if _, ok, _ := mt.Probe(AnySource, 0, AnyTag, false); ok {
		t.Fatal("probe found a message in an empty queue")
	}
	mt.Deliver(msg(3, 0, 9, "xyz"))
	env, ok, err := mt.Probe(AnySource, 0, AnyTag, true)
	if !ok || err != nil || env.Src != 3 || env.Tag != 9 || len(env.Data) != 3 {
		t.Fatalf("probe: %+v %v %v", env, ok, err)
	}
	if got, _ := mt.Post(3, 0, 9).Wait(); string(got.Data) != "xyz" {
		t.Fatal("probe consumed the message")
	}
}

func TestBlockingProbeWakes(t *testing.T) {
	mt := NewMatcher()
	done := make(chan Message)
	go func() {
		env, _, _ := mt.Probe(2, 0, AnyTag, true)
		done <- env
	}()
	mt.Deliver(msg(1, 0, 1, "other"))
	mt.Deliver(msg(2, 0, 1, "mine"))
	if env := <-done; env.Src != 2 {
		t.Fatalf("probe woke for source %d", env.Src)
	}
}

func TestCancelAndFail(t *testing.T) {
	mt := NewMatcher()
	r := mt.Post(1, 0, 1)
	if !mt.Cancel(r) {
		t.Fatal("cancel of a pending receive failed")
	}
	if _, err := r.Wait(); !errors.Is(err, ErrCancelled) {
		t.Fatalf("cancelled receive: %v", err)
	}
	r2 := mt.Post(1, 0, 1)
	mt.Fail(ErrClosed)
	if _, err := r2.Wait(); !errors.Is(err, ErrClosed) {
		t.Fatalf("pending receive after Fail: %v", err)
	}
	if _, err := mt.Post(1, 0, 1).Wait(); !errors.Is(err, ErrClosed) {
		t.Fatalf("new receive after Fail: %v", err)
	}
	if _, _, err := mt.Probe(1, 0, 1, true); !errors.Is(err, ErrClosed) {
		t.Fatalf("blocking probe after Fail: %v", err)
	}
}

func TestGroupCopiesOnSend(t *testing.T) {
	g := NewGroup("j", 2)
	buf := []byte("hello")
	if err := g[0].Send(1, 0, 0, buf); err != nil {
		t.Fatal(err)
	}
	buf[0] = 'J'
	m, _ := g[1].Post(0, 0, 0).Wait()
	if string(m.Data) != "hello" {
		t.Fatalf("receiver saw the sender's later write: %q", m.Data)
	}
	if err := g[0].Send(2, 0, 0, nil); err == nil {
		t.Fatal("send to a rank outside the group succeeded")
	}
}
