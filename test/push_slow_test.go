package test

// A subscriber that stops reading must not delay anyone else, and the
// server must eventually close it.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	be "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/internal/testutil"
)

const (
	// slowMeasure is how long the normal clients are watched while the slow
	// ones stop reading.
	slowMeasure = 8 * time.Second
	// slowCloseBy is about how long after subscribing a non-reading client
	// stays open: the transport's write timeout (10 s) plus the time for
	// the socket buffers to fill. The test waits longer on a busy machine.
	slowCloseBy = 22 * time.Second
	// maxGap is the longest wait between two snapshots a normal client may
	// see, and maxAge the oldest a snapshot may be when it arrives. What
	// they guard against is a fan-out held up by the slow clients' full
	// sockets, which would hold everyone for the write timeout (10 s). An
	// idle machine delivers within tens of milliseconds; the bounds sit far
	// above a busy machine's scheduling delays and far below that timeout.
	maxGap = 4 * time.Second
	maxAge = 3 * time.Second
)

func stompFrame(command string, headers ...string) string {
	var b strings.Builder
	b.WriteString(command + "\n")
	for i := 0; i+1 < len(headers); i += 2 {
		b.WriteString(headers[i] + ":" + headers[i+1] + "\n")
	}
	b.WriteString("\n\x00")
	return b.String()
}

// stompMessage is one parsed STOMP frame.
type stompMessage struct {
	command string
	headers map[string]string
	body    []byte
}

// parseStompFrames splits a transport message into frames (EOL heart-beats
// skipped); enough for the server's own output.
func parseStompFrames(data []byte) ([]stompMessage, error) {
	var out []stompMessage
	for len(data) > 0 {
		data = bytes.TrimLeft(data, "\r\n")
		if len(data) == 0 {
			break
		}
		head, rest, ok := bytes.Cut(data, []byte("\n\n"))
		if !ok {
			return out, fmt.Errorf("frame without a blank line: %q", data[:min(len(data), 80)])
		}
		lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
		m := stompMessage{command: lines[0], headers: map[string]string{}}
		for _, l := range lines[1:] {
			k, v, _ := strings.Cut(l, ":")
			if _, dup := m.headers[k]; !dup {
				m.headers[k] = v
			}
		}
		var body []byte
		if cl, ok := m.headers["content-length"]; ok {
			n, err := strconv.Atoi(cl)
			if err != nil || n+1 > len(rest) {
				return out, fmt.Errorf("bad content-length %q", cl)
			}
			body, data = rest[:n], rest[n+1:]
		} else {
			i := bytes.IndexByte(rest, 0)
			if i < 0 {
				return out, errors.New("frame without NUL")
			}
			body, data = rest[:i], rest[i+1:]
		}
		m.body = body
		out = append(out, m)
	}
	return out, nil
}

// arrival is one snapshot a normal client received.
type arrival struct {
	at   time.Time
	ts   int64
	size int
}

// stompReader is a normal, reading client over coder/websocket: plain STOMP
// at /ws, or SockJS's websocket transport (a[...] frames).
type stompReader struct {
	name   string
	sockjs bool
	conn   *websocket.Conn

	mu       sync.Mutex
	arrivals []arrival
	err      error
}

func dialStompReader(t *testing.T, ctx context.Context, addr, name string, sockjs bool) *stompReader {
	t.Helper()
	r := &stompReader{name: name, sockjs: sockjs}
	url := "ws://" + addr + "/ws"
	opts := &websocket.DialOptions{Subprotocols: []string{"v12.stomp", "v11.stomp", "v10.stomp"}}
	if sockjs {
		url = "ws://" + addr + "/ws/000/" + name + "/websocket"
		opts = nil
	}
	c, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", name, url, err)
	}
	c.SetReadLimit(4 << 20)
	r.conn = c
	if sockjs {
		if _, b, err := c.Read(ctx); err != nil || string(b) != "o" {
			t.Fatalf("%s: want SockJS o frame, got %q %v", name, b, err)
		}
	}
	r.send(t, ctx, stompFrame("CONNECT", "accept-version", "1.2", "host", "localhost", "heart-beat", "0,0"))
	r.send(t, ctx, stompFrame("SUBSCRIBE", "id", "sub-0", "destination", "/topic/metrics"))
	return r
}

func (r *stompReader) send(t *testing.T, ctx context.Context, frame string) {
	t.Helper()
	msg := []byte(frame)
	if r.sockjs {
		msg, _ = json.Marshal([]string{frame})
	}
	if err := r.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		t.Fatalf("%s: write: %v", r.name, err)
	}
}

