package test

// Authentication: every role against every endpoint and STOMP action,
// over HTTP, a plain WebSocket and SockJS (websocket and xhr transports).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/internal/testutil"
)

// Tokens of the security tests, one per role.
const (
	tokIngest = "ingest-6f1d2c0b9a"
	tokRead   = "read-0c5e7b3f2d"
	tokAdmin  = "admin-9e8d7c6b5a"
)

// startAuthServer starts eventara with the three tokens, from a file and
// from EVENTARA_AUTH_TOKENS.
func startAuthServer(t *testing.T, args ...string) *server {
	t.Helper()
	file := filepath.Join(t.TempDir(), "tokens")
	text := "# test tokens\n" + tokIngest + " ingest\n" + tokRead + " read  # a comment\n"
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EVENTARA_AUTH_TOKENS", tokAdmin+" admin")
	return startServer(t, append([]string{"--auth-tokens-file", file}, args...)...)
}

// authedDo sends a request with an optional bearer token.
func authedDo(t testing.TB, method, url, token string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

var roleTokens = []struct {
	name, token string
}{{"none", ""}, {"bad", "not-a-token"}, {"ingest", tokIngest}, {"read", tokRead}, {"admin", tokAdmin}}

// allowed says whether role may do what needs need ("" = open).
func allowed(role, need string) bool {
	switch {
	case need == "":
		return true
	case role == "admin":
		return true
	}
	return role == need
}

func TestSecurityAuthMatrixHTTP(t *testing.T) {
	s := startAuthServer(t)
	ev := []byte(`{"eventType":"auth.test","source":"matrix"}`)
	endpoints := []struct {
		method, path string
		body         []byte
		need         string
		okStatus     int
	}{
		{http.MethodGet, "/api/v1/events/health", nil, "", 200},
		{http.MethodPost, "/api/v1/events", ev, "ingest", 202},
		{http.MethodPost, "/api/v1/events/batch", []byte(`[` + string(ev) + `]`), "ingest", 202},
		{http.MethodGet, "/api/v1/events", nil, "read", 200},
		{http.MethodGet, "/api/v1/events/type/auth.test", nil, "read", 200},
		{http.MethodGet, "/api/v1/metrics", nil, "read", 200},
		{http.MethodPost, "/api/v1/metrics/reset", nil, "admin", 200},
	}
	for _, e := range endpoints {
		for _, r := range roleTokens {
			t.Run(r.name+" "+e.method+" "+e.path, func(t *testing.T) {
				code, hdr, body := authedDo(t, e.method, s.url(e.path), r.token, e.body)
				want := e.okStatus
				if !allowed(r.name, e.need) {
					want = http.StatusForbidden
					if r.name == "none" || r.name == "bad" {
						want = http.StatusUnauthorized
					}
				}
				if code != want {
					t.Fatalf("got %d, want %d: %s", code, want, body)
				}
				if code == 401 || code == 403 {
					var m map[string]any
					if err := json.Unmarshal(body, &m); err != nil || m["status"] != "error" || m["message"] == "" {
						t.Fatalf("error body %q", body)
					}
					if strings.Contains(string(body), r.token) && r.token != "" {
						t.Fatalf("error body quotes the token: %s", body)
					}
				}
				if code == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("401 without a Bearer challenge: %v", hdr)
				}
			})
		}
	}
	// CORS preflights stay open, and the logs never hold a token.
	req, _ := http.NewRequest(http.MethodOptions, s.url("/api/v1/events"), nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight: %v %v", err, resp)
	}
	resp.Body.Close()
	for _, tok := range []string{tokIngest, tokRead, tokAdmin} {
		if strings.Contains(s.logs.String(), tok) {
			t.Fatalf("a token appears in the logs")
		}
	}
}

