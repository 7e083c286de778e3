package test

// Hostile input over every transport: the corpus in testdata/hostile plus
// generated giants. Afterwards the process is alive, its goroutines come
// back to where they were, and every event accepted before and after is
// counted.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/internal/testutil"
)

// corpus reads testdata/hostile/<kind>/* and adds the generated inputs.
func corpus(t *testing.T, kind string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "hostile", kind, "*"))
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	if len(out) == 0 {
		t.Fatalf("no corpus in testdata/hostile/%s", kind)
	}
	deep := func(open, close string, n int) []byte {
		return []byte(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	switch kind {
	case "event":
		out["gen_huge_string"] = []byte(`{"eventType":"` + strings.Repeat("A", 2<<20) + `","source":"b"}`)
		out["gen_huge_metadata"] = []byte(`{"eventType":"a","source":"b","metadata":{"k":"` + strings.Repeat("é", 400<<10) + `"}}`)
		out["gen_deep_metadata"] = []byte(`{"eventType":"a","source":"b","metadata":` + string(deep(`{"a":`, `}`, 100_000)) + `}`)
		out["gen_deep_array"] = deep("[", "]", 100_000)
		out["gen_many_keys"] = func() []byte {
			var b strings.Builder
			b.WriteString(`{"eventType":"a","source":"b","metadata":{`)
			for i := range 50_000 {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `"k%d":%d`, i, i)
			}
			b.WriteString(`}`)
			return []byte(b.String()) // truncated: no closing brace
		}()
	case "stomp":
		out["gen_huge_body"] = []byte("SEND\ndestination:/app/subscribe\n\n" + strings.Repeat("x", 1<<20) + "\x00")
		out["gen_huge_header"] = []byte("CONNECT\naccept-version:1.2\nx:" + strings.Repeat("h", 100<<10) + "\n\n\x00")
		out["gen_many_headers"] = []byte("CONNECT\n" + strings.Repeat("a:b\n", 10_000) + "\n\x00")
	case "sockjs":
		out["gen_huge"] = []byte(`["` + strings.Repeat("x", 1<<20) + `"]`)
		out["gen_deep"] = deep("[", "]", 100_000)
	case "http":
		out["gen_huge_header"] = []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 2<<20) + "\r\n\r\n")
		out["gen_huge_url"] = []byte("GET /api/v1/events/" + strings.Repeat("u", 2<<20) + " HTTP/1.1\r\nHost: x\r\n\r\n")
		out["gen_many_headers"] = []byte("GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-H: v\r\n", 100_000) + "\r\n")
	}
	return out
}

// goroutines reads go_goroutines from /metrics.
func goroutines(t *testing.T, s *server) int {
	t.Helper()
	code, b := do(t, http.MethodGet, s.url("/metrics"), "", nil)
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(f)
		}
	}
	t.Fatal("no go_goroutines in /metrics")
	return 0
}

func postValid(t *testing.T, s *server, n int, tag string) {
	t.Helper()
	for i := range n {
		code, m := postJSON(t, s.url("/api/v1/events"), fmt.Sprintf(`{"eventType":"hostile.%s","source":"src-%d"}`, tag, i))
		if code != http.StatusAccepted {
			t.Fatalf("valid event %s/%d: %d %v", tag, i, code, m)
		}
	}
}

// drain reads a push session until it ends or d passes.
func drain(ctx context.Context, c *pushClient, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		if _, err := c.next(ctx); err != nil {
			return
		}
	}
}

