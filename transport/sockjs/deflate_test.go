package sockjs

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/sockjs"
)

// inflate decodes one permessage-deflate payload (RFC 7692 section 7.2.2):
// append 00 00 ff ff and inflate.
func inflate(t testing.TB, payload []byte) []byte {
	t.Helper()
	r := flate.NewReader(io.MultiReader(bytes.NewReader(payload), strings.NewReader("\x00\x00\xff\xff")))
	b, err := io.ReadAll(r)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("inflate: %v", err)
	}
	return b
}

// deflateShared is a Shared whose JSON and STOMP tail are both tail.
func deflateShared(tail []byte) *actors.Shared {
	return &actors.Shared{JSON: tail, STOMPTail: tail}
}

type wsFrame struct {
	hdr     byte
	payload []byte
}

// parseFrames splits unmasked server frames.
func parseFrames(t *testing.T, b []byte) []wsFrame {
	t.Helper()
	var out []wsFrame
	for len(b) > 0 {
		if len(b) < 2 {
			t.Fatalf("short frame header")
		}
		hdr, n, off := b[0], uint64(b[1]&0x7f), 2
		switch n {
		case 126:
			n, off = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			n, off = binary.BigEndian.Uint64(b[2:]), 10
		}
		out = append(out, wsFrame{hdr: hdr, payload: b[off : off+int(n)]})
		b = b[off+int(n):]
	}
	return out
}

