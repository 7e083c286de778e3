package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fanoutStats collects what the subscribers saw.
type fanoutStats struct {
	mu        sync.Mutex
	latencies []time.Duration // tick (the MESSAGE timestamp header) to receipt
	messages  atomic.Int64
	gaps      atomic.Int64 // a tick missing between two messages of one subscriber
	errors    atomic.Int64
	malformed atomic.Int64 // messages that did not decode (compressed ones included)
	verified  atomic.Int64 // compressed messages inflated in full and checked
	deflated  atomic.Int64 // subscribers whose server agreed to permessage-deflate
	connected atomic.Int64
	firstErr  atomic.Value
}

func (s *fanoutStats) fail(err error) {
	s.errors.Add(1)
	s.firstErr.CompareAndSwap(nil, err.Error())
}

func runFanout(args []string) error {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	n := fs.Int("subscribers", 1000, "STOMP subscribers of /topic/metrics, one connection each")
	transport := fs.String("transport", "websocket", "websocket (plain STOMP over WebSocket at /ws) or sockjs (SockJS websocket transport)")
	duration := fs.Duration("duration", 20*time.Second, "how long to measure once everyone is subscribed")
	rate := fs.Int("connect-rate", 1000, "new connections per second while ramping up")
	pid := fs.Int("server-pid", 0, "the server's pid, to read its CPU time and RSS from /proc")
	realistic := fs.Bool("realistic", false, "first POST events with 150 types, 150 sources and 5,000 users so snapshots are about 20 KB")
	deflate := fs.Bool("deflate", true, "offer permessage-deflate (client_no_context_takeover; server_no_context_takeover) as browsers and Node's ws do")
	cpuProfile := fs.String("cpuprofile", "", "write the load tool's own CPU profile of the measured period to this file")
	verifyEvery := fs.Int("verify-every", 100, "every Nth subscriber inflates each compressed message in full and checks it; the others inflate only up to the timestamp header")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *transport != "websocket" && *transport != "sockjs" {
		return fmt.Errorf("--transport must be websocket or sockjs")
	}
	u, err := url.Parse(*base)
	if err != nil {
		return err
	}
	if *realistic {
		if err := seedRealistic(*base); err != nil {
			return err
		}
	}
	size, err := snapshotSize(*base)
	if err != nil {
		return err
	}

	before, err := procBefore(*pid)
	if err != nil {
		return err
	}
	stats := &fanoutStats{}
	opts := subOptions{deflate: *deflate, verifyEvery: max(*verifyEvery, 1)}
	var measuring atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(max(*rate, 1)))
	rampStart := time.Now()
	for i := 0; i < *n; i++ {
		<-tick.C
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := subscribe(u.Host, *transport, i, opts, stats, &measuring, stop); err != nil {
				stats.fail(err)
			}
		}(i)
	}
	tick.Stop()
	// Wait until everyone is subscribed (or has failed), then settle.
	deadline := time.Now().Add(60 * time.Second)
	for stats.connected.Load()+stats.errors.Load() < int64(*n) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	ramp := time.Since(rampStart)
	time.Sleep(2 * time.Second)
	mid, err := procBefore(*pid)
	if err != nil {
		return err
	}
	selfMid, _ := readProc(os.Getpid())
	stats.mu.Lock()
	stats.latencies = stats.latencies[:0]
	stats.mu.Unlock()
	stats.messages.Store(0)
	stats.gaps.Store(0)
	stats.verified.Store(0)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	measuring.Store(true)
	time.Sleep(*duration)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	measuring.Store(false)
	msgs := stats.messages.Load()
	end, err := procBefore(*pid)
	if err != nil {
		return err
	}
	selfEnd, _ := readProc(os.Getpid())
	close(stop)
	wg.Wait()

	stats.mu.Lock()
	lats := slices.Clone(stats.latencies)
	stats.mu.Unlock()
	slices.Sort(lats)
	fmt.Printf("fanout: %d subscribers over %s, snapshot %d bytes, measured %s (ramp-up %s)\n",
		*n, *transport, size, *duration, ramp.Round(time.Millisecond))
	fmt.Printf("  subscribed        %d (%d errors, %d with permessage-deflate", stats.connected.Load(), stats.errors.Load(), stats.deflated.Load())
	if e, ok := stats.firstErr.Load().(string); ok {
		fmt.Printf("; first: %s", e)
	}
	fmt.Printf(")\n")
	fmt.Printf("  messages          %d (%.0f/s), gaps %d, malformed %d (%d compressed ones inflated in full)\n",
		msgs, float64(msgs)/duration.Seconds(), stats.gaps.Load(), stats.malformed.Load(), stats.verified.Load())
	fmt.Printf("  tick-to-receipt   p50 %s  p99 %s  max %s\n", percentile(lats, 50), percentile(lats, 99), percentile(lats, 100))
	if *pid != 0 && msgs > 0 {
		cpu := end.CPU - mid.CPU
		fmt.Printf("  server CPU        %s over the run, %s per delivered message\n", cpu, cpu/time.Duration(msgs))
		fmt.Printf("  server RSS        %.1f MiB before connections, %.1f MiB with them: %.1f KiB per subscriber\n",
			float64(before.RSS)/(1<<20), float64(mid.RSS)/(1<<20), float64(mid.RSS-before.RSS)/1024/float64(max(stats.connected.Load(), 1)))
	}
	if msgs > 0 {
		cpu := selfEnd.CPU - selfMid.CPU
		fmt.Printf("  load tool CPU     %s over the run, %s per message (same cores as the server)\n", cpu, cpu/time.Duration(msgs))
	}
	return nil
}

