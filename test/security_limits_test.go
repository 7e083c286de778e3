package test

// Every limit: exceeding it gives the documented error, the server stays
// up, and other clients are untouched.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/internal/testutil"
)

// clientFrom returns an HTTP client whose connections come from local IP
// ip (any 127.x.y.z reaches a loopback listener on Linux) and are not
// kept alive, so each request is one connection.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: testutil.Patience}
	return &http.Client{Timeout: testutil.Patience, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// dialFrom opens a raw TCP connection from ip.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: testutil.Patience}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rawGet sends a GET on c and returns the status and body.
func rawGet(c net.Conn, path string) (int, http.Header, string, error) {
	_ = c.SetDeadline(time.Now().Add(testutil.Patience))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		return 0, nil, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Close {
		resp.Header.Set("Connection", "close")
	}
	return resp.StatusCode, resp.Header, string(b), nil
}

func healthFrom(t *testing.T, s *server, ip string) int {
	t.Helper()
	resp, err := clientFrom(ip).Get(s.url("/api/v1/events/health"))
	if err != nil {
		t.Fatalf("health from %s: %v", ip, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSecurityLimitConnections(t *testing.T) {
	s := startServer(t, "--max-connections-per-ip", "3", "--max-connections", "5")
	// Addresses no other client of this server uses (the harness talks from
	// 127.0.0.1), so the per-address counts are this test's alone.
	// Three idle connections from .11 fill its share.
	var held []net.Conn
	for range 3 {
		held = append(held, dialFrom(t, "127.0.0.11", s.addr))
	}
	testutil.WaitFor(t, testutil.Patience, "a fourth connection from 127.0.0.11 refused", func() error {
		c := dialFrom(t, "127.0.0.11", s.addr)
		defer c.Close()
		code, hdr, body, err := rawGet(c, "/api/v1/events/health")
		if err != nil {
			return err
		}
		if code != http.StatusTooManyRequests || !strings.Contains(body, "too many connections from your address") || hdr.Get("Connection") != "close" {
			return fmt.Errorf("got %d %q", code, body)
		}
		return nil
	})
	// Another address is untouched.
	if code := healthFrom(t, s, "127.0.0.12"); code != 200 {
		t.Fatalf("127.0.0.12 health: %d", code)
	}
	// Two more from .12 reach the total of five: .13 gets 503. A connection
	// still closing when they were opened (the health check's) may leave
	// the total at four; then one more held connection makes it five.
	held = append(held, dialFrom(t, "127.0.0.12", s.addr), dialFrom(t, "127.0.0.12", s.addr))
	extra := 0
	testutil.WaitFor(t, testutil.Patience, "a sixth connection refused", func() error {
		c := dialFrom(t, "127.0.0.13", s.addr)
		defer c.Close()
		code, _, body, err := rawGet(c, "/api/v1/events/health")
		if err != nil {
			return err
		}
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "too many connections: the server holds at most 5") {
			extra++
			held = append(held, dialFrom(t, fmt.Sprintf("127.0.0.%d", 20+extra), s.addr))
			return fmt.Errorf("got %d %q", code, body)
		}
		return nil
	})
	for _, c := range held {
		c.Close()
	}
	// Released: everyone is served again.
	testutil.WaitFor(t, testutil.Patience, "limits released", func() error {
		if code := healthFrom(t, s, "127.0.0.11"); code != 200 {
			return fmt.Errorf("health %d", code)
		}
		return nil
	})

	// WebSockets count while they are open and are released when closed.
	ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.Patience)
	defer cancel()
	wsFrom := func(ip string) (*websocket.Conn, int, error) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		c, resp, err := websocket.Dial(ctx, "ws://"+s.addr+"/ws", &websocket.DialOptions{HTTPClient: hc})
		if resp != nil {
			return c, resp.StatusCode, err
		}
		return c, 0, err
	}
	var wss []*websocket.Conn
	for range 3 {
		c, _, err := wsFrom("127.0.0.5")
		if err != nil {
			t.Fatal(err)
		}
		wss = append(wss, c)
	}
	if _, status, err := wsFrom("127.0.0.5"); err == nil || status != http.StatusTooManyRequests {
		t.Fatalf("fourth WebSocket from one address: status %d, err %v; want 429", status, err)
	}
	wss[0].Close(websocket.StatusNormalClosure, "")
	testutil.WaitFor(t, testutil.Patience, "a WebSocket slot released", func() error {
		c, status, err := wsFrom("127.0.0.5")
		if err != nil {
			return fmt.Errorf("status %d: %v", status, err)
		}
		wss = append(wss, c)
		return nil
	})
	for _, c := range wss {
		c.CloseNow()
	}
}

func TestSecurityLimitPush(t *testing.T) {
	// The connect timeout is short for the test, yet long enough that the
	// clients below, which CONNECT at once, never hit it on a busy machine.
	s := startServer(t, "--max-subscriptions", "2", "--max-frame-size", "2048", "--max-frame-headers", "8",
		"--max-header-line", "256", "--max-message-size", "4096", "--connect-timeout", "2s")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// A bystander, subscribed throughout, keeps getting snapshots.
	by, _, err := dialPush(ctx, s.addr, "ws", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer by.close()
	if err := by.sendRaw(ctx, connectFrame()); err != nil {
		t.Fatal(err)
	}
	if err := by.sendRaw(ctx, stompFrame("SUBSCRIBE", "id", "0", "destination", "/topic/metrics")); err != nil {
		t.Fatal(err)
	}
	var byMu sync.Mutex
	byMessages := 0
	byDone := make(chan error, 1)
	go func() {
		for {
			f, err := by.next(ctx)
			if err != nil {
				byDone <- err
				return
			}
			if f.command == "MESSAGE" {
				byMu.Lock()
				byMessages++
				byMu.Unlock()
			}
		}
	}()

	connected := func(t *testing.T, kind string) *pushClient {
		t.Helper()
		c, _, err := dialPush(ctx, s.addr, kind, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.sendRaw(ctx, connectFrame()); err != nil {
			t.Fatal(err)
		}
		if f, err := c.next(ctx); err != nil || f.command != "CONNECTED" {
			t.Fatalf("want CONNECTED: %v %v", f, err)
		}
		return c
	}
	for _, kind := range []string{"ws", "sockjs-ws", "xhr"} {
		t.Run(kind+" subscriptions", func(t *testing.T) {
			c := connected(t, kind)
			defer c.close()
			for i := range 3 {
				if err := c.sendRaw(ctx, stompFrame("SUBSCRIBE", "id", strconv.Itoa(i), "destination", "/topic/metrics")); err != nil {
					t.Fatal(err)
				}
			}
			for {
				f, err := c.next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if f.command == "ERROR" {
					if !strings.Contains(f.headers["message"], "too many subscriptions") {
						t.Fatalf("ERROR %v", f.headers)
					}
					break
				}
			}
			if pc, err := c.expectClosed(ctx); err != nil || pc.code != 1008 {
				t.Fatalf("close %v %v, want 1008", pc, err)
			}
		})
		t.Run(kind+" frame size", func(t *testing.T) {
			c := connected(t, kind)
			defer c.close()
			if err := c.sendRaw(ctx, "SEND\ndestination:/app/subscribe\n\n"+strings.Repeat("x", 3000)+"\x00"); err != nil {
				t.Fatal(err)
			}
			expectError(t, ctx, c, "", 1009)
		})
		t.Run(kind+" header count", func(t *testing.T) {
			c := connected(t, kind)
			defer c.close()
			var h []string
			for i := range 10 {
				h = append(h, "x"+strconv.Itoa(i), "y")
			}
			if err := c.sendRaw(ctx, stompFrame("SEND", append([]string{"destination", "/app/subscribe"}, h...)...)); err != nil {
				t.Fatal(err)
			}
			expectError(t, ctx, c, "", 1009)
		})
		t.Run(kind+" header line", func(t *testing.T) {
			c := connected(t, kind)
			defer c.close()
			if err := c.sendRaw(ctx, stompFrame("SEND", "destination", "/app/subscribe", "long", strings.Repeat("v", 300))); err != nil {
				t.Fatal(err)
			}
			expectError(t, ctx, c, "", 1009)
		})
		t.Run(kind+" connect timeout", func(t *testing.T) {
			c, _, err := dialPush(ctx, s.addr, kind, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			start := time.Now()
			expectError(t, ctx, c, "no CONNECT frame", 1008)
			// About 2 s; the bound only tells the flag from the 30 s default.
			if d := time.Since(start); d > 15*time.Second {
				t.Fatalf("closed after %s, want about 2s", d)
			}
		})
	}
	t.Run("message size websocket", func(t *testing.T) {
		c := connected(t, "ws")
		defer c.close()
		_ = c.sendRaw(ctx, strings.Repeat("x", 5000))
		pc, err := c.expectClosed(ctx)
		if err != nil || pc.code != 1009 {
			t.Fatalf("close %v %v, want 1009", pc, err)
		}
	})
	t.Run("message size xhr_send", func(t *testing.T) {
		c := connected(t, "xhr")
		b, _ := json.Marshal([]string{strings.Repeat("x", 5000)})
		status, body, err := c.post(ctx, "/xhr_send", b, nil)
		if err != nil || status != http.StatusRequestEntityTooLarge {
			t.Fatalf("xhr_send of 5000 bytes: %d %q %v; want 413", status, body, err)
		}
	})

	// The bystander saw snapshots all along and is still subscribed.
	byMu.Lock()
	before := byMessages
	byMu.Unlock()
	testutil.WaitFor(t, testutil.Patience, "bystander still receiving", func() error {
		select {
		case err := <-byDone:
			t.Fatalf("bystander ended: %v", err)
		default:
		}
		byMu.Lock()
		defer byMu.Unlock()
		if byMessages <= before || before == 0 {
			return fmt.Errorf("%d then %d messages", before, byMessages)
		}
		return nil
	})
	if code, _ := getJSON(t, s.url("/api/v1/events/health")); code != 200 {
		t.Fatalf("health %d", code)
	}
}

func TestSecurityLimitIngestRate(t *testing.T) {
	ev := []byte(`{"eventType":"rate.test","source":"rate"}`)
	post := func(c *http.Client, url, token string) (int, http.Header, string) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(ev)))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	check429 := func(t *testing.T, code int, hdr http.Header, body string) {
		t.Helper()
		if code != http.StatusTooManyRequests || !strings.Contains(body, "ingest rate limit exceeded") {
			t.Fatalf("want 429, got %d %q", code, body)
		}
		if n, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || n < 1 {
			t.Fatalf("Retry-After %q", hdr.Get("Retry-After"))
		}
	}
	// exhaust posts single events until the first 429 and returns how
	// many were accepted. The bucket starts with burst tokens and refills
	// at rate while the posts run; on a busy machine they run longer and
	// more may pass, but never more than the burst plus what the elapsed
	// time refilled. (The exact arithmetic, Retry-After included, is
	// TestRateLimiter's and TestLimitIngest's, on a fake clock.)
	exhaust := func(t *testing.T, c *http.Client, url, token string, rate float64, burst int) int {
		t.Helper()
		start := time.Now()
		for n := 0; ; n++ {
			code, hdr, body := post(c, url, token)
			if code == http.StatusAccepted {
				continue
			}
			elapsed := time.Since(start)
			check429(t, code, hdr, body)
			if most := burst + int(elapsed.Seconds()*rate); n < burst || n > most {
				t.Fatalf("%d accepted before the first 429, %s after the first post; want %d to %d", n, elapsed, burst, most)
			}
			return n
		}
	}
	t.Run("per token", func(t *testing.T) {
		// One token per 20 s: nothing refills while the test runs.
		s := startAuthServer(t, "--ingest-rate", "0.05", "--ingest-burst", "3")
		c := clientFrom("127.0.0.1")
		accepted := exhaust(t, c, s.url("/api/v1/events"), tokIngest, 0.05, 3)
		// A batch counts against the same bucket.
		code, hdr, body := post(c, s.url("/api/v1/events/batch"), tokIngest)
		check429(t, code, hdr, body)
		// Another token, same address: untouched.
		if code, _, body := post(c, s.url("/api/v1/events"), tokAdmin); code != 202 {
			t.Fatalf("admin token: %d %q", code, body)
		}
		want := float64(accepted + 1)
		testutil.WaitFor(t, testutil.Patience, fmt.Sprintf("%v events counted", want), func() error {
			_, _, b := authedDo(t, http.MethodGet, s.url("/api/v1/metrics"), tokRead, nil)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			if got := path(m, "summary.totalEvents"); got != want {
				return fmt.Errorf("totalEvents %v", got)
			}
			return nil
		})
	})
	t.Run("per address", func(t *testing.T) {
		s := startServer(t, "--ingest-rate", "1", "--ingest-burst", "2")
		a := clientFrom("127.0.0.1")
		accepted := exhaust(t, a, s.url("/api/v1/events"), "", 1, 2)
		if code, _, body := post(clientFrom("127.0.0.2"), s.url("/api/v1/events"), ""); code != 202 {
			t.Fatalf("other address: %d %q", code, body)
		}
		// Reads are not limited.
		if code, _ := getJSON(t, s.url("/api/v1/metrics")); code != 200 {
			t.Fatalf("metrics %d", code)
		}
		// A token comes back within a second: the address may ingest again.
		// Polled, not slept: a refused post takes no token.
		testutil.WaitFor(t, testutil.Patience, "a post accepted again", func() error {
			code, hdr, body := post(a, s.url("/api/v1/events"), "")
			if code == http.StatusAccepted {
				return nil
			}
			check429(t, code, hdr, body)
			return fmt.Errorf("%d, Retry-After %s", code, hdr.Get("Retry-After"))
		})
		s.waitTotal(t, float64(accepted+2))
	})
}

func TestSecurityLimitReadHeaderTimeout(t *testing.T) {
	s := startServer(t, "--read-header-timeout", "500ms")
	// A slow-loris client: headers begun, never finished.
	c := dialFrom(t, "127.0.0.1", s.addr)
	defer c.Close()
	if _, err := io.WriteString(c, "GET /api/v1/events/health HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(testutil.Patience))
	b, err := io.ReadAll(c)
	// About 500 ms; the bound only tells the flag from the 10 s default.
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("slow client held for %s (read %q, %v)", d, b, err)
	}
	if strings.Contains(string(b), "200 OK") {
		t.Fatalf("slow client got an answer: %q", b)
	}
	if code := healthFrom(t, s, "127.0.0.1"); code != 200 {
		t.Fatalf("health %d", code)
	}
}

func TestSecurityOrigins(t *testing.T) {
	s := startServer(t, "--allowed-origins", "https://app.example, http://localhost:3000")
	ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.Patience)
	defer cancel()
	get := func(path, origin string) (int, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, s.url(path), nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	for _, tc := range []struct {
		path, origin string
		want         int
	}{
		{"/api/v1/metrics", "", 200},
		{"/api/v1/metrics", "https://app.example", 200},
		{"/api/v1/metrics", "http://localhost:3000", 200},
		{"/api/v1/metrics", "http://" + s.addr, 200}, // same origin
		{"/api/v1/metrics", "https://evil.example", 403},
		{"/ws/info", "https://app.example", 200},
		{"/ws/info", "https://evil.example", 403},
	} {
		code, hdr := get(tc.path, tc.origin)
		if code != tc.want {
			t.Fatalf("%s from %q: %d, want %d", tc.path, tc.origin, code, tc.want)
		}
		if code == 200 && tc.origin != "" && hdr.Get("Access-Control-Allow-Origin") != tc.origin {
			t.Fatalf("%s from %q: ACAO %q", tc.path, tc.origin, hdr.Get("Access-Control-Allow-Origin"))
		}
	}
	for _, tc := range []struct {
		origin string
		ok     bool
	}{{"https://app.example", true}, {"https://evil.example", false}, {"http://" + s.addr, true}} {
		h := http.Header{"Origin": {tc.origin}}
		for _, kind := range []string{"ws", "sockjs-ws", "xhr"} {
			c, status, err := dialPush(ctx, s.addr, kind, "", h)
			if tc.ok != (err == nil) {
				t.Fatalf("%s from %s: status %d err %v", kind, tc.origin, status, err)
			}
			if !tc.ok && status != http.StatusForbidden {
				t.Fatalf("%s from %s: status %d, want 403", kind, tc.origin, status)
			}
			if c != nil {
				c.close()
			}
		}
	}
}
