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
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
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
	latencies []time.Duration         // tick (the MESSAGE timestamp header) to receipt
	tickLast  map[int64]time.Duration // by tick (timestamp): its slowest receipt
	messages  atomic.Int64
	gaps      atomic.Int64 // a tick missing between two messages of one subscriber
	errors    atomic.Int64
	malformed atomic.Int64 // messages that did not decode (compressed ones included)
	verified  atomic.Int64 // compressed messages inflated in full and checked
	deflated  atomic.Int64 // subscribers whose server agreed to permessage-deflate
	connected atomic.Int64
	firstErr  atomic.Value
}

// fail counts err; the first is kept before it is counted, so a reader
// that sees the count sees it.
func (s *fanoutStats) fail(err error) {
	s.firstErr.CompareAndSwap(nil, err.Error())
	s.errors.Add(1)
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
	perTick := fs.Bool("per-tick", false, "also print each tick's build time and slowest receipt")
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
	// Room for every latency of the run up front: growing a large slice
	// while measuring would cost page faults on the server's cores.
	stats := &fanoutStats{latencies: make([]time.Duration, 0, int(float64(*n)*(duration.Seconds()+5)))}
	opts := subOptions{deflate: *deflate, verifyEvery: max(*verifyEvery, 1)}
	var measuring atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	readers := make([]*reader, runtime.GOMAXPROCS(0))
	for i := range readers {
		if readers[i], err = newReader(stats, &measuring); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			readers[i].run(stop)
		}()
	}
	tick := time.NewTicker(time.Second / time.Duration(max(*rate, 1)))
	rampStart := time.Now()
	for i := 0; i < *n; i++ {
		<-tick.C
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := subscribe(u.Host, *transport, i, opts, readers[i%len(readers)]); err != nil {
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
	stats.tickLast = make(map[int64]time.Duration)
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
	var lasts []time.Duration
	for _, d := range stats.tickLast {
		lasts = append(lasts, d)
	}
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
	fmt.Printf("  tick-to-receipt   min %s  p50 %s  p99 %s  max %s\n", percentile(lats, 0), percentile(lats, 50), percentile(lats, 99), percentile(lats, 100))
	if *perTick {
		ticks := slices.Sorted(maps.Keys(stats.tickLast))
		for _, ts := range ticks {
			fmt.Printf("    tick %s  slowest receipt %s\n", time.UnixMilli(ts).UTC().Format("15:04:05.000"), stats.tickLast[ts].Round(time.Millisecond))
		}
	}
	slices.Sort(lasts)
	fmt.Printf("  last receipt      per tick (%d ticks): fastest %s  median %s  slowest %s\n", len(lasts), percentile(lasts, 0), percentile(lasts, 50), percentile(lasts, 100))
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

// subscribe opens one subscriber: a WebSocket handshake (plain /ws with
// v12.stomp, or SockJS /ws/<server>/<session>/websocket), STOMP CONNECT and
// SUBSCRIBE; then it hands the connection to rd, which reads it until stop.
func subscribe(host, transport string, i int, opts subOptions, rd *reader) error {
	path := "/ws"
	if transport == "sockjs" {
		path = fmt.Sprintf("/ws/%03d/b%08d/websocket", i%1000, i)
	}
	conn, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	handed := false // to rd, which closes it from then on
	defer func() {
		if !handed {
			conn.Close()
		}
	}()
	br := bufio.NewReaderSize(conn, 4<<10)
	deflated, err := wsHandshake(conn, br, host, path, opts.deflate)
	if err != nil {
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
	pending, _ := br.Peek(br.Buffered())
	handed = true
	return rd.add(conn, &subscriber{
		sockjs:   transport == "sockjs",
		deflated: deflated,
		verify:   i%opts.verifyEvery == 0,
		buf:      slices.Clone(pending),
	})
}

// record takes one whole WebSocket message of sub, received at now: it
// finds the MESSAGE frames' timestamps (inflating a compressed message as
// far as needed) and counts them.
func (sub *subscriber) record(msg []byte, compressed bool, now time.Time, st *fanoutStats, measuring *atomic.Bool) error {
	var ts int64
	if compressed {
		if !sub.deflated {
			return errors.New("RSV1 set on a message but permessage-deflate was not negotiated")
		}
		var ok bool
		ts, ok = inflateTimestamp(msg, sub.sockjs, sub.verify, st)
		if !ok {
			st.malformed.Add(1)
			st.fail(fmt.Errorf("malformed compressed message (%d bytes)", len(msg)))
			return nil
		}
		sub.count(ts, now, st, measuring)
		return nil
	}
	for _, ts := range messageTimestamps(msg) {
		sub.count(ts, now, st, measuring)
	}
	if bytes.HasPrefix(msg, []byte("ERROR")) || bytes.HasPrefix(msg, []byte("c[")) {
		return fmt.Errorf("server closed: %.120q", msg)
	}
	return nil
}

func (sub *subscriber) count(ts int64, now time.Time, st *fanoutStats, measuring *atomic.Bool) {
	if !sub.subscribed {
		sub.subscribed = true
		st.connected.Add(1)
		if sub.deflated {
			st.deflated.Add(1)
		}
	}
	if measuring.Load() {
		st.messages.Add(1)
		st.mu.Lock()
		lat := now.Sub(time.UnixMilli(ts))
		st.latencies = append(st.latencies, lat)
		if st.tickLast != nil && lat > st.tickLast[ts] {
			st.tickLast[ts] = lat
		}
		st.mu.Unlock()
		if sub.lastTS != 0 && ts-sub.lastTS > 1500 {
			st.gaps.Add((ts - sub.lastTS - 500) / 1000)
		}
	}
	sub.lastTS = ts
}

// inflaters are shared by all subscribers: inflating is short, so a
// reader's 40 KB state need not be kept per connection.
var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// syncTail is the end of a permessage-deflate message that the sender
// removes (RFC 7692 section 7.2.2).
var syncTail = []byte{0, 0, 0xff, 0xff}

// inflateTimestamp reads the timestamp of the one MESSAGE in a compressed
// message (msg is not changed). Unless full is set it looks the shared
// compressed tail up in tails, or inflates only a prefix: compress/flate
// decodes a whole block before returning anything, so it is handed only
// the first few hundred compressed bytes (it returns what it decoded
// before running out), and more only if the header was not among them.
// With full it inflates everything and checks the frame's end.
func inflateTimestamp(msg []byte, sockjs, full bool, st *fanoutStats) (int64, bool) {
	prefix := "MESSAGE\n"
	if sockjs {
		prefix = `a["MESSAGE\n`
	}
	head, tail, stored := storedHead(msg)
	stored = stored && bytes.HasPrefix(head, []byte(prefix))
	if !full && stored {
		if ts, hit := tails.lookup(tail); hit {
			return ts, true
		}
	}
	fr := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(fr)
	in := append(append(make([]byte, 0, len(msg)+len(syncTail)), msg...), syncTail...)
	if full {
		if err := fr.(flate.Resetter).Reset(bytes.NewReader(in), nil); err != nil {
			return 0, false
		}
		b, err := io.ReadAll(fr)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, false
		}
		end := "\x00"
		if sockjs {
			end = `\u0000"]`
		}
		if !bytes.HasPrefix(b, []byte(prefix)) || !bytes.HasSuffix(b, []byte(end)) {
			return 0, false
		}
		tss := messageTimestamps(b)
		if len(tss) != 1 {
			return 0, false
		}
		st.verified.Add(1)
		return tss[0], true
	}
	ts, ok := inflatePrefix(fr, in, len(msg), prefix)
	if ok && stored {
		// Cache the tail only if it inflates to the same timestamp on its
		// own: then the timestamp comes from the tail's bytes alone.
		alone := append(slices.Clone(tail), syncTail...)
		if t, ok := inflatePrefix(fr, alone, len(tail), ""); ok && t == ts {
			tails.store(tail, ts)
		}
	}
	return ts, ok
}

// inflatePrefix inflates msg (n compressed bytes, then the sync tail) only
// as far as the timestamp header of the one MESSAGE in it, checks the
// output starts with prefix, and returns the timestamp. An empty prefix
// reads a tail on its own: the first timestamp header in it.
func inflatePrefix(fr io.ReadCloser, msg []byte, n int, prefix string) (int64, bool) {
	var out [2048]byte
	for k := 256; ; k *= 4 {
		in := msg
		if k < n {
			in = msg[:k]
		}
		if err := fr.(flate.Resetter).Reset(bytes.NewReader(in), nil); err != nil {
			return 0, false
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
					return 0, false
				}
				if prefix == "" {
					ts, err := strconv.ParseInt(string(out[i+len("timestamp:"):j]), 10, 64)
					return ts, err == nil
				}
				tss := messageTimestamps(out[:m])
				if len(tss) != 1 {
					return 0, false
				}
				return tss[0], true
			}
		}
		if k >= n {
			return 0, false
		}
	}
}

