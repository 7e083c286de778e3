package main

import (
	"bufio"
	"bytes"
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
			if err := subscribe(u.Host, *transport, i, stats, &measuring, stop); err != nil {
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
	stats.mu.Lock()
	stats.latencies = stats.latencies[:0]
	stats.mu.Unlock()
	stats.messages.Store(0)
	stats.gaps.Store(0)
	measuring.Store(true)
	time.Sleep(*duration)
	measuring.Store(false)
	msgs := stats.messages.Load()
	end, err := procBefore(*pid)
	if err != nil {
		return err
	}
	close(stop)
	wg.Wait()

	stats.mu.Lock()
	lats := slices.Clone(stats.latencies)
	stats.mu.Unlock()
	slices.Sort(lats)
	fmt.Printf("fanout: %d subscribers over %s, snapshot %d bytes, measured %s (ramp-up %s)\n",
		*n, *transport, size, *duration, ramp.Round(time.Millisecond))
	fmt.Printf("  subscribed        %d (%d errors", stats.connected.Load(), stats.errors.Load())
	if e, ok := stats.firstErr.Load().(string); ok {
		fmt.Printf("; first: %s", e)
	}
	fmt.Printf(")\n")
	fmt.Printf("  messages          %d (%.0f/s), gaps %d\n", msgs, float64(msgs)/duration.Seconds(), stats.gaps.Load())
	fmt.Printf("  tick-to-receipt   p50 %s  p99 %s  max %s\n", percentile(lats, 50), percentile(lats, 99), percentile(lats, 100))
	if *pid != 0 && msgs > 0 {
		cpu := end.CPU - mid.CPU
		fmt.Printf("  server CPU        %s over the run, %s per delivered message\n", cpu, cpu/time.Duration(msgs))
		fmt.Printf("  server RSS        %.1f MiB before connections, %.1f MiB with them: %.1f KiB per subscriber\n",
			float64(before.RSS)/(1<<20), float64(mid.RSS)/(1<<20), float64(mid.RSS-before.RSS)/1024/float64(max(stats.connected.Load(), 1)))
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

// subscribe runs one subscriber until stop: a WebSocket handshake (plain
// /ws with v12.stomp, or SockJS /ws/<server>/<session>/websocket), STOMP
// CONNECT and SUBSCRIBE, then it reads MESSAGE frames and records the
// latency from their timestamp header.
func subscribe(host, transport string, i int, st *fanoutStats, measuring *atomic.Bool, stop chan struct{}) error {
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
	if err := wsHandshake(conn, br, host, path); err != nil {
		return err
	}
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
	for {
		msg, err := wsReadMessage(br)
		if err != nil {
			select {
			case <-stop:
				return nil
			default:
			}
			return fmt.Errorf("read: %w", err)
		}
		now := time.Now()
		for _, ts := range messageTimestamps(msg) {
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
		if bytes.HasPrefix(msg, []byte("ERROR")) || bytes.HasPrefix(msg, []byte("c[")) {
			return fmt.Errorf("server closed: %.120q", msg)
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

func wsHandshake(conn net.Conn, br *bufio.Reader, host, path string) error {
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	k := base64.StdEncoding.EncodeToString(key)
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + k + "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n"
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("handshake: status %d", resp.StatusCode)
	}
	_ = conn.SetDeadline(time.Time{})
	return nil
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

// wsReadMessage reads one whole (unmasked, server) message, skipping
// control frames; continuation frames are joined.
func wsReadMessage(br *bufio.Reader) ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(br, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(br, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 16<<20 {
			return nil, errors.New("frame too large")
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			return nil, err
		}
		if op == 0x8 {
			return nil, fmt.Errorf("close frame %q", payload)
		}
		if op >= 0x8 { // ping/pong: no reply needed for this tool
			continue
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}
