package notify

import (
	"encoding/json"
	"reflect"
	"testing"
)

// A snapshot taken after any prefix of the records, restored, and fed the
// rest of the records reaches the state a replay of every record reaches:
// compaction loses nothing (pending, in flight, done horizon, rate-limit
// starts, delivery log, counters).
func TestOutboxSnapshotThenTailIsTheFullReplay(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, `{"channelType":"WEBHOOK","name":"x","rateLimitPerMinute":2,"config":{"url":"https://a.example"}}`)
	outcomes := []Outcome{Retryable, Success, Permanent, Retryable, Retryable, Success}
	i := 0
	var d *driver
	cfg := OutboxConfig{LogMaxEntries: 5, DoneMaxEntries: 3}
	d = newDriver(t, cfg, func(Delivery) Attempt {
		o := outcomes[i%len(outcomes)]
		i++
		return Attempt{Start: d.now, Outcome: o, Error: string(o), StatusCode: 500}
	})
	d.o.SetLimits(ch.ID, LimitsOf(ch))
	for k := range 4 {
		m, _ := MessageFor(firingRecord(60), "")
		m.AlertID = "a-" + string(rune('1'+k))
		d.enqueue(NewNotification(m, ch))
	}
	d.crashAt = 5 // leaves an attempt in flight
	d.run()
	want := d.replay().State()
	for k := 0; k <= len(d.journal); k++ {
		pre := &driver{t: t, cfg: cfg, journal: d.journal[:k]}
		snap, err := pre.replay().MarshalSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		o, err := RestoreOutbox(cfg, snap)
		if err != nil {
			t.Fatalf("restore after %d records: %v", k, err)
		}
		for _, b := range d.journal[k:] {
			var r Record
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			o.Apply(r)
		}
		if got := o.State(); !reflect.DeepEqual(got, want) {
			t.Fatalf("snapshot after %d records, then the tail:\n got %+v\nwant %+v", k, got, want)
		}
	}
	inFlight := 0
	for _, p := range want.Pending {
		if p.InFlight != nil {
			inFlight++
		}
	}
	if inFlight != 1 || len(want.Done) == 0 || len(want.Log) == 0 {
		t.Fatalf("the run should leave one attempt in flight, some done and logged: %+v", want)
	}
	for _, bad := range []string{`{`, `{"version":2}`, `{"version":1,"pending":[{"notification":{}}]}`} {
		if _, err := RestoreOutbox(cfg, []byte(bad)); err == nil {
			t.Errorf("RestoreOutbox(%s) accepted", bad)
		}
	}
}
