package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestMsgRoundTrip(t *testing.T) {
	cases := []Msg{
		{},
		{Job: "j1", Src: 1, Dst: 2, Seq: 3, Ctx: 4, Tag: -5, Flags: FlagMore, Payload: []byte("hello")},
		{Job: string(bytes.Repeat([]byte{'x'}, MaxJobIDLen)), Src: ^uint32(0), Payload: make([]byte, 1<<16)},
	}
	for _, m := range cases {
		var buf bytes.Buffer
		buf.Write(m.AppendFrame(nil, TypeData))
		fr := NewReader(&buf, 1<<20)
		typ, body, err := fr.Next()
		if err != nil || typ != TypeData {
			t.Fatalf("Next: typ %d err %v", typ, err)
		}
		got, err := DecodeMsg(body)
		if err != nil {
			t.Fatal(err)
		}
		if got.Job != m.Job || got.Src != m.Src || got.Dst != m.Dst || got.Seq != m.Seq ||
			got.Ctx != m.Ctx || got.Tag != m.Tag || got.Flags != m.Flags || !bytes.Equal(got.Payload, m.Payload) {
			t.Fatalf("round trip: got %+v want %+v", got, m)
		}
		if _, _, err := fr.Next(); err != io.EOF {
			t.Fatalf("want EOF at boundary, got %v", err)
		}
	}
}

func TestHeaderThenPayloadEqualsFrame(t *testing.T) {
	m := Msg{Job: "abc", Dst: 7, Payload: []byte("payload")}
	whole := m.AppendFrame(nil, TypeSend)
	split := append(m.AppendHeader(nil, TypeSend), m.Payload...)
	if !bytes.Equal(whole, split) {
		t.Fatal("AppendHeader+payload differs from AppendFrame")
	}
}

func TestReaderRejects(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty frame", []byte{0, 0, 0, 0}, ErrMalformed},
		{"too large", []byte{0xff, 0xff, 0xff, 0x7f, 1}, ErrTooLarge},
		{"truncated body", []byte{10, 0, 0, 0, 1, 2}, ErrMalformed},
		{"truncated header", []byte{10, 0}, ErrMalformed},
	}
	for _, c := range cases {
		_, _, err := NewReader(bytes.NewReader(c.in), 1024).Next()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v want %v", c.name, err, c.want)
		}
	}
}

func TestDecodeMsgRejects(t *testing.T) {
	for _, in := range [][]byte{nil, {200}, {2, 'a', 'b', 1, 2, 3}} {
		if _, err := DecodeMsg(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeMsg(%v) = %v, want ErrMalformed", in, err)
		}
	}
}

func TestCodesMapBack(t *testing.T) {
	for c, s := range codeErr {
		r := Reply{Code: c, Msg: "x"}
		if !errors.Is(r.Err(), s) || CodeOf(r.Err()) != c {
			t.Errorf("code %s does not round-trip", c)
		}
	}
	if (&Reply{}).Err() != nil {
		t.Error("empty code is success")
	}
}

func FuzzReader(f *testing.F) {
	m := Msg{Job: "j", Src: 1, Dst: 2, Payload: []byte("x")}
	f.Add(m.AppendFrame(nil, TypeData))
	f.Add([]byte{1, 0, 0, 0, 5})
	f.Add(AppendAck(nil, 7))
	f.Fuzz(func(t *testing.T, in []byte) {
		fr := NewReader(bytes.NewReader(in), 4096)
		for i := 0; i < 64; i++ {
			typ, body, err := fr.Next()
			if err != nil {
				return
			}
			if len(body) > 4096 {
				t.Fatalf("body over limit: %d", len(body))
			}
			switch typ {
			case TypeData:
				_, _ = DecodeMsg(body)
			case TypeDataAck:
				if _, err := DecodeAck(body); err != nil && !errors.Is(err, ErrMalformed) {
					t.Fatalf("ack error not marked malformed: %v", err)
				}
			}
		}
	})
}

// ReadFrame reads the frame Reader.Next reads, takes no more bytes than
// that frame, and allocates exactly its body.
func FuzzReadFrame(f *testing.F) {
	f.Add(AppendAck(nil, 7))
	f.Add([]byte{1, 0, 0, 0, 5, 9, 9})
	f.Add([]byte{3, 0, 0, 0, TypeBlockGet, 1})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 16, 0, 0, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		wantTyp, wantBody, wantErr := NewReader(bytes.NewReader(in), 64).Next()
		r := bytes.NewReader(in)
		typ, body, err := ReadFrame(r, 64, func(n int) []byte {
			if n > 64 {
				t.Fatalf("allocating %d bytes past the limit", n)
			}
			return make([]byte, n)
		})
		if (err == nil) != (wantErr == nil) || err == nil && (typ != wantTyp || !bytes.Equal(body, wantBody)) {
			t.Fatalf("ReadFrame = %d %q %v, Reader.Next = %d %q %v", typ, body, err, wantTyp, wantBody, wantErr)
		}
		if err == nil && r.Len() != len(in)-HeaderLen-len(body) {
			t.Fatalf("read %d bytes past the frame", len(in)-HeaderLen-len(body)-r.Len())
		}
	})
}

func TestAckRoundTrip(t *testing.T) {
	b := AppendAck(nil, 1<<40+3)
	typ, body, err := NewReader(bytes.NewReader(b), 64).Next()
	if err != nil || typ != TypeDataAck {
		t.Fatalf("frame: %d %v", typ, err)
	}
	if n, err := DecodeAck(body); err != nil || n != 1<<40+3 {
		t.Fatalf("DecodeAck = %d, %v", n, err)
	}
	if _, err := DecodeAck(body[:7]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short ack: %v", err)
	}
}

func FuzzDecodeMsg(f *testing.F) {
	f.Add((&Msg{Job: "job", Src: 3, Payload: []byte("p")}).AppendFrame(nil, TypeData)[HeaderLen:])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeMsg(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		// What decodes must re-encode to the same bytes.
		out := m.AppendFrame(nil, TypeData)[HeaderLen:]
		if !bytes.Equal(out, in) {
			t.Fatalf("re-encode differs")
		}
	})
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"m":"spawn","b":{"job":"x"}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var r Request
		if err := DecodeJSON(in, &r); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
	})
}

func TestDataAuthRoundTrip(t *testing.T) {
	a := DataAuth{Job: "0123456789ab.1"}
	for i := range a.Token {
		a.Token[i] = byte(i)
	}
	f := AppendDataAuth(nil, a)
	fr := NewReader(bytes.NewReader(f), 1024)
	typ, body, err := fr.Next()
	if err != nil || typ != TypeDataAuth {
		t.Fatalf("frame %d, %v", typ, err)
	}
	got, err := DecodeDataAuth(body)
	if err != nil || got != a {
		t.Fatalf("DecodeDataAuth = %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {0}, body[:len(body)-1], append(body[:len(body):len(body)], 0)} {
		if _, err := DecodeDataAuth(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeDataAuth(%x) = %v, want malformed", bad, err)
		}
	}
}

func FuzzDecodeDataAuth(f *testing.F) {
	f.Add(AppendDataAuth(nil, DataAuth{Job: "job"})[HeaderLen:])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := DecodeDataAuth(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		if out := AppendDataAuth(nil, a)[HeaderLen:]; !bytes.Equal(out, in) {
			t.Fatalf("re-encode differs")
		}
	})
}