// run reads until ctx ends, recording each MESSAGE's arrival.
func (r *stompReader) run(ctx context.Context) {
	for {
		_, b, err := r.conn.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.fail(fmt.Errorf("read: %w", err))
			}
			return
		}
		now := time.Now()
		payloads := [][]byte{b}
		if r.sockjs {
			switch {
			case len(b) == 1 && b[0] == 'h':
				continue
			case len(b) > 0 && b[0] == 'a':
				var msgs []string
				if err := json.Unmarshal(b[1:], &msgs); err != nil {
					r.fail(fmt.Errorf("bad a frame: %v", err))
					return
				}
				payloads = payloads[:0]
				for _, m := range msgs {
					payloads = append(payloads, []byte(m))
				}
			default:
				r.fail(fmt.Errorf("unexpected SockJS frame %q", b[:min(len(b), 80)]))
				return
			}
		}
		for _, p := range payloads {
			frames, err := parseStompFrames(p)
			if err != nil {
				r.fail(err)
				return
			}
			for _, f := range frames {
				switch f.command {
				case "CONNECTED":
				case "MESSAGE":
					ts, _ := strconv.ParseInt(f.headers["timestamp"], 10, 64)
					r.mu.Lock()
					r.arrivals = append(r.arrivals, arrival{at: now, ts: ts, size: len(f.body)})
					r.mu.Unlock()
				default:
					r.fail(fmt.Errorf("unexpected %s %v %q", f.command, f.headers, f.body))
					return
				}
			}
		}
	}
}

func (r *stompReader) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// slowConn is a WebSocket client over a raw socket with a tiny receive
// buffer, which stops reading after the handshake.
type slowConn struct {
	name string
	conn net.Conn
	br   *bufio.Reader
}

func dialSlow(t *testing.T, addr, path, protocol string) *slowConn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = setReceiveBuffer(fd, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("slow client: dial: %v", err)
	}
	key := make([]byte, 16)
	rand.Read(key)
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key) + "\r\nSec-WebSocket-Version: 13\r\n"
	if protocol != "" {
		req += "Sec-WebSocket-Protocol: " + protocol + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatalf("slow client: handshake: %v", err)
	}
	br := bufio.NewReaderSize(c, 512)
	c.SetReadDeadline(time.Now().Add(testutil.Patience))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("slow client %s: handshake response: %v", path, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("slow client %s: handshake answered %s", path, resp.Status)
	}
	c.SetReadDeadline(time.Time{})
	return &slowConn{name: path, conn: c, br: br}
}

