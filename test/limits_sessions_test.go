package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/internal/testutil"
)

// TestMaxSessionsRefusesWithACloseFrame: with --max-sessions 1 and one
// session held, a new session over every SockJS transport is closed with
// 1013 and the bound in its reason, as sockjs-client reports it, and a
// plain WebSocket gets a 1013 close frame; the held session is untouched,
// and once it ends a new one opens.
func TestMaxSessionsRefusesWithACloseFrame(t *testing.T) {
	s := startServer(t, "--max-sessions", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	held, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	const reason = "Too many sessions: the server holds at most 1"

	for _, transport := range []string{"websocket", "xhr-streaming", "xhr-polling", "eventsource"} {
		t.Run(transport, func(t *testing.T) {
			run := sockjsClose(t, s, transport)
			// Over the websocket transport the o frame goes out with the
			// upgrade, before the session is asked for; the HTTP
			// transports answer the close frame alone.
			if run.Opened != (transport == "websocket") || run.Close == nil || run.Close.Code != 1013 || run.Close.Reason != reason {
				t.Fatalf("refused session seen by sockjs-client: %+v %+v", run, run.Close)
			}
		})
	}
	t.Run("plain websocket", func(t *testing.T) {
		c, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		_, _, err = c.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 1013 || ce.Reason != reason {
			t.Fatalf("read on a refused WebSocket: %v, want close 1013 %q", err, reason)
		}
	})

	// The held session still works: CONNECT gets CONNECTED.
	if err := held.Write(ctx, websocket.MessageText, []byte("CONNECT\naccept-version:1.2\n\n\x00")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := held.Read(ctx); err != nil || len(msg) < 9 || string(msg[:9]) != "CONNECTED" {
		t.Fatalf("held session after the refusals: %q, %v", msg, err)
	}
	held.Close(websocket.StatusNormalClosure, "")
	testutil.WaitFor(t, testutil.Patience, "a new session to open once the held one ended", func() error {
		run := sockjsClose(t, s, "xhr-polling")
		if !run.Opened {
			return fmt.Errorf("not opened: %+v", run)
		}
		return nil
	})
}

// sockjsCloseRun is what test/js/sockjs-close.mjs prints.
type sockjsCloseRun struct {
	Transport string `json:"transport"`
	Opened    bool   `json:"opened"`
	Close     *struct {
		Code     int    `json:"code"`
		Reason   string `json:"reason"`
		WasClean bool   `json:"wasClean"`
	} `json:"close"`
	Error string `json:"error"`
}

func sockjsClose(t *testing.T, s *server, transport string) sockjsCloseRun {
	t.Helper()
	out, stderr, err := runNode(t, 40*time.Second, "sockjs-close.mjs", "--url", "http://"+s.addr+"/ws", "--transport", transport)
	var run sockjsCloseRun
	if jerr := json.Unmarshal(out, &run); jerr != nil || err != nil {
		t.Fatalf("sockjs-close.mjs %s: %v; output %q (%v)\nstderr: %s\nserver log:\n%s", transport, err, out, jerr, stderr, tail(s.logs.String(), 20))
	}
	return run
}
