package test

// Fault scenarios for `eventara logs`: each drives a server started with
// --fault-injection into one kind of supervision trouble and waits, by the
// live tree, until the decisions it causes have been made. TestLogsPostMortem
// runs them all on one server; TestLogsWriteTestdata runs each on its own and
// saves the log as internal/logview's golden input.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/internal/testutil"
)

// decision is one entry of GET /api/v1/system/actors' supervision list.
type decision struct {
	Actor     string `json:"actor"`
	Parent    string `json:"parent"`
	Kind      string `json:"kind"`
	Reason    string `json:"reason"`
	Directive string `json:"directive"`
	Restarts  int    `json:"restarts"`
}

// liveActors is GET /api/v1/system/actors.
type liveActors struct {
	Root        liveNode   `json:"root"`
	Supervision []decision `json:"supervision"`
}

type liveNode struct {
	Path     string     `json:"path"`
	Kind     string     `json:"kind"`
	Children []liveNode `json:"children"`
}

// find returns the paths of the live actors of kind.
func (n liveNode) find(kind string) []string {
	var res []string
	if n.Kind == kind {
		res = append(res, n.Path)
	}
	for _, c := range n.Children {
		res = append(res, c.find(kind)...)
	}
	return res
}

func (s *server) liveActors(t testing.TB) liveActors {
	t.Helper()
	code, b := do(t, http.MethodGet, s.url("/api/v1/system/actors"), "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/system/actors: %d %s", code, b)
	}
	var a liveActors
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("GET /api/v1/system/actors: %v", err)
	}
	return a
}

// waitDecision waits until the server has made a supervision decision
// that match accepts, and returns it.
func (s *server) waitDecision(t testing.TB, what string, match func(decision) bool) decision {
	t.Helper()
	var found decision
	testutil.WaitFor(t, testutil.Patience, what, func() error {
		for _, d := range s.liveActors(t).Supervision {
			if match(d) {
				found = d
				return nil
			}
		}
		return errors.New("no such decision yet")
	})
	return found
}

func (s *server) armFault(t testing.TB, body string) {
	t.Helper()
	if code, b := do(t, http.MethodPost, s.url("/debug/faults"), "application/json", []byte(body)); code != http.StatusOK {
		t.Fatalf("POST /debug/faults %s: %d %s", body, code, b)
	}
}

func (s *server) clearFaults(t testing.TB) {
	t.Helper()
	if code, b := do(t, http.MethodDelete, s.url("/debug/faults"), "", nil); code != http.StatusOK {
		t.Fatalf("DELETE /debug/faults: %d %s", code, b)
	}
}

// injected is what a scenario caused: the actor that failed, the directive
// its supervisor took last, and how often it failed.
type injected struct {
	actor     string
	directive string
	failures  int
}

// scenarioWindowStorm fails one window on six messages in a row: five
// restarts, then the sixth failure within 30 s escalates and the
// aggregator restarts (its windows are spawned again).
func scenarioWindowStorm(t testing.TB, s *server) []injected {
	const window = "aggregator/window-last1Minute"
	s.armFault(t, `{"actor":"`+window+`","fault":"panic","count":6}`)
	for i := 0; i < 3; i++ { // the ticks alone would do it too, one a second
		if code, _ := postJSON(t, s.url("/api/v1/events"), `{"eventType":"storm","source":"logs-test"}`); code != http.StatusAccepted {
			t.Fatalf("ingest: %d", code)
		}
	}
	s.waitDecision(t, "the aggregator's decision on the window's escalation", func(d decision) bool {
		return d.Actor == "aggregator" && strings.HasPrefix(d.Reason, "escalated from "+window)
	})
	s.clearFaults(t)
	// The restarted aggregator spawns its windows again; a snapshot whose
	// window counts the event posted now comes from them.
	if code, _ := postJSON(t, s.url("/api/v1/events"), `{"eventType":"after","source":"logs-test"}`); code != http.StatusAccepted {
		t.Fatalf("ingest: %d", code)
	}
	testutil.WaitFor(t, testutil.Patience, "the restarted aggregator's windows counting every event", func() error {
		m := s.metrics(t)
		if total, w := path(m, "summary.totalEvents"), path(m, "timeWindows.last1Minute"); total != 4.0 || w != 4.0 {
			return fmt.Errorf("totalEvents %v, last1Minute %v", total, w)
		}
		return nil
	})
	return []injected{{window, "escalate", 6}, {"aggregator", "restart", 1}}
}

// scenarioSubscriptionStops fails one subscription on every snapshot it is
// pushed: three restarts, then the fourth failure within 10 s stops it.
// Its client then goes away (a normal close).
func scenarioSubscriptionStops(t testing.TB, s *server) []injected {
	ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.Patience)
	defer cancel()
	c := dialSubscriber(t, ctx, s.addr)
	var sub string
	testutil.WaitFor(t, testutil.Patience, "the client's subscription in the live tree", func() error {
		subs := s.liveActors(t).Root.find("subscription")
		if len(subs) != 1 {
			return fmt.Errorf("subscriptions %v", subs)
		}
		sub = subs[0]
		return nil
	})
	s.armFault(t, `{"actor":"subscription","fault":"panic","message":"deliver","count":4}`)
	s.waitDecision(t, "the stop of "+sub, func(d decision) bool { return d.Actor == sub && d.Directive == "stop" })
	s.clearFaults(t)
	conn := parentPath(sub)
	c.Close(websocket.StatusNormalClosure, "bye")
	testutil.WaitFor(t, testutil.Patience, conn+" gone", func() error {
		if paths := s.liveActors(t).Root.find("connection"); len(paths) != 0 {
			return fmt.Errorf("connections %v", paths)
		}
		return nil
	})
	return []injected{{sub, "stop", 4}}
}

// scenarioConnectionFails fails a connection on the first frame its client
// sends: a connection is stopped on failure, its client closed with 1011.
func scenarioConnectionFails(t testing.TB, s *server) []injected {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	s.armFault(t, `{"actor":"connection","fault":"panic","message":"inbound"}`)
	c, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/ws", &websocket.DialOptions{Subprotocols: []string{"v12.stomp"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(stompFrame("CONNECT", "accept-version", "1.2", "host", "localhost"))); err != nil {
		t.Fatalf("write CONNECT: %v", err)
	}
	for {
		if _, _, err = c.Read(ctx); err != nil {
			break
		}
	}
	if code := websocket.CloseStatus(err); code != websocket.StatusInternalError {
		t.Fatalf("the failed connection's client: %v, want a 1011 close", err)
	}
	d := s.waitDecision(t, "the stop of a connection", func(d decision) bool { return d.Kind == "connection" && d.Directive == "stop" })
	s.clearFaults(t)
	return []injected{{d.Actor, "stop", 1}}
}

// dialSubscriber connects a STOMP client over a plain WebSocket and
// subscribes to /topic/metrics; it reads (and drops) what comes until
// closed.
func dialSubscriber(t testing.TB, ctx context.Context, addr string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{Subprotocols: []string{"v12.stomp"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(4 << 20)
	for _, f := range []string{
		stompFrame("CONNECT", "accept-version", "1.2", "host", "localhost", "heart-beat", "0,0"),
		stompFrame("SUBSCRIBE", "id", "sub-0", "destination", "/topic/metrics"),
	} {
		if err := c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	go func() {
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return c
}

func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "root"
}