// pushClient speaks STOMP over one of the push transports: "ws" (plain
// WebSocket at /ws), "sockjs-ws" (SockJS websocket transport) or "xhr"
// (SockJS xhr polling with xhr_send).
type pushClient struct {
	kind    string
	conn    *websocket.Conn
	base    string // xhr: http://addr/ws/000/<id>
	query   string // xhr: "?access_token=..." or ""
	pending []stompMessage
}

// pushClosed is how a push session ended: a close code and reason.
type pushClosed struct {
	code   int
	reason string
}

func (e *pushClosed) Error() string { return fmt.Sprintf("closed %d %q", e.code, e.reason) }

var sessionSeq atomic.Int64

// dialPush opens a session of kind; query is added to the session URL. For
// a refused handshake it returns the HTTP status as an error.
func dialPush(ctx context.Context, addr, kind, query string, hdr http.Header) (*pushClient, int, error) {
	id := fmt.Sprintf("s%d", sessionSeq.Add(1))
	c := &pushClient{kind: kind, query: query}
	switch kind {
	case "ws", "sockjs-ws":
		u := "ws://" + addr + "/ws" + query
		if kind == "sockjs-ws" {
			u = "ws://" + addr + "/ws/000/" + id + "/websocket" + query
		}
		conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: hdr})
		if err != nil {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			return nil, status, err
		}
		conn.SetReadLimit(1 << 22)
		c.conn = conn
		if kind == "sockjs-ws" {
			_, b, err := conn.Read(ctx)
			if err != nil || string(b) != "o" {
				return nil, 0, fmt.Errorf("open frame: %q %v", b, err)
			}
		}
		return c, 101, nil
	case "xhr":
		c.base = "http://" + addr + "/ws/000/" + id
		status, body, err := c.post(ctx, "/xhr", nil, hdr)
		if err != nil || status != 200 {
			return nil, status, fmt.Errorf("xhr open: %d %q %v", status, body, err)
		}
		if string(body) != "o\n" {
			return nil, status, fmt.Errorf("xhr open frame: %q", body)
		}
		return c, status, nil
	}
	return nil, 0, fmt.Errorf("unknown kind %q", kind)
}

