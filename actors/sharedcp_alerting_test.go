package actors

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/notify"
	"github.com/eventara/eventara/rules"
	"github.com/eventara/eventara/snapshots"
)

func checkpointEvery200ms(c *Config) { c.CheckpointInterval = 200 * time.Millisecond }

// TestJoinFromSharedCheckpointWithAlerting: a node that joins after the
// stream's retention removed the notes of a rule, a channel, an alert and
// its delivery gets them all from the shared checkpoint: the same rules,
// alerts, channels and delivery log as the node that made them, and it
// does not send the delivered notification again when it becomes the
// deliverer (the next transition is sent once, the first not again). A
// joiner from a shared checkpoint without the alerting part (an older
// node's) still starts its metrics from it and says that its rules are
// not in it.
func TestJoinFromSharedCheckpointWithAlerting(t *testing.T) {
	const maxAge = 8 * time.Second
	hook := newHookReceiver(t, func(int) int { return 200 })
	cc := startShortStream(t, maxAge)
	d := newDeliverer("a")
	a := startNode(t, cc, "a", d, t.TempDir(), checkpointEvery200ms)
	ctx := context.Background()

	createHook(t, a.sys, "hook", hook.URL)
	r := createActive(t, a.sys, `{"name":"sources","ruleType":"THRESHOLD","severity":"WARNING","notificationChannels":["hook"],
		"suppressionWindowMinutes":0,"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0,"cooldownMinutes":0}}`)
	ingestN(t, a.sys, 3, "x")
	first := r.ID + "-1"
	testutil.WaitFor(t, testutil.Patience, "the firing delivered and logged SENT", func() error {
		if n, keys := hook.counts(); n != 1 || keys != first+":firing" {
			return fmt.Errorf("%d POSTs, keys %q", n, keys)
		}
		if sent := len(a.sys.NotificationLogs(notify.LogFilter{Status: notify.LogSent})); sent != 1 {
			return fmt.Errorf("%d SENT entries", sent)
		}
		return nil
	})
	notesSeq := a.sys.cluster.handed.Load()
	waitRetained(t, cc.Stream, notesSeq, maxAge+testutil.Patience)
	ingestN(t, a.sys, 2, "recent")
	waitShared(t, a, a.sys.cluster.acked.Load())
	latest, ok, _, err := cc.Stream.LatestSharedCheckpoint(ctx, 0)
	if err != nil || !ok {
		t.Fatalf("latest shared checkpoint: %v %v", ok, err)
	}
	st, found, err := decodeAlertingPart(&latest)
	if err != nil || !found || st.Covers < latest.Seq || len(st.Rules) == 0 || len(st.Notifier) == 0 {
		t.Fatalf("alerting part: found %v, covers %d for checkpoint %d, %d+%d bytes, %v", found, st.Covers, latest.Seq, len(st.Rules), len(st.Notifier), err)
	}

	b := startNode(t, cc, "b", d, t.TempDir(), checkpointEvery200ms)
	h, _ := b.sys.Cluster()
	if h.StartedFrom == nil || h.JoinWarning != "" {
		t.Fatalf("b started from %+v, join warning %q", h.StartedFrom, h.JoinWarning)
	}
	if got, err := b.sys.Rule(r.ID); err != nil || got.Name != "sources" || got.Status != rules.StatusActive {
		t.Fatalf("b has not the rule at start: %+v %v", got, err)
	}
	if al, err := b.sys.Alert(first); err != nil || al.Status != rules.AlertFiring {
		t.Fatalf("b has not the firing alert at start: %+v %v", al, err)
	}
	if chs := b.sys.Channels(nil); len(chs) != 1 || chs[0].Name != "hook" {
		t.Fatalf("b's channels: %+v", chs)
	}
	waitSameState(t, "b has a's rules and alerts", nil, a, b)
	testutil.WaitFor(t, testutil.Patience, "b has a's channels and delivery log", func() error {
		if da, db := deliveries(t, a.sys), deliveries(t, b.sys); da != db {
			return fmt.Errorf("differ:\n%s\n%s", da, db)
		}
		return nil
	})
	if hh := b.sys.Health(); !hh.Up {
		t.Fatalf("b down: %s", hh.Reason)
	}

	// b delivers now: the next transition is sent once, by b, and the
	// firing it knows as sent is not sent again.
	d.set("b")
	if err := a.sys.Reset(ctx); err != nil { // no sources any more: the rule clears
		t.Fatal(err)
	}
	testutil.WaitFor(t, testutil.Patience, "the resolution delivered by b", func() error {
		if _, keys := hook.counts(); keys != first+":firing "+first+":resolved" {
			return fmt.Errorf("keys %q", keys)
		}
		if sent := len(b.sys.NotificationLogs(notify.LogFilter{Status: notify.LogSent})); sent != 2 {
			return fmt.Errorf("%d SENT entries on b", sent)
		}
		return nil
	})
	if n, _ := hook.counts(); n != 2 {
		t.Fatalf("%d POSTs for 2 transitions: the joiner sent one again", n)
	}
	waitSameState(t, "resolved on both", nil, a, b)

	// An older node's shared checkpoint: the aggregator part alone.
	ingestN(t, b.sys, 4, "late")
	waitShared(t, b, b.sys.cluster.acked.Load())
	a.stop()
	b.stop()
	latest, ok, _, err = cc.Stream.LatestSharedCheckpoint(ctx, 0)
	if err != nil || !ok {
		t.Fatalf("latest shared checkpoint: %v %v", ok, err)
	}
	delete(latest.Parts, sharedPartAlerting)
	if _, err := cc.Stream.SaveSharedCheckpoint(ctx, latest); err != nil {
		t.Fatal(err)
	}
	old := startNode(t, cc, "old", d, t.TempDir())
	h, _ = old.sys.Cluster()
	if h.StartedFrom == nil || h.StartedFrom.Seq != latest.Seq {
		t.Fatalf("started from %+v, want the part-less checkpoint at %d", h.StartedFrom, latest.Seq)
	}
	for _, w := range []string{"has no rules, alerts or channels", "empty its data directory"} {
		if !strings.Contains(h.JoinWarning, w) {
			t.Fatalf("join warning %q, want it to say %q", h.JoinWarning, w)
		}
	}
	if rs := old.sys.Rules(nil); len(rs) != 0 {
		t.Fatalf("rules from nowhere: %+v", rs)
	}
	waitSnapshot(t, old.sys, "the 4 late events", func(s *snapshots.Snapshot) bool { return total(s) == 4 })
	if hh := old.sys.Health(); !hh.Up {
		t.Fatalf("a joiner without rules is down: %s", hh.Reason)
	}
}

