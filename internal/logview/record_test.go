package logview

import (
	"testing"
	"time"
)

func same(s string) string { return s }

func TestParseLine(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 7, 20, 42, 45, 500_000_000, time.UTC)
	for _, c := range []struct {
		name  string
		line  string
		skip  skip
		notes []note
		check func(t *testing.T, r Record)
	}{
		{name: "today's decision",
			line: `{"level":"warn","component":"actors","actor":"aggregator/window-last1Minute","parent":"aggregator","kind":"window","reason":"boom","directive":"restart","restarts":2,"backoff":18.5,"msg_type":"applyBatch","stack":"goroutine 1","time":"2026-12-07T20:42:45.5Z","msg":"supervision decision"}`,
			check: func(t *testing.T, r Record) {
				want := Record{Time: at, Level: LevelWarn, Msg: msgDecision, Actor: "aggregator/window-last1Minute", Parent: "aggregator",
					Kind: "window", Reason: "boom", Directive: "restart", Failure: 2, Backoff: 18500 * time.Microsecond, MsgType: "applyBatch", Stack: "goroutine 1"}
				if r != want {
					t.Errorf("got %+v\nwant %+v", r, want)
				}
			}},
		{name: "older spellings",
			line:  `{"level":"WARNING","message":"supervision decision","time":1796676165.5,"actor":{"Address":"nonhost","Id":"sessions/conn-2/sub-1"},"directive":"Stop","backoff":"10ms","reason":{"code":1}}`,
			notes: []note{noteMessageKey, noteNumericTime, notePIDActor, noteBackoffText, noteDerivedParent, noteInferredKind},
			check: func(t *testing.T, r Record) {
				if r.Level != LevelWarn || r.Actor != "sessions/conn-2/sub-1" || r.Parent != "sessions/conn-2" || r.Kind != "subscription" ||
					r.Directive != "stop" || r.Backoff != 10*time.Millisecond || r.Reason != `{"code":1}` || !r.Time.Equal(time.Unix(1796676165, 5e8)) {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "millisecond time", line: `{"level":"info","time":1796676165500,"msg":"x","actor":"ingest"}`, notes: []note{noteNumericTime},
			check: func(t *testing.T, r Record) {
				if !r.Time.Equal(time.UnixMilli(1796676165500)) {
					t.Errorf("time %v", r.Time)
				}
			}},
		{name: "behind a prefix", line: `Dec 07 20:42:45 host eventara[1]: {"level":"info","time":"2026-12-07T20:42:45.5Z","msg":"actor started","actor":"topic"}`,
			notes: []note{notePrefixed}},
		{name: "plain text", line: "panic: runtime error", skip: skipNotJSON},
		{name: "console format", line: "20:42:45.500 WRN supervision decision actor=x", skip: skipNotJSON},
		{name: "not an object", line: `["level","info"]`, skip: skipNotJSON},
		{name: "another program", line: `{"ts":"2026-12-07T20:42:45Z","severity":"INFO"}`, skip: skipOtherJSON},
		{name: "no time", line: `{"level":"info","msg":"actor started","actor":"topic"}`, skip: skipNoTime},
		{name: "protoactor", line: `{"level":"info","library":"protoactor","time":"2026-12-07T20:42:45Z","msg":"[ACTOR] Recovering"}`, skip: skipProtoactor},
		{name: "protoactor of old", line: `{"level":"info","component":"protoactor","time":"2026-12-07T20:42:45Z","msg":"x"}`, skip: skipProtoactor},
		{name: "decision without a directive", line: `{"level":"warn","time":"2026-12-07T20:42:45Z","msg":"supervision decision","actor":"ingest"}`, skip: skipOldDecision},
		{name: "empty segment", line: `{"level":"info","time":"2026-12-07T20:42:45Z","msg":"x","actor":"a//b"}`, skip: skipBadActor},
		{name: "control character", line: `{"level":"info","time":"2026-12-07T20:42:45Z","msg":"x","actor":"a\u001b[31m"}`, skip: skipBadActor},
		{name: "year 10000", line: `{"level":"info","time":1e30,"msg":"x","actor":"a"}`, skip: skipNoTime},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r, why, ns := parseLine([]byte(c.line), same)
			if why != c.skip {
				t.Fatalf("skip %v, want %v", why, c.skip)
			}
			if why != skipNone {
				return
			}
			var want notes
			for _, n := range c.notes {
				want.add(n)
			}
			if ns != want {
				t.Errorf("notes %b, want %b", ns, want)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func TestEscalatedFrom(t *testing.T) {
	t.Parallel()
	for reason, want := range map[string]string{
		"escalated from aggregator/window-last1Minute: injected fault": "aggregator/window-last1Minute",
		"escalated from a/b: escalated from a/b/c: boom":               "a/b",
		"injected fault: escalated from x: y":                          "",
		"escalated from nowhere":                                       "",
	} {
		if got := escalatedFrom(reason); got != want {
			t.Errorf("escalatedFrom(%q) = %q, want %q", reason, got, want)
		}
	}
}
