package main

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// deflateRaw compresses p as permessage-deflate does with no context
// takeover: a fresh compressor, a sync flush, the 00 00 ff ff removed.
func deflateRaw(t *testing.T, p string) []byte {
	t.Helper()
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	if _, err := w.Write([]byte(p)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(out.Bytes(), syncTail)
}

// storedBlock is p as one non-final stored DEFLATE block.
func storedBlock(p string) []byte {
	b := []byte{0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(b[1:], uint16(len(p)))
	binary.LittleEndian.PutUint16(b[3:], ^uint16(len(p)))
	return append(b, p...)
}

// serverMessage builds a compressed MESSAGE as Eventara sends it: the
// subscriber's headers in a stored block, then the shared compressed tail.
func serverMessage(sub string, seq int, tail []byte) []byte {
	head := fmt.Sprintf("MESSAGE\nsubscription:%s\nmessage-id:p-%d\n", sub, seq)
	return append(storedBlock(head), tail...)
}

func TestInflateTimestampSharedTail(t *testing.T) {
	tails = tailCache{}
	body := `{"summary":{"totalEvents":5}}` + strings.Repeat(" ", 3000)
	tailText := "destination:/topic/metrics\ncontent-type:application/json\ntimestamp:1764000000123\ncontent-length:" +
		fmt.Sprint(len(body)) + "\n\n" + body + "\x00"
	tail := deflateRaw(t, tailText)
	st := &fanoutStats{}

	cases := []struct {
		name string
		msg  []byte
		full bool
		want int64
		ok   bool
	}{
		{"first subscriber inflates", serverMessage("sub-0", 1, tail), false, 1764000000123, true},
		{"next subscriber looks the tail up", serverMessage("sub-7", 1, tail), false, 1764000000123, true},
		{"a verifying subscriber inflates in full", serverMessage("sub-9", 2, tail), true, 1764000000123, true},
		{"one compressed stream, no stored head", deflateRaw(t, "MESSAGE\nsubscription:s\nmessage-id:1\n"+tailText), false, 1764000000123, true},
		{"a head that is not a MESSAGE", append(storedBlock("ERROR\nmessage:x\n"), tail...), false, 0, false},
		{"a cut tail", serverMessage("sub-0", 3, tail[:40]), true, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := inflateTimestamp(c.msg, false, c.full, st)
			if ok != c.ok || got != c.want {
				t.Fatalf("inflateTimestamp = %d, %v; want %d, %v", got, ok, c.want, c.ok)
			}
		})
	}
	if _, hit := tails.lookup(tail); !hit {
		t.Fatal("the shared tail was not cached")
	}
	if st.verified.Load() != 1 {
		t.Fatalf("verified = %d, want 1", st.verified.Load())
	}
}

// A tail that refers back into the head (compressed with the head as its
// dictionary) decodes right as part of its message but not on its own: it
// must not be cached, since another head could change what it decodes to.
func TestInflateTimestampDoesNotCacheDependentTail(t *testing.T) {
	tails = tailCache{}
	head := "MESSAGE\nsubscription:s\nmessage-id:timestamp:1764000000999\n"
	var out bytes.Buffer
	w, _ := flate.NewWriterDict(&out, flate.BestCompression, []byte(head))
	_, _ = w.Write([]byte("destination:/topic/metrics\ntimestamp:1764000000999\n\n{}\x00"))
	_ = w.Flush()
	tail := bytes.TrimSuffix(out.Bytes(), syncTail)
	msg := append(storedBlock(head), tail...)
	ts, ok := inflateTimestamp(msg, false, false, &fanoutStats{})
	if !ok || ts != 1764000000999 {
		t.Fatalf("inflateTimestamp = %d, %v; want 1764000000999, true", ts, ok)
	}
	if _, hit := tails.lookup(tail); hit {
		t.Fatal("a tail that refers to its head was cached")
	}
}

// frame is one unmasked server WebSocket frame.
func frame(fin bool, op byte, rsv1 bool, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	if rsv1 {
		b0 |= 0x40
	}
	switch {
	case len(payload) < 126:
		return append([]byte{b0, byte(len(payload))}, payload...)
	case len(payload) < 1<<16:
		return append([]byte{b0, 126, byte(len(payload) >> 8), byte(len(payload))}, payload...)
	default:
		h := make([]byte, 10)
		h[0], h[1] = b0, 127
		binary.BigEndian.PutUint64(h[2:], uint64(len(payload)))
		return append(h, payload...)
	}
}

func TestReaderFrames(t *testing.T) {
	msg := func(ts int) []byte {
		return []byte(fmt.Sprintf("MESSAGE\nsubscription:sub-0\nmessage-id:1\ntimestamp:%d\n\n{}\x00", ts))
	}
	long := append(msg(1000), bytes.Repeat([]byte{' '}, 70000)...)
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	cases := []struct {
		name    string
		reads   [][]byte // what each read returns
		want    int64    // messages counted
		wantErr string
	}{
		{"one frame", [][]byte{frame(true, 1, false, msg(1000))}, 1, ""},
		{"two frames in one read", [][]byte{cat(frame(true, 1, false, msg(1000)), frame(true, 1, false, msg(2000)))}, 2, ""},
		{"a frame split across reads", [][]byte{frame(true, 1, false, msg(1000))[:5], frame(true, 1, false, msg(1000))[5:]}, 1, ""},
		{"a split length field", [][]byte{frame(true, 1, false, long)[:3], frame(true, 1, false, long)[3:]}, 1, ""},
		{"a ping between", [][]byte{cat(frame(true, 9, false, nil), frame(true, 1, false, msg(1000)))}, 1, ""},
		{"a fragmented message", [][]byte{cat(frame(false, 1, false, msg(1000)[:10]), frame(true, 0, false, msg(1000)[10:]))}, 1, ""},
		{"a close frame", [][]byte{frame(true, 8, false, []byte{3, 232, 'b', 'y', 'e'})}, 0, "close frame"},
		{"an ERROR frame", [][]byte{frame(true, 1, false, []byte("ERROR\nmessage:no\n\n\x00"))}, 0, "server closed"},
		{"a masked frame", [][]byte{{0x81, 0x82, 1, 2, 3, 4, 'a', 'b'}}, 0, "masked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &fanoutStats{}
			var measuring atomic.Bool
			measuring.Store(true)
			r := &reader{st: st, measuring: &measuring}
			sub := &subscriber{}
			var err error
			for _, rd := range c.reads {
				sub.buf = append(sub.buf, rd...)
				if err = r.consume(sub, time.UnixMilli(3000)); err != nil {
					break
				}
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := st.messages.Load(); got != c.want {
				t.Fatalf("counted %d messages, want %d", got, c.want)
			}
			if len(sub.buf) != 0 {
				t.Fatalf("%d bytes left over", len(sub.buf))
			}
		})
	}
}

// The floor server's frames must be what the fan-out reader counts: a
// compressed MESSAGE whose timestamp is the push time.
func TestFloorPushIsReadByTheLoadTool(t *testing.T) {
	tails = tailCache{}
	server, client := net.Pipe()
	defer client.Close()
	f := &floor{body: []byte(`{"summary":{"totalEvents":1}}`), conns: []net.Conn{server}}
	now := time.UnixMilli(1764000000456)
	go func() {
		f.push(1, now)
		server.Close()
	}()
	raw, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	st := &fanoutStats{}
	var measuring atomic.Bool
	measuring.Store(true)
	r := &reader{st: st, measuring: &measuring}
	sub := &subscriber{deflated: true, buf: raw}
	if err := r.consume(sub, now.Add(5*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if st.messages.Load() != 1 || sub.lastTS != now.UnixMilli() {
		t.Fatalf("counted %d messages, last timestamp %d; want 1 and %d", st.messages.Load(), sub.lastTS, now.UnixMilli())
	}
	if len(st.latencies) != 1 || st.latencies[0] != 5*time.Millisecond {
		t.Fatalf("latencies = %v, want [5ms]", st.latencies)
	}
}