// seedRealistic posts events so the snapshot's maps are full: about 20 KB.
func seedRealistic(base string) error {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < 5000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventType":"event_type_%d","source":"service-%d","userId":"user-%d","severity":"%s","metadata":{"latency":%d}}`,
			i%150, (i*7)%150, i, []string{"INFO", "INFO", "WARNING", "ERROR", "DEBUG"}[i%5], 3+i%400)
	}
	b.WriteByte(']')
	resp, err := http.Post(base+"/api/v1/events/batch", "application/json", strings.NewReader(b.String()))
	if err != nil {
		return fmt.Errorf("seed events: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("seed events: status %d", resp.StatusCode)
	}
	time.Sleep(1500 * time.Millisecond) // one tick, so the snapshot shows them
	return nil
}

func snapshotSize(base string) (int, error) {
	resp, err := http.Get(base + "/api/v1/metrics")
	if err != nil {
		return 0, fmt.Errorf("get metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return len(b), err
}

// subOptions shapes each subscriber.
type subOptions struct {
	deflate     bool // offer permessage-deflate
	verifyEvery int  // every Nth subscriber inflates each message in full
}

// subscribe runs one subscriber until stop: a WebSocket handshake (plain
// /ws with v12.stomp, or SockJS /ws/<server>/<session>/websocket), STOMP
// CONNECT and SUBSCRIBE, then it reads MESSAGE frames and records the
// latency from their timestamp header. Compressed (RSV1) messages are
// inflated only up to the timestamp header, or in full and checked by
// every opts.verifyEvery-th subscriber.
func subscribe(host, transport string, i int, opts subOptions, st *fanoutStats, measuring *atomic.Bool, stop chan struct{}) error {
	path := "/ws"
	if transport == "sockjs" {
		path = fmt.Sprintf("/ws/%03d/b%08d/websocket", i%1000, i)
	}
	conn, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	go func() { <-stop; conn.Close() }()
	br := bufio.NewReaderSize(conn, 32<<10)
	deflated, err := wsHandshake(conn, br, host, path, opts.deflate)
	if err != nil {
		return err
	}
	if deflated {
		st.deflated.Add(1)
	}
	verify := i%opts.verifyEvery == 0
	connect := "CONNECT\naccept-version:1.2\nhost:eventara\nheart-beat:0,0\n\n\x00"
	sub := "SUBSCRIBE\nid:sub-0\ndestination:/topic/metrics\n\n\x00"
	if transport == "sockjs" {
		connect, sub = sockjsWrap(connect), sockjsWrap(sub)
	}
	if err := wsWriteText(conn, []byte(connect)); err != nil {
		return err
	}
	if err := wsWriteText(conn, []byte(sub)); err != nil {
		return err
	}
	subscribed := false
	var lastTS int64
	var buf []byte
	for {
		msg, compressed, err := wsReadMessage(br, buf[:0])
		if err != nil {
			select {
			case <-stop:
				return nil
			default:
			}
			return fmt.Errorf("read: %w", err)
		}
		buf = msg
		now := time.Now()
		var tss []int64
		if compressed {
			if !deflated {
				return errors.New("RSV1 set on a message but permessage-deflate was not negotiated")
			}
			var ok bool
			tss, ok = inflateTimestamp(msg, transport == "sockjs", verify, st)
			if !ok {
				st.malformed.Add(1)
				st.fail(fmt.Errorf("malformed compressed message (%d bytes)", len(msg)))
				continue
			}
		} else {
			tss = messageTimestamps(msg)
		}
		for _, ts := range tss {
			if !subscribed {
				subscribed = true
				st.connected.Add(1)
			}
			if measuring.Load() {
				st.messages.Add(1)
				st.mu.Lock()
				st.latencies = append(st.latencies, now.Sub(time.UnixMilli(ts)))
				st.mu.Unlock()
				if lastTS != 0 && ts-lastTS > 1500 {
					st.gaps.Add((ts - lastTS - 500) / 1000)
				}
			}
			lastTS = ts
		}
		if !compressed && (bytes.HasPrefix(msg, []byte("ERROR")) || bytes.HasPrefix(msg, []byte("c["))) {
			return fmt.Errorf("server closed: %.120q", msg)
		}
	}
}

// inflaters are shared by all subscribers: inflating is short, so a
// reader's 40 KB state need not be kept per connection.
var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// syncTail is the end of a permessage-deflate message that the sender
// removes (RFC 7692 section 7.2.2).
var syncTail = []byte{0, 0, 0xff, 0xff}

// inflateTimestamp reads the timestamp of the one MESSAGE in a compressed
// message. Unless full is set it inflates only a prefix: compress/flate
// decodes a whole block before returning anything, so it is handed only
// the first few hundred compressed bytes (it returns what it decoded
// before running out), and more only if the header was not among them.
// With full it inflates everything and checks the frame's end.
func inflateTimestamp(msg []byte, sockjs, full bool, st *fanoutStats) ([]int64, bool) {
	fr := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(fr)
	n := len(msg)
	msg = append(msg, syncTail...)
	prefix := "MESSAGE\n"
	if sockjs {
		prefix = `a["MESSAGE\n`
	}
	if full {
		if err := fr.(flate.Resetter).Reset(bytes.NewReader(msg), nil); err != nil {
			return nil, false
		}
		b, err := io.ReadAll(fr)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, false
		}
		end := "\x00"
		if sockjs {
			end = `\u0000"]`
		}
		if !bytes.HasPrefix(b, []byte(prefix)) || !bytes.HasSuffix(b, []byte(end)) {
			return nil, false
		}
		tss := messageTimestamps(b)
		if len(tss) != 1 {
			return nil, false
		}
		st.verified.Add(1)
		return tss, true
	}
	var out [2048]byte
	for k := 256; ; k *= 4 {
		in := msg
		if k < n {
			in = msg[:k]
		}
		if err := fr.(flate.Resetter).Reset(bytes.NewReader(in), nil); err != nil {
			return nil, false
		}
		m := 0
		for m < len(out) {
			r, err := fr.Read(out[m:])
			m += r
			if err != nil {
				break
			}
		}
		if i := bytes.Index(out[:m], []byte("timestamp:")); i >= 0 {
			j := i + len("timestamp:")
			for j < m && out[j] >= '0' && out[j] <= '9' {
				j++
			}
			if j < m { // the value is complete
				if !bytes.HasPrefix(out[:m], []byte(prefix)) {
					return nil, false
				}
				tss := messageTimestamps(out[:m])
				return tss, len(tss) == 1
			}
		}
		if k >= n {
			return nil, false
		}
	}
}

// messageTimestamps finds each MESSAGE frame's timestamp header in one
// transport message (a SockJS a[...] frame may hold several).
func messageTimestamps(msg []byte) []int64 {
	var out []int64
	for {
		i := bytes.Index(msg, []byte("MESSAGE"))
		if i < 0 {
			return out
		}
		msg = msg[i+7:]
		j := bytes.Index(msg, []byte("timestamp:"))
		if j < 0 {
			return out
		}
		msg = msg[j+10:]
		k := 0
		for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
			k++
		}
		if ts, err := strconv.ParseInt(string(msg[:k]), 10, 64); err == nil {
			out = append(out, ts)
		}
	}
}