// tails remembers the timestamps of the compressed tails seen last.
//
// Eventara compresses each tick's shared bytes once and puts each
// subscriber's own headers in front of them as a stored (uncompressed)
// DEFLATE block, so 10,000 subscribers receive the same compressed tail.
// Inflating it 10,000 times would cost the load tool, which shares the
// server's two cores, ~7 µs per message and load the server's figures with
// the tool's work; equal bytes inflate to equal output, so a tail whose
// timestamp was found once (by inflating it on its own, which proves it
// refers to no byte before it) is looked up instead. Every verify-every-th
// subscriber still inflates each message in full and checks it.
var tails tailCache

type tailCache struct {
	mu      sync.Mutex
	entries [4]struct {
		tail []byte
		ts   int64
	}
	next int
}

func (c *tailCache) lookup(tail []byte) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.tail != nil && bytes.Equal(e.tail, tail) {
			return e.ts, true
		}
	}
	return 0, false
}

func (c *tailCache) store(tail []byte, ts int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[c.next].tail, c.entries[c.next].ts = slices.Clone(tail), ts
	c.next = (c.next + 1) % len(c.entries)
}

// storedHead splits a compressed message that starts with one non-final
// stored block (RFC 1951 section 3.2.4: a zero header byte, LEN, NLEN) into
// that block's bytes and the rest.
func storedHead(msg []byte) (head, rest []byte, ok bool) {
	if len(msg) < 5 || msg[0] != 0 {
		return nil, nil, false
	}
	ln := int(binary.LittleEndian.Uint16(msg[1:3]))
	if binary.LittleEndian.Uint16(msg[3:5]) != ^uint16(ln) || 5+ln > len(msg) {
		return nil, nil, false
	}
	return msg[5 : 5+ln], msg[5+ln:], true
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