// TestReplaceAlertingState: installing a shared alerting state into a
// journal that has rules and notifier state of its own replaces both:
// nothing of the old state is replayed on top.
func TestReplaceAlertingState(t *testing.T) {
	hook := newHookReceiver(t, func(int) int { return 200 })
	cc := startStream(t)
	d := newDeliverer("a")
	a := startNode(t, cc, "a", d, t.TempDir())
	createHook(t, a.sys, "shared-hook", hook.URL)
	r := createActive(t, a.sys, errorRateRule("shared"))
	st, err := a.sys.AlertingState()
	if err != nil {
		t.Fatal(err)
	}

	// A journal with state of its own: another rule and channel.
	dir := t.TempDir()
	other := startStream(t)
	o := startNode(t, other, "o", newDeliverer("o"), dir)
	createHook(t, o.sys, "own-hook", hook.URL)
	createActive(t, o.sys, errorRateRule("own"))
	o.stop()
	j, err := journal.Open(journal.Config{Dir: dir, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := InstallAlertingState(j, st); err == nil {
		t.Fatal("InstallAlertingState wrote over a journal with state")
	}
	if err := replaceAlertingState(j, st); err != nil {
		t.Fatal(err)
	}
	j.Close()
	e := startNode(t, cc, "e", d, dir)
	rs := e.sys.Rules(nil)
	if len(rs) != 1 || rs[0].ID != r.ID {
		t.Fatalf("rules after the replacement: %+v, want a's %s alone", rs, r.ID)
	}
	if chs := e.sys.Channels(nil); len(chs) != 1 || chs[0].Name != "shared-hook" {
		t.Fatalf("channels after the replacement: %+v", chs)
	}
	waitSameState(t, "the replaced state follows the stream", nil, a, e)
}

// TestRunningNodePastRetention: the applier's retention check holds for
// every message, not only the first after a start: a message past the
// expected one that the stream no longer holds is a gap (health down,
// the advice to restart and join from the covering shared checkpoint);
// sequences skipped that the stream still holds (a schedule message, an
// interior deletion) are none.
func TestRunningNodePastRetention(t *testing.T) {
	const maxAge = 3 * time.Second
	cc := startShortStream(t, maxAge)
	a := startCheckpointingNode(t, *cc, t.TempDir())
	ingestN(t, a.sys, 5, "old")
	oldSeq := a.sys.cluster.acked.Load()
	first := waitRetained(t, cc.Stream, oldSeq, maxAge+testutil.Patience)
	waitShared(t, a, first)

	j, err := journal.Open(journal.Config{Dir: t.TempDir(), Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	c, err := newClusterState(cc, j, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	now, err := cc.Stream.FirstRetained(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := &applierRun{c: c, log: zerolog.Nop(), next: now + 1}
	r.checkRetention(now + 2) // the schedule message's sequence skipped
	r.checkRetention(now + 5) // the stream still holds now + 3
	if c.gapped() {
		t.Fatalf("a gap for sequences the stream holds: %+v", c.gap.Load())
	}
	h, _ := a.sys.Cluster()
	r.next = 1
	r.checkRetention(h.Shared.Seq + 1) // resumed past what retention removed
	g := c.gap.Load()
	if g == nil {
		t.Fatal("no gap")
	}
	reason := c.gapReason(g.from, g.first)
	for _, want := range []string{fmt.Sprintf("stream sequences 1 to %d were removed", h.Shared.Seq), "restart the node to join from the shared checkpoint"} {
		if !strings.Contains(reason, want) {
			t.Fatalf("retention gap %q, want it to say %q", reason, want)
		}
	}
}
