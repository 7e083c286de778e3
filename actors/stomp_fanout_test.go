package actors

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/stomp"
)

func TestStompSubscribeGetsCurrentSnapshot(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	built := time.UnixMilli(1_700_000_000_123)
	publish(s, testSnapshot(`{"summary":{"totalEvents":15000}}`, built))
	c, sess := openStomp(t, s)
	sess.Receive([]byte("SUBSCRIBE\nid:sub-0\ndestination:/topic/metrics\n\n\x00"))
	m := waitFrames(t, c, 2)[1].frame
	if m.Command != stomp.CmdMessage {
		t.Fatalf("got %s", m.Command)
	}
	want := map[string]string{
		"destination":    "/topic/metrics",
		"content-type":   "application/json",
		"subscription":   "sub-0",
		"timestamp":      strconv.FormatInt(built.UnixMilli(), 10),
		"content-length": strconv.Itoa(len(`{"summary":{"totalEvents":15000}}`)),
	}
	for k, v := range want {
		if got := m.Header(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if m.Header("message-id") == "" {
		t.Error("no message-id")
	}
	if string(m.Body) != `{"summary":{"totalEvents":15000}}` {
		t.Errorf("body %q", m.Body)
	}
}

// TestStompFanOutSharesOneEncoding guards "one encode per tick": every
// subscriber gets the same *Shared, and only its head differs. (The
// transport frames that one Shared once for all its connections:
// transport/sockjs TestFramingsBuiltOncePerSnapshot.)
func TestStompFanOutSharesOneEncoding(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	const n = 5
	var conns []*stompTestConn
	for i := range n {
		c, sess := openStomp(t, s)
		sess.Receive([]byte("SUBSCRIBE\nid:s" + strconv.Itoa(i) + "\ndestination:/topic/metrics\nreceipt:ok\n\n\x00"))
		waitFrames(t, c, 2) // CONNECTED, RECEIPT
		conns = append(conns, c)
	}
	// A body with characters SockJS must escape.
	body := `{"summary":{"totalEvents":1},"note":"a\"b \u2028 é"}`
	publish(s, testSnapshot(body, time.UnixMilli(1_700_000_000_000)))

	var shared *Shared
	seenHeads := map[string]bool{}
	for i, c := range conns {
		fs := waitFrames(t, c, 3)
		m := fs[2]
		if m.frame.Command != stomp.CmdMessage {
			t.Fatalf("conn %d: %s", i, m.frame.Command)
		}
		if shared == nil {
			shared = m.o.Shared
		} else if m.o.Shared != shared {
			t.Fatalf("conn %d got a different *Shared", i)
		}
		want := "MESSAGE\nsubscription:s" + strconv.Itoa(i) + "\nmessage-id:"
		if !bytes.HasPrefix(m.o.Head, []byte(want)) || bytes.Count(m.o.Head, []byte("\n")) != 3 {
			t.Fatalf("conn %d head %q", i, m.o.Head)
		}
		if seenHeads[string(m.o.Head)] {
			t.Fatalf("head %q repeated", m.o.Head)
		}
		seenHeads[string(m.o.Head)] = true
		if string(m.frame.Body) != body {
			t.Fatalf("body %q", m.frame.Body)
		}
	}
}

// TestSubscriptionHeadMatchesEncoder: the cached head prefix gives the
// bytes stomp.AppendMessageHead would, in every version, escapes included.
func TestSubscriptionHeadMatchesEncoder(t *testing.T) {
	for _, v := range []stomp.Version{stomp.V10, stomp.V11, stomp.V12} {
		s := &subscriptionActor{version: v, id: "sub:0\\x\ny", idPrefix: "a1b2-7-"}
		for _, seq := range []uint64{1, 9, 10, 12345, 1<<64 - 1} {
			s.seq = seq
			got := s.appendHead(nil)
			want := stomp.AppendMessageHead(nil, v, s.id, s.idPrefix, seq)
			if !bytes.Equal(got, want) {
				t.Fatalf("version %v seq %d: %q, want %q", v, seq, got, want)
			}
		}
	}
}

func TestStompAppSubscribeOnlyToSender(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	publish(s, testSnapshot(`{"n":1}`, time.Now()))
	a, sa := openStomp(t, s)
	b, sb := openStomp(t, s)
	sa.Receive([]byte("SUBSCRIBE\nid:a\ndestination:/topic/metrics\n\n\x00"))
	sb.Receive([]byte("SUBSCRIBE\nid:b\ndestination:/topic/metrics\n\n\x00"))
	waitFrames(t, a, 2)
	waitFrames(t, b, 2)

	sa.Receive([]byte("SEND\ndestination:/app/subscribe\ncontent-length:22\n\n{\"action\":\"subscribe\"}\x00"))
	testutil.Eventually(t, "a's second MESSAGE", func() bool { return countCommand(a.frames(t), stomp.CmdMessage) == 2 })
	// b's connection is not involved at all; a receipt round trip on b
	// shows nothing was queued for it meanwhile.
	sb.Receive([]byte("ACK\nid:x\nreceipt:sync\n\n\x00"))
	fs := waitFrames(t, b, 3)
	if got := countCommand(fs, stomp.CmdMessage); got != 1 {
		t.Fatalf("b got %d MESSAGEs, want 1", got)
	}
}

// TestStompSlowConsumerClosedOthersServed guards "nothing blocks the tick": a
// client whose queue is full is closed, and the others keep receiving.
func TestStompSlowConsumerClosedOthersServed(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	slow := &stompTestConn{limit: 3} // CONNECTED, one MESSAGE, one more
	ss := s.sessions.Open(slow)
	ss.Receive([]byte("CONNECT\naccept-version:1.2\n\n\x00SUBSCRIBE\nid:0\ndestination:/topic/metrics\n\n\x00"))
	fast, sf := openStomp(t, s)
	sf.Receive([]byte("SUBSCRIBE\nid:0\ndestination:/topic/metrics\nreceipt:r\n\n\x00"))
	waitFrames(t, fast, 2)
	testutil.Eventually(t, "slow subscribed", func() bool { return len(slow.outgoing()) >= 1 })

	// One snapshot per tick, each after the fast client has the last (a
	// subscription still holding the last push skips a tick: see
	// TestStalledSubscriptionHoldsOnePush).
	const ticks = 10
	for i := range ticks {
		publish(s, testSnapshot(`{"tick":`+strconv.Itoa(i)+`}`, time.Now()))
		testutil.Eventually(t, "the tick at the fast client", func() bool { return countCommand(fast.frames(t), stomp.CmdMessage) == i+1 })
	}
	code, reason := waitClosed(t, slow)
	if code != closePolicy || reason != reasonSlowConsumer {
		t.Fatalf("slow closed %d %q", code, reason)
	}
	testutil.Eventually(t, "all ticks at the fast client", func() bool { return countCommand(fast.frames(t), stomp.CmdMessage) == ticks })
	if closed, _, _ := fast.closeState(); closed {
		t.Fatal("fast client closed")
	}
}

func TestStompUnsubscribeStopsDelivery(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	c, sess := openStomp(t, s)
	sess.Receive([]byte("SUBSCRIBE\nid:0\ndestination:/topic/metrics\n\n\x00UNSUBSCRIBE\nid:0\nreceipt:u\n\n\x00"))
	waitFrames(t, c, 2)
	// The topic no longer serves the subscription (if UNSUBSCRIBE left it
	// alive, this never happens and the test fails), so the next tick
	// reaches no one.
	testutil.Eventually(t, "the topic to drop the subscription", func() bool {
		res, err := s.root.RequestFuture(s.topic, &currentRequest{}, testutil.Patience).Result()
		r, ok := res.(*currentReply)
		return err == nil && ok && r.subscribers == 0
	})
	publish(s, testSnapshot(`{}`, time.Now()))
	sess.Receive([]byte("ACK\nid:1\nreceipt:sync\n\n\x00"))
	fs := waitFrames(t, c, 3)
	if n := countCommand(fs, stomp.CmdMessage); n != 0 {
		t.Fatalf("%d MESSAGEs after UNSUBSCRIBE", n)
	}
}