// writeText sends one masked text frame.
func (s *slowConn) writeText(t *testing.T, payload []byte) {
	t.Helper()
	hdr := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 65536:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = be.BigEndian.AppendUint64(append(hdr, 0x80|127), uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	hdr = append(hdr, mask...)
	masked := make([]byte, len(payload))
	for i := range payload {
		masked[i] = payload[i] ^ mask[i%4]
	}
	s.conn.SetWriteDeadline(time.Now().Add(testutil.Patience))
	if _, err := s.conn.Write(append(hdr, masked...)); err != nil {
		t.Fatalf("slow client %s: write: %v", s.name, err)
	}
}

// drainUntilClosed reads everything waiting; it returns nil once the
// server has closed the connection (EOF, reset, a WebSocket close frame or a
// SockJS c frame) before the deadline.
func (s *slowConn) drainUntilClosed(deadline time.Time) (frames int, err error) {
	s.conn.SetReadDeadline(deadline)
	hdr := make([]byte, 2)
	for {
		if _, err := io.ReadFull(s.br, hdr); err != nil {
			return frames, closedOrTimeout(err, frames)
		}
		opcode := hdr[0] & 0x0f
		n := uint64(hdr[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(s.br, b[:]); err != nil {
				return frames, closedOrTimeout(err, frames)
			}
			n = uint64(be.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(s.br, b[:]); err != nil {
				return frames, closedOrTimeout(err, frames)
			}
			n = be.BigEndian.Uint64(b[:])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(s.br, payload); err != nil {
			return frames, closedOrTimeout(err, frames)
		}
		frames++
		if opcode == 0x8 || bytes.HasPrefix(payload, []byte("c[")) {
			return frames, nil
		}
	}
}

func closedOrTimeout(err error, frames int) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("still open after %d frames were drained", frames)
	}
	return nil // EOF or reset: closed by the server
}

// bigBatch is n events over many types, sources and users, so that
// snapshots carry full maps (~20 KB).
func bigBatch(n, round int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	sev := []string{"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventType":"event_type_%03d","source":"service-%03d","userId":"user-%d-%d","severity":"%s","metadata":{"latency":%d}}`,
			(i*7+round)%130, (i*11+round)%130, round, i%300, sev[i%len(sev)], 5+(i*37)%900)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func TestPushSlowConsumerDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	code, body := do(t, http.MethodPost, s.url("/api/v1/events/batch"), "application/json", bigBatch(2000, 0))
	if code/100 != 2 {
		t.Fatalf("POST batch: %d %s", code, body)
	}
	s.waitTotal(t, 2000)
	_, snap := do(t, http.MethodGet, s.url("/api/v1/metrics"), "", nil)
	t.Logf("snapshot size %d bytes", len(snap))
	if len(snap) < 15000 {
		t.Errorf("snapshot is %d bytes; the test wants ~20 KB to fill socket buffers", len(snap))
	}

	// The slow ones: plain STOMP and SockJS websocket, subscribe then never read.
	slowPlain := dialSlow(t, s.addr, "/ws", "v12.stomp")
	slowPlain.writeText(t, []byte(stompFrame("CONNECT", "accept-version", "1.2", "host", "localhost", "heart-beat", "0,0")))
	slowPlain.writeText(t, []byte(stompFrame("SUBSCRIBE", "id", "slow", "destination", "/topic/metrics")))
	slowSockJS := dialSlow(t, s.addr, "/ws/000/slowsockjs/websocket", "")
	for _, f := range []string{
		stompFrame("CONNECT", "accept-version", "1.2", "host", "localhost", "heart-beat", "0,0"),
		stompFrame("SUBSCRIBE", "id", "slow", "destination", "/topic/metrics"),
	} {
		b, _ := json.Marshal([]string{f})
		slowSockJS.writeText(t, b)
	}
	subscribed := time.Now()
	defer slowPlain.conn.Close()
	defer slowSockJS.conn.Close()

	// The normal ones.
	ctx, cancel := context.WithTimeout(context.Background(), slowMeasure+testutil.Patience)
	defer cancel()
	readers := []*stompReader{
		dialStompReader(t, ctx, s.addr, "plain", false),
		dialStompReader(t, ctx, s.addr, "sockjs", true),
	}
	runCtx, stopRun := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, r := range readers {
		wg.Add(1)
		go func() { defer wg.Done(); r.run(runCtx) }()
	}
	start := time.Now()
	for round := 1; time.Since(start) < slowMeasure; round++ {
		code, body := do(t, http.MethodPost, s.url("/api/v1/events/batch"), "application/json", bigBatch(300, round))
		if code/100 != 2 {
			t.Errorf("POST batch: %d %s", code, body)
		}
		time.Sleep(250 * time.Millisecond) // the load's pace: snapshots keep changing
	}
	stopRun()
	for _, r := range readers {
		r.conn.Close(websocket.StatusNormalClosure, "")
	}
	wg.Wait()

	for _, r := range readers {
		r.mu.Lock()
		arr, err := r.arrivals, r.err
		r.mu.Unlock()
		if err != nil {
			t.Errorf("%s client: %v", r.name, err)
		}
		// One snapshot a tick; a tick late here and there is no failure.
		if want := int(slowMeasure/time.Second) - 2; len(arr) < want {
			t.Errorf("%s client: %d snapshots in %s, want ≥ %d", r.name, len(arr), slowMeasure, want)
		}
		maxSize := 0
		for i, a := range arr {
			maxSize = max(maxSize, a.size)
			if age := a.at.Sub(time.UnixMilli(a.ts)); a.ts == 0 || age > maxAge {
				t.Errorf("%s client: snapshot %d arrived %s after its timestamp %d, want ≤ %s", r.name, i, age, a.ts, maxAge)
			}
			if i > 0 {
				if gap := a.at.Sub(arr[i-1].at); gap > maxGap {
					t.Errorf("%s client: %s between snapshots %d and %d, want ≤ %s", r.name, gap, i-1, i, maxGap)
				}
			}
		}
		t.Logf("%s client: %d snapshots, largest %d bytes", r.name, len(arr), maxSize)
	}

	// The slow ones must be closed by the server while they do not read.
	// Watched from the server's side (its open sessions: the normal
	// clients are gone), never by reading them, which would make them
	// readers again.
	testutil.WaitFor(t, time.Until(subscribed.Add(slowCloseBy))+testutil.Patience, "the server to close the non-reading clients", func() error {
		if n, _ := s.promSum(t, "eventara_connections"); n != 0 {
			return fmt.Errorf("%v sessions open", n)
		}
		return nil
	})
	t.Logf("the non-reading clients were closed within %s of subscribing", time.Since(subscribed).Round(time.Second))
	for _, sc := range []*slowConn{slowPlain, slowSockJS} {
		n, err := sc.drainUntilClosed(time.Now().Add(testutil.Patience))
		if err != nil {
			t.Errorf("slow client %s: not closed by the server: %v", sc.name, err)
		} else {
			t.Logf("slow client %s: closed by the server; %d frames were still buffered", sc.name, n)
		}
	}
	if t.Failed() {
		t.Logf("server log (tail):\n%s", tail(s.logs.String(), 40))
	}
}
