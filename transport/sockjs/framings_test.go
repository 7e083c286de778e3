package sockjs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/sockjs"
)

// testShared is a Shared laid out as the topic lays it out for body.
func testShared(body string, builtAt time.Time) *actors.Shared {
	tail := "destination:/topic/metrics\ncontent-type:application/json\ntimestamp:" +
		strconv.FormatInt(builtAt.UnixMilli(), 10) + "\ncontent-length:" + strconv.Itoa(len(body)) + "\n\n" + body + "\x00"
	return &actors.Shared{JSON: []byte(body), STOMPTail: []byte(tail)}
}

// storedBlock is p as one non-final DEFLATE stored block, the way the
// transport writes a subscriber's head in front of the shared tail.
func storedBlock(p []byte) []byte {
	n := len(p)
	return append([]byte{0, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)}, p...)
}

// TestFramingsDeflate: the compressed tails inflate to the STOMP tail and
// to the escaped tail plus `"]`, alone and behind a stored block holding
// a head, and are much smaller than what they encode.
func TestFramingsDeflate(t *testing.T) {
	t.Parallel()
	body := `{"summary":{"totalEvents":15000,"note":"quote \" and \u00e9"},"eventsByType":{` + strings.Repeat(`"page_view":{"count":12345,"rate":1.5},`, 500) + `"x":{}}}`
	sh := testShared(body, time.UnixMilli(1764349200000))
	f := framingsOf(sh)
	stompZ, sockZ := f.stompDeflate(sh), f.sockJSDeflate(sh)
	if stompZ == nil || sockZ == nil {
		t.Fatal("compressed tails missing")
	}
	if got := inflate(t, stompZ); !bytes.Equal(got, sh.STOMPTail) {
		t.Fatalf("the STOMP tail inflates to %d bytes, want %d", len(got), len(sh.STOMPTail))
	}
	wantSock := string(f.sockJSTail(sh)) + `"]`
	if got := inflate(t, sockZ); string(got) != wantSock {
		t.Fatalf("the SockJS tail inflates to %d bytes, want %d", len(got), len(wantSock))
	}
	head := []byte("MESSAGE\nsubscription:sub-0\nmessage-id:abc-1\n")
	msg := append(storedBlock(head), stompZ...)
	if got := inflate(t, msg); string(got) != string(head)+string(sh.STOMPTail) {
		t.Fatalf("head + tail inflates to %.80q", got)
	}
	if len(stompZ)*4 > len(sh.STOMPTail) {
		t.Fatalf("compressed %d of %d bytes", len(stompZ), len(sh.STOMPTail))
	}
}

// TestFramingsSockJSTail: the escaped tail is the STOMP tail as the inside
// of a JSON string, with the characters SockJS needs escaped.
func TestFramingsSockJSTail(t *testing.T) {
	t.Parallel()
	sh := testShared(`{"summary":{"totalEvents":1},"note":"a\"b `+"\u2028"+` é"}`, time.UnixMilli(1_700_000_000_000))
	esc := framingsOf(sh).sockJSTail(sh)
	var unq string
	if err := json.Unmarshal(append(append([]byte(`"`), esc...), '"'), &unq); err != nil || unq != string(sh.STOMPTail) {
		t.Fatalf("the escaped tail does not decode to the STOMP tail: %v", err)
	}
	if bytes.Contains(esc, []byte("\u2028")) {
		t.Fatal("U+2028 not escaped for SockJS")
	}
	if !bytes.Equal(esc, sockjs.AppendEscaped(nil, sh.STOMPTail)) {
		t.Fatal("not sockjs.AppendEscaped's bytes")
	}
}