// TestDeflateStoredBlockGolden pins the byte layout of a compressed
// message: FIN|RSV1|text, the length, then the head as one stored block
// (00, LEN and NLEN little-endian, the bytes) and the shared compressed
// tail as it is.
func TestDeflateStoredBlockGolden(t *testing.T) {
	fb := getBuilder()
	defer putBuilder(fb)
	fb.beginDeflate()
	fb.stored(`a["`, []byte("M\"\n"), true)
	fb.ext([]byte{0xAA, 0xBB})
	fb.end()
	got := fb.flat(nil)
	want := []byte{
		0xC1, 15, // FIN, RSV1, text; 5 + 8 + 2 payload bytes
		0x00, 8, 0, 0xF7, 0xFF, // stored block, LEN 8, NLEN ^8
		'a', '[', '"', 'M', '\\', '"', '\\', 'n',
		0xAA, 0xBB,
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
	// An uncompressed message after it in the same batch has RSV1 clear.
	fb.reset()
	fb.begin(false)
	fb.lit("h")
	fb.end()
	if got := fb.flat(nil); !bytes.Equal(got, []byte{0x81, 1, 'h'}) {
		t.Fatalf("plain frame after a compressed one: % x", got)
	}
}

// TestDeflateStoredBlockSplit: a head longer than one stored block holds
// is split into several, and still inflates to itself.
func TestDeflateStoredBlockSplit(t *testing.T) {
	head := bytes.Repeat([]byte("x\"y"), 50000) // 150,000 bytes, 200,000 escaped
	fb := getBuilder()
	fb.beginDeflate()
	fb.stored("", head, false)
	fb.end()
	fr := parseFrames(t, fb.flat(nil))
	if got := inflate(t, fr[0].payload); !bytes.Equal(got, head) {
		t.Fatalf("raw head: inflated %d bytes, want %d", len(got), len(head))
	}
	fb.reset()
	fb.beginDeflate()
	fb.stored(`a["`, head, true)
	fb.end()
	fr = parseFrames(t, fb.flat(nil))
	want := append([]byte(`a["`), sockjs.AppendEscaped(nil, head)...)
	if got := inflate(t, fr[0].payload); !bytes.Equal(got, want) {
		t.Fatalf("escaped head: inflated %d bytes, want %d", len(got), len(want))
	}
}

// TestDeflateBuildInflates lays out batches on compressed and plain
// connections and inflates each RSV1 message with compress/flate.
func TestDeflateBuildInflates(t *testing.T) {
	tail := append([]byte("destination:/topic/metrics\ntimestamp:1764349200000\ncontent-length:20\n\n"), bytes.Repeat([]byte(`{"a":"b\u00e9\n"}`), 400)...)
	tail = append(tail, 0)
	sh := deflateShared(tail)
	head := []byte("MESSAGE\nsubscription:sub-0\nmessage-id:x-1\n")
	units := []actors.Outgoing{
		{Head: []byte("CONNECTED\nversion:1.2\n\n\x00")},
		{Head: head, Shared: sh},
		{Head: head, Shared: sh},
		{Head: []byte("RECEIPT\nreceipt-id:1\n\n\x00")},
		{Head: []byte("\n"), HeartBeat: true},
	}
	type msg struct {
		compressed bool
		text       string
	}
	decode := func(fb *frameBuilder) []msg {
		var out []msg
		for _, f := range parseFrames(t, fb.flat(nil)) {
			if f.hdr&0x8f != 0x81 || f.hdr&0x30 != 0 {
				t.Fatalf("frame header %#x", f.hdr)
			}
			m := msg{compressed: f.hdr&0x40 != 0, text: string(f.payload)}
			if m.compressed {
				m.text = string(inflate(t, f.payload))
			}
			out = append(out, m)
		}
		return out
	}
	full := string(head) + string(tail)
	esc := func(s string) string { return string(sockjs.AppendEscaped(nil, []byte(s))) }

	for _, tc := range []struct {
		name   string
		c      *wsConn
		framng actors.Framing
		want   []msg
	}{
		{"raw deflate", &wsConn{deflate: true}, actors.FramingSTOMP, []msg{
			{false, string(units[0].Head)}, {true, full}, {true, full}, {false, string(units[3].Head)}, {false, "\n"},
		}},
		{"raw plain", &wsConn{}, actors.FramingSTOMP, []msg{
			{false, string(units[0].Head)}, {false, full}, {false, full}, {false, string(units[3].Head)}, {false, "\n"},
		}},
		{"raw deflate JSON framing", &wsConn{deflate: true}, actors.FramingJSON, []msg{
			{false, string(units[0].Head)}, {false, string(head) + string(tail)}, {false, string(head) + string(tail)}, {false, string(units[3].Head)}, {false, "\n"},
		}},
		{"sockjs deflate", &wsConn{deflate: true, sockjs: true}, actors.FramingSTOMP, []msg{
			{false, `a["` + esc(string(units[0].Head)) + `"]`},
			{true, `a["` + esc(full) + `"]`},
			{true, `a["` + esc(full) + `"]`},
			{false, `a["` + esc(string(units[3].Head)) + `","` + esc("\n") + `"]`},
		}},
		{"sockjs plain", &wsConn{sockjs: true}, actors.FramingSTOMP, []msg{
			{false, `a["` + esc(string(units[0].Head)) + `","` + esc(full) + `","` + esc(full) + `","` + esc(string(units[3].Head)) + `","` + esc("\n") + `"]`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.framing.Store(uint32(tc.framng))
			fb := getBuilder()
			defer putBuilder(fb)
			tc.c.build(fb, units)
			got := decode(fb)
			if len(got) != len(tc.want) {
				t.Fatalf("%d messages, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("message %d: compressed %v, %.80q...\nwant compressed %v, %.80q...", i, got[i].compressed, got[i].text, tc.want[i].compressed, tc.want[i].text)
				}
			}
		})
	}
	// A Shared whose compression failed (nil) goes out uncompressed.
	failed := &actors.Shared{STOMPTail: tail}
	framingsOf(failed).stompDeflated.once.Do(func() {})
	c := &wsConn{deflate: true}
	fb := getBuilder()
	defer putBuilder(fb)
	c.build(fb, []actors.Outgoing{{Head: head, Shared: failed}})
	if fr := parseFrames(t, fb.flat(nil)); fr[0].hdr != 0x81 || string(fr[0].payload) != full {
		t.Fatalf("no compressed tail: header %#x", fr[0].hdr)
	}
}

// TestDeflateWithCoderClient: coder/websocket's client, compression on,
// negotiates permessage-deflate on both WebSocket endpoints, decodes the
// compressed snapshots and the plain frames between them, and its own
// compressed messages reach the session.
func TestDeflateWithCoderClient(t *testing.T) {
	t.Parallel()
	tail := append([]byte("destination:/topic/metrics\ncontent-length:9\n\n"), bytes.Repeat([]byte(`{"k":"v"},`), 2000)...)
	tail = append(tail, 0)
	sh := deflateShared(tail)
	for _, tc := range []struct {
		name   string
		sockjs bool
		mode   websocket.CompressionMode
	}{
		{"raw no-context", false, websocket.CompressionNoContextTakeover},
		{"raw context-takeover offer", false, websocket.CompressionContextTakeover},
		{"sockjs no-context", true, websocket.CompressionNoContextTakeover},
		{"sockjs context-takeover offer", true, websocket.CompressionContextTakeover},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestSessions(false)
			s := newServer(t, Config{}, ts)
			u := s.URL + "/ws"
			if tc.sockjs {
				u = newSessionURL(s.URL) + "/websocket"
			}
			ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
			defer cancel()
			ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(u, "http"), &websocket.DialOptions{CompressionMode: tc.mode, CompressionThreshold: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			ws.SetReadLimit(1 << 20)
			if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "permessage-deflate; client_no_context_takeover; server_no_context_takeover" {
				t.Fatalf("Sec-WebSocket-Extensions %q", ext)
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if tc.sockjs {
				wantEq(t, "open", readWS(t, ws), "o")
			}
			conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
			for i := range 20 {
				head := fmt.Sprintf("MESSAGE\nsubscription:s\nmessage-id:%d\n", i)
				for !conn.Send(actors.Outgoing{Head: []byte(head), Shared: sh}) {
					time.Sleep(time.Millisecond) // queue full: let the writer drain
				}
				if i%5 == 0 {
					for !conn.Send(actors.Outgoing{Head: []byte("RECEIPT\n\n\x00")}) {
						time.Sleep(time.Millisecond) // queue full: let the writer drain
					}
				}
			}
			// Each unit is a message of its own, or (SockJS) one of an
			// a[...] frame's messages: compressed snapshots go alone, but
			// on a wire that sends them uncompressed (coderWire) units
			// queued together share a frame.
			var got []string
			for len(got) < 24 {
				_, b, err := ws.Read(ctx)
				if err != nil {
					t.Fatalf("read after %d messages: %v", len(got), err)
				}
				if !tc.sockjs {
					got = append(got, string(b))
					continue
				}
				if b[0] != 'a' {
					t.Fatalf("frame %.60q..., want a[...]", b)
				}
				msgs, err := sockjs.DecodeMessages(b[1:])
				if err != nil {
					t.Fatalf("frame %.60q...: %v", b, err)
				}
				for _, m := range msgs {
					got = append(got, string(m))
				}
			}
			k := 0
			for i := range 20 {
				want := fmt.Sprintf("MESSAGE\nsubscription:s\nmessage-id:%d\n", i) + string(tail)
				if got[k] != want {
					t.Fatalf("message %d: %.60q..., want %.60q...", k, got[k], want)
				}
				k++
				if i%5 == 0 {
					if w := "RECEIPT\n\n\x00"; got[k] != w {
						t.Fatalf("message %d: %q, want %q", k, got[k], w)
					}
					k++
				}
			}
			// Inbound: the client compresses (threshold 1); coder/websocket inflates.
			in := `["hello"]`
			if !tc.sockjs {
				in = "SEND\n\nhello\x00"
			}
			if err := ws.Write(ctx, websocket.MessageText, []byte(in)); err != nil {
				t.Fatal(err)
			}
			want := "hello"
			if !tc.sockjs {
				want = in
			}
			wantEq(t, "inbound", string(testutil.Recv(t, ts.recv, testutil.Patience, "a message from the client")), want)
			conn.Close(1000, "bye")
			if tc.sockjs {
				wantEq(t, "close frame", readWS(t, ws), `c[1000,"bye"]`)
			}
			_, _, err = ws.Read(ctx)
			wantEq(t, "close status", websocket.CloseStatus(err), websocket.StatusNormalClosure)
		})
	}
}

// BenchmarkBuildDeflateFrame is the per-delivery layout of a compressed
// snapshot message: a stored block for the head, the shared tail by
// reference. It must not allocate.
func BenchmarkBuildDeflateFrame(b *testing.B) {
	sh := deflateShared(benchShared().STOMPTail)
	for _, sj := range []bool{false, true} {
		b.Run(fmt.Sprintf("sockjs=%v", sj), func(b *testing.B) {
			c := &wsConn{sockjs: sj, deflate: true}
			units := []actors.Outgoing{{Head: benchHead, Shared: sh}}
			fb := getBuilder()
			b.ReportAllocs()
			for b.Loop() {
				fb.reset()
				c.build(fb, units)
				fb.buffers()
			}
		})
	}
}

// TestDeflateOnlyOnSocketWire reads the raw frames of a client that
// negotiated permessage-deflate: a snapshot goes compressed (RSV1, the
// shared compressed tail) on socketWire, and uncompressed on coderWire,
// which must never compress once per connection.
func TestDeflateOnlyOnSocketWire(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	s := newServer(t, Config{}, ts)
	nc, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantEq(t, "extension", resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate; client_no_context_takeover; server_no_context_takeover")
	conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open").(*wsConn)
	wantEq(t, "shares compressed tails", conn.deflate, !forcePortableWire)

	tail := append([]byte("destination:/topic/metrics\n\n"), bytes.Repeat([]byte(`{"k":"v"},`), 2000)...)
	sh := deflateShared(append(tail, 0))
	head := "MESSAGE\nsubscription:s\nmessage-id:1\n"
	conn.Send(actors.Outgoing{Head: []byte(head), Shared: sh})
	var hdr [10]byte
	if _, err := io.ReadFull(br, hdr[:4]); err != nil {
		t.Fatal(err)
	}
	n := int(hdr[1] & 0x7f)
	switch n {
	case 126:
		n = int(binary.BigEndian.Uint16(hdr[2:4]))
	case 127:
		if _, err := io.ReadFull(br, hdr[4:]); err != nil {
			t.Fatal(err)
		}
		n = int(binary.BigEndian.Uint64(hdr[2:]))
	default:
		t.Fatalf("a %d-byte snapshot message", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	want := head + string(sh.STOMPTail)
	if forcePortableWire {
		wantEq(t, "frame header", hdr[0], byte(0x81))
		wantEq(t, "payload", string(payload) == want, true)
		return
	}
	wantEq(t, "frame header", hdr[0], byte(0xC1))
	wantEq(t, "inflated payload", string(inflate(t, payload)) == want, true)
	if !bytes.HasSuffix(payload, framingsOf(sh).stompDeflate(sh)) {
		t.Fatal("the compressed message does not end with the shared compressed tail")
	}
}