func (c *pushClient) post(ctx context.Context, path string, body []byte, hdr http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path+c.query, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// sendRaw sends one transport message as it is (SockJS transports wrap it
// in a JSON array of one string).
func (c *pushClient) sendRaw(ctx context.Context, msg string) error {
	switch c.kind {
	case "ws":
		return c.conn.Write(ctx, websocket.MessageText, []byte(msg))
	case "sockjs-ws":
		b, _ := json.Marshal([]string{msg})
		return c.conn.Write(ctx, websocket.MessageText, b)
	}
	b, _ := json.Marshal([]string{msg})
	status, body, err := c.post(ctx, "/xhr_send", b, nil)
	if err != nil {
		return err
	}
	if status != http.StatusNoContent {
		return fmt.Errorf("xhr_send: %d %q", status, body)
	}
	return nil
}

// next returns the next STOMP frame, or a *pushClosed when the session
// ends.
func (c *pushClient) next(ctx context.Context) (stompMessage, error) {
	for len(c.pending) == 0 {
		var data []byte
		if c.kind == "xhr" {
			status, body, err := c.post(ctx, "/xhr", nil, nil)
			if err != nil {
				return stompMessage{}, err
			}
			if status != 200 {
				return stompMessage{}, fmt.Errorf("xhr poll: %d %q", status, body)
			}
			data = bytes.TrimSuffix(body, []byte("\n"))
		} else {
			_, b, err := c.conn.Read(ctx)
			if err != nil {
				if code := websocket.CloseStatus(err); code != -1 {
					var ce websocket.CloseError
					errors.As(err, &ce)
					return stompMessage{}, &pushClosed{code: int(code), reason: ce.Reason}
				}
				return stompMessage{}, err
			}
			data = b
		}
		msgs := [][]byte{data}
		if c.kind != "ws" {
			switch {
			case len(data) == 0 || data[0] == 'h' || data[0] == 'o':
				continue
			case data[0] == 'c':
				var cl []any
				if err := json.Unmarshal(data[1:], &cl); err != nil || len(cl) != 2 {
					return stompMessage{}, fmt.Errorf("close frame %q", data)
				}
				code, _ := cl[0].(float64)
				reason, _ := cl[1].(string)
				return stompMessage{}, &pushClosed{code: int(code), reason: reason}
			case data[0] == 'a':
				var ss []string
				if err := json.Unmarshal(data[1:], &ss); err != nil {
					return stompMessage{}, fmt.Errorf("array frame %q: %v", data, err)
				}
				msgs = msgs[:0]
				for _, s := range ss {
					msgs = append(msgs, []byte(s))
				}
			default:
				return stompMessage{}, fmt.Errorf("unexpected sockjs frame %q", data)
			}
		}
		for _, m := range msgs {
			if len(bytes.TrimSpace(m)) == 0 {
				continue // heart-beat
			}
			if c.kind == "ws" && m[0] == '{' { // JSON command form
				c.pending = append(c.pending, stompMessage{command: "JSON", body: m})
				continue
			}
			fs, err := parseStompFrames(m)
			if err != nil {
				return stompMessage{}, err
			}
			c.pending = append(c.pending, fs...)
		}
	}
	m := c.pending[0]
	c.pending = c.pending[1:]
	return m, nil
}

// expectClosed reads until the session ends and returns how.
func (c *pushClient) expectClosed(ctx context.Context) (*pushClosed, error) {
	for {
		_, err := c.next(ctx)
		var pc *pushClosed
		if errors.As(err, &pc) {
			return pc, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *pushClient) close() {
	if c.conn != nil {
		c.conn.CloseNow()
	}
}

// expectError checks that the next frame is an ERROR whose message holds
// want, and that the session is then closed with code.
func expectError(t *testing.T, ctx context.Context, c *pushClient, want string, code int) {
	t.Helper()
	f, err := c.next(ctx)
	if err != nil {
		t.Fatalf("want ERROR %q, got %v", want, err)
	}
	if f.command != "ERROR" || !strings.Contains(f.headers["message"], want) {
		t.Fatalf("want ERROR %q, got %s %v %q", want, f.command, f.headers, f.body)
	}
	pc, err := c.expectClosed(ctx)
	if err != nil {
		t.Fatalf("want close %d after the ERROR: %v", code, err)
	}
	if pc.code != code {
		t.Fatalf("closed with %d %q, want %d", pc.code, pc.reason, code)
	}
}

func connectFrame(headers ...string) string {
	return stompFrame("CONNECT", append([]string{"accept-version", "1.2", "host", "localhost"}, headers...)...)
}

func TestSecurityAuthMatrixPush(t *testing.T) {
	s := startAuthServer(t)
	kinds := []string{"ws", "sockjs-ws", "xhr"}
	for _, kind := range kinds {
		for _, r := range roleTokens {
			for _, via := range []string{"Authorization", "passcode", "access_token"} {
				if r.name == "none" && via != "Authorization" {
					continue
				}
				t.Run(kind+" "+r.name+" "+via, func(t *testing.T) {
					t.Parallel()
					ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.Patience)
					defer cancel()
					query, frame := "", connectFrame()
					switch {
					case r.token == "":
					case via == "Authorization":
						frame = connectFrame("Authorization", "Bearer "+r.token)
					case via == "passcode":
						frame = connectFrame("login", "x", "passcode", r.token)
					case via == "access_token":
						query = "?access_token=" + url.QueryEscape(r.token)
					}
					c, status, err := dialPush(ctx, s.addr, kind, query, nil)
					if via == "access_token" && r.name == "bad" {
						if status != http.StatusUnauthorized {
							t.Fatalf("bad access_token: status %d, err %v; want 401", status, err)
						}
						return
					}
					if via == "access_token" && r.name == "ingest" {
						if status != http.StatusForbidden {
							t.Fatalf("ingest access_token: status %d, err %v; want 403", status, err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					defer c.close()
					if err := c.sendRaw(ctx, frame); err != nil {
						t.Fatal(err)
					}
					if !allowed(r.name, "read") {
						want := "authentication required"
						switch r.name {
						case "bad":
							want = "invalid token"
						case "ingest":
							want = "forbidden"
						}
						expectError(t, ctx, c, want, 1008)
						return
					}
					f, err := c.next(ctx)
					if err != nil || f.command != "CONNECTED" {
						t.Fatalf("want CONNECTED, got %v %v", f, err)
					}
					if err := c.sendRaw(ctx, stompFrame("SUBSCRIBE", "id", "0", "destination", "/topic/metrics", "receipt", "r1")); err != nil {
						t.Fatal(err)
					}
					gotReceipt, gotMessage := false, false
					for !gotReceipt || !gotMessage {
						f, err := c.next(ctx)
						if err != nil {
							t.Fatalf("after SUBSCRIBE: %v", err)
						}
						gotReceipt = gotReceipt || f.command == "RECEIPT"
						gotMessage = gotMessage || f.command == "MESSAGE"
					}
				})
			}
		}
	}
	// A SUBSCRIBE carrying its own Authorization header (as the seed shows)
	// is checked too.
	for _, kind := range kinds {
		for _, r := range roleTokens[1:] {
			t.Run(kind+" SUBSCRIBE with "+r.name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.Patience)
				defer cancel()
				c, _, err := dialPush(ctx, s.addr, kind, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				defer c.close()
				if err := c.sendRaw(ctx, connectFrame("Authorization", "Bearer "+tokRead)); err != nil {
					t.Fatal(err)
				}
				if f, err := c.next(ctx); err != nil || f.command != "CONNECTED" {
					t.Fatalf("want CONNECTED, got %v %v", f, err)
				}
				sub := stompFrame("SUBSCRIBE", "id", "0", "destination", "/topic/metrics", "receipt", "r1", "Authorization", "Bearer "+r.token)
				if err := c.sendRaw(ctx, sub); err != nil {
					t.Fatal(err)
				}
				if !allowed(r.name, "read") {
					expectError(t, ctx, c, map[string]string{"bad": "invalid token", "ingest": "forbidden"}[r.name], 1008)
					return
				}
				for {
					f, err := c.next(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if f.command == "RECEIPT" {
						return
					}
				}
			})
		}
	}
	// The seed's JSON command form on a plain WebSocket has no CONNECT: its
	// token comes from the URL or from the command's headers.
	t.Run("json form", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.Patience)
		defer cancel()
		sub := `{"command":"SUBSCRIBE","destination":"/topic/metrics","id":"sub-0"}`
		for _, tc := range []struct {
			query, msg string
			ok         bool
		}{
			{"", sub, false},
			{"?access_token=" + tokRead, sub, true},
			{"", `{"command":"SUBSCRIBE","destination":"/topic/metrics","id":"sub-0","headers":{"Authorization":"Bearer ` + tokRead + `"}}`, true},
			{"", `{"command":"SUBSCRIBE","destination":"/topic/metrics","id":"sub-0","headers":{"Authorization":"Bearer ` + tokIngest + `"}}`, false},
		} {
			c, _, err := dialPush(ctx, s.addr, "ws", tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.sendRaw(ctx, tc.msg); err != nil {
				t.Fatal(err)
			}
			f, err := c.next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			isErr := bytes.Contains(f.body, []byte(`"error"`))
			if tc.ok == isErr || f.command != "JSON" {
				t.Fatalf("%s %s: got %s %q", tc.query, tc.msg, f.command, f.body)
			}
			c.close()
		}
	})
}