// TestFramingsBuiltOncePerSnapshot guards "one encode per tick" on the
// transport's side: however many connections, of whatever transport,
// write one snapshot, and however concurrently, each of its framings is
// built once and every connection writes those same bytes.
func TestFramingsBuiltOncePerSnapshot(t *testing.T) {
	t.Parallel()
	t.Run("concurrent lookups", func(t *testing.T) {
		t.Parallel()
		sh := testShared(strings.Repeat(`{"k":"v\u00e9"},`, 500), time.Now())
		var wg sync.WaitGroup
		got := make([][3][]byte, 64)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := framingsOf(sh)
				got[i] = [3][]byte{f.sockJSDeflate(sh), f.stompDeflate(sh), f.sockJSTail(sh)}
			}()
		}
		wg.Wait()
		for i := range got {
			for k := range got[i] {
				if len(got[i][k]) == 0 || &got[i][k][0] != &got[0][k][0] {
					t.Fatalf("lookup %d framing %d: not the bytes the first lookup got", i, k)
				}
			}
		}
		wantEq(t, "framings built", framingsOf(sh).builds.Load(), int32(3))
	})
	t.Run("connections", func(t *testing.T) {
		t.Parallel()
		const n = 4 // connections of each kind
		ts := newTestSessions(false)
		s := newServer(t, Config{}, ts)
		sh := testShared(strings.Repeat(`{"k":"v\u00e9"},`, 500), time.Now())
		head := "MESSAGE\nsubscription:s\nmessage-id:1\n"
		wrap := func(s string) string { return `a["` + string(sockjs.AppendEscaped(nil, []byte(s))) + `"]` }
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		type client struct {
			ws   *websocket.Conn
			want string
		}
		var clients []client
		want := 1 // the escaped tail: SockJS and polling sessions
		for _, k := range []struct {
			path    string
			sockjs  bool
			deflate bool
		}{{"/ws", false, true}, {"", true, true}, {"", true, false}} {
			for i := range n {
				u := s.URL + k.path
				if k.sockjs {
					u = newSessionURL(s.URL) + "/websocket"
				}
				mode := websocket.CompressionDisabled
				if k.deflate {
					mode = websocket.CompressionNoContextTakeover
				}
				ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(u, "http"), &websocket.DialOptions{CompressionMode: mode})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ws.CloseNow() })
				ws.SetReadLimit(1 << 20)
				if k.sockjs {
					wantEq(t, "open", readWS(t, ws), "o")
				}
				conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open").(*wsConn)
				if i == 0 && conn.deflate {
					want++ // a compressed kind: its compressed tail
				}
				if !conn.Send(actors.Outgoing{Head: []byte(head), Shared: sh}) {
					t.Fatal("Send refused")
				}
				w := head + string(sh.STOMPTail)
				if k.sockjs {
					w = wrap(w)
				}
				clients = append(clients, client{ws, w})
			}
		}
		var polled []string
		for range n {
			u := newSessionURL(s.URL)
			do(t, "POST", u+"/xhr", "", nil)
			testutil.Recv(t, ts.opened, testutil.Patience, "a session to open").Send(actors.Outgoing{Head: []byte(head), Shared: sh})
			polled = append(polled, u)
		}
		for i, c := range clients {
			_, b, err := c.ws.Read(ctx)
			if err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			if string(b) != c.want {
				t.Fatalf("client %d: %.80q..., want %.80q...", i, b, c.want)
			}
		}
		for _, u := range polled {
			_, body := do(t, "POST", u+"/xhr", "", nil)
			wantEq(t, "polled", body, wrap(head+string(sh.STOMPTail))+"\n")
		}
		wantEq(t, "framings built", framingsOf(sh).builds.Load(), int32(want))
	})
}

// TestFramingsCacheForgetsCollectedSnapshots: the cache keeps a snapshot's
// framings only while the snapshot is alive.
func TestFramingsCacheForgetsCollectedSnapshots(t *testing.T) {
	t.Parallel()
	old := testShared(`{"old":true}`, time.Now())
	framingsOf(old).sockJSTail(old)
	k := weak.Make(old)
	old = nil
	framingsOf(testShared(`{"new":true}`, time.Now())) // no longer the newest lookup
	testutil.WaitFor(t, testutil.Patience, "the collected snapshot's entry to go", func() error {
		runtime.GC()
		cache.mu.Lock()
		_, ok := cache.m[k]
		cache.mu.Unlock()
		if ok {
			return fmt.Errorf("a collected snapshot's framings are still cached (%d entries)", cache.len())
		}
		return nil
	})
}

// BenchmarkFramingsBuild is the once-per-snapshot cost of a ~20 KB
// snapshot's framings (the escaped tail and both compressed tails), paid
// by the first connection that needs each.
func BenchmarkFramingsBuild(b *testing.B) {
	sh := benchShared()
	b.ReportAllocs()
	b.SetBytes(int64(len(sh.STOMPTail)))
	for b.Loop() {
		f := new(framings)
		f.sockJSDeflate(sh)
		f.stompDeflate(sh)
	}
}