func TestHostileInput(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// Warm up one session of each kind so that lazily started goroutines
	// are in the baseline.
	for _, kind := range []string{"ws", "sockjs-ws", "xhr"} {
		c, _, err := dialPush(ctx, s.addr, kind, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.sendRaw(ctx, connectFrame())
		_, _ = c.next(ctx)
		_ = c.sendRaw(ctx, stompFrame("DISCONNECT"))
		drain(ctx, c, 2*time.Second)
		c.close()
	}
	postValid(t, s, 25, "before")
	s.waitTotal(t, 25)
	// The baseline: the count once it has stopped moving (the warm-up
	// sessions' goroutines take their time to go on a busy machine).
	base := testutil.Settled(t, testutil.Patience, "the goroutine count", 100*time.Millisecond, 5,
		func() (int, error) { return goroutines(t, s), nil })

	accepted := 0 // corpus events the server took (valid despite looking odd): counted too
	var acceptedNames []string
	var mu sync.Mutex
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f()
		}()
	}

	// Event JSON over HTTP: a 4xx every time, never a 5xx or a hang.
	for name, body := range corpus(t, "event") {
		for _, path := range []string{"/api/v1/events", "/api/v1/events/batch"} {
			run(func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url(path), bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("event %s to %s: %v", name, path, err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusAccepted:
					var m struct {
						Accepted int `json:"accepted"`
					}
					n := 1
					if json.Unmarshal(b, &m) == nil && m.Accepted > 0 {
						n = m.Accepted
					}
					mu.Lock()
					accepted += n
					acceptedNames = append(acceptedNames, name+" "+path)
					mu.Unlock()
				case resp.StatusCode < 400 || resp.StatusCode >= 500:
					t.Errorf("event %s to %s: %d %.200q", name, path, resp.StatusCode, b)
				case !json.Valid(b):
					t.Errorf("event %s to %s: %d with a non-JSON body %.200q", name, path, resp.StatusCode, b)
				}
			})
		}
	}

	// Raw HTTP requests: an answer (never 5xx) or a closed connection, in
	// bounded time.
	for name, req := range corpus(t, "http") {
		run(func() {
			c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
			if err != nil {
				t.Errorf("http %s: %v", name, err)
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(15 * time.Second))
			go func() { _, _ = c.Write(req) }()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return // closed: fine
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("http %s: %d %.200q", name, resp.StatusCode, b)
			}
		})
	}

	// STOMP frames and SockJS payloads over every push transport, as the
	// first message and after a CONNECT.
	stomp := corpus(t, "stomp")
	for _, kind := range []string{"ws", "sockjs-ws", "xhr"} {
		for name, msg := range stomp {
			for _, afterConnect := range []bool{false, true} {
				run(func() {
					c, _, err := dialPush(ctx, s.addr, kind, "", nil)
					if err != nil {
						t.Errorf("%s %s: %v", kind, name, err)
						return
					}
					defer c.close()
					if afterConnect {
						_ = c.sendRaw(ctx, connectFrame())
					}
					_ = c.sendRaw(ctx, string(msg))
					drain(ctx, c, 1500*time.Millisecond)
				})
			}
		}
	}
	for name, payload := range corpus(t, "sockjs") {
		run(func() { // as a SockJS websocket message
			c, _, err := dialPush(ctx, s.addr, "sockjs-ws", "", nil)
			if err != nil {
				t.Errorf("sockjs-ws %s: %v", name, err)
				return
			}
			defer c.close()
			_ = c.conn.Write(ctx, websocket.MessageText, payload)
			drain(ctx, c, 1500*time.Millisecond)
		})
		run(func() { // as an xhr_send body
			c, _, err := dialPush(ctx, s.addr, "xhr", "", nil)
			if err != nil {
				t.Errorf("xhr %s: %v", name, err)
				return
			}
			status, body, err := c.post(ctx, "/xhr_send", payload, nil)
			if err == nil && status >= 500 && !bytes.Contains(body, []byte("Broken JSON")) && !bytes.Contains(body, []byte("Payload expected")) {
				t.Errorf("xhr_send %s: %d %.200q", name, status, body)
			}
		})
	}
	wg.Wait()

	// Alive, events before and after all counted, goroutines back.
	select {
	case <-s.exited:
		t.Fatalf("server exited: %v\n%s", s.exitErr, tail(s.logs.String(), 4000))
	default:
	}
	postValid(t, s, 25, "after")
	total := float64(50 + accepted)
	s.waitTotal(t, total)
	if accepted > 0 {
		t.Logf("the corpus had %d acceptable events: %v", accepted, acceptedNames)
	}
	var last int
	testutil.WaitFor(t, testutil.Patience, fmt.Sprintf("goroutines back to about %d", base), func() error {
		last = goroutines(t, s)
		if last > base+10 {
			return fmt.Errorf("%d goroutines, %d before", last, base)
		}
		return nil
	})
	t.Logf("goroutines: %d before the corpus, %d after", base, last)
	if code, _ := getJSON(t, s.url("/api/v1/events/health")); code != 200 {
		t.Fatalf("health %d", code)
	}
}