func sockjsWrap(frame string) string {
	q := strconv.Quote(frame) // STOMP control frames here are ASCII: Go quoting is JSON quoting
	q = strings.ReplaceAll(q, `\x00`, `\u0000`)
	return "[" + q + "]"
}

// wsHandshake upgrades conn, offering permessage-deflate when deflate is
// set, and says whether the server accepted it. Only
// server_no_context_takeover is supported: each message then inflates on
// its own.
func wsHandshake(conn net.Conn, br *bufio.Reader, host, path string, deflate bool) (bool, error) {
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	k := base64.StdEncoding.EncodeToString(key)
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + k + "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v12.stomp\r\n"
	if deflate {
		req += "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n"
	}
	req += "\r\n"
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		return false, fmt.Errorf("handshake: %w", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false, fmt.Errorf("handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return false, fmt.Errorf("handshake: status %d", resp.StatusCode)
	}
	_ = conn.SetDeadline(time.Time{})
	ext := resp.Header.Get("Sec-WebSocket-Extensions")
	if ext == "" {
		return false, nil
	}
	if !deflate || !strings.HasPrefix(ext, "permessage-deflate") {
		return false, fmt.Errorf("handshake: unexpected extension %q", ext)
	}
	if !strings.Contains(ext, "server_no_context_takeover") {
		return false, fmt.Errorf("handshake: server keeps its deflate context (%q): unsupported", ext)
	}
	return true, nil
}

// wsWriteText writes one masked client text frame.
func wsWriteText(conn net.Conn, p []byte) error {
	var hdr []byte
	switch {
	case len(p) < 126:
		hdr = []byte{0x81, 0x80 | byte(len(p))}
	case len(p) < 1<<16:
		hdr = []byte{0x81, 0x80 | 126, byte(len(p) >> 8), byte(len(p))}
	default:
		hdr = make([]byte, 10)
		hdr[0], hdr[1] = 0x81, 0x80|127
		binary.BigEndian.PutUint64(hdr[2:], uint64(len(p)))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	out := append(hdr, mask[:]...)
	for i, b := range p {
		out = append(out, b^mask[i%4])
	}
	_, err := conn.Write(out)
	return err
}

// wsReadMessage reads one whole (unmasked, server) message into buf,
// skipping control frames; continuation frames are joined. compressed is
// the first frame's RSV1 bit (permessage-deflate).
func wsReadMessage(br *bufio.Reader, buf []byte) (msg []byte, compressed bool, err error) {
	msg = buf[:0]
	first := true
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return nil, false, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(br, b[:]); err != nil {
				return nil, false, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(br, b[:]); err != nil {
				return nil, false, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 16<<20 {
			return nil, false, errors.New("frame too large")
		}
		if op >= 0x8 { // control frame
			payload := make([]byte, n)
			if _, err := io.ReadFull(br, payload); err != nil {
				return nil, false, err
			}
			if op == 0x8 {
				return nil, false, fmt.Errorf("close frame %q", payload)
			}
			continue // ping/pong: no reply needed for this tool
		}
		if first {
			compressed = h[0]&0x40 != 0
			first = false
		}
		l := len(msg)
		msg = slices.Grow(msg, int(n)+len(syncTail))[:l+int(n)]
		if _, err := io.ReadFull(br, msg[l:]); err != nil {
			return nil, false, err
		}
		if fin {
			return msg, compressed, nil
		}
	}
}
