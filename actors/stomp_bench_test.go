package actors

import (
	"bytes"
	"testing"
	"time"

	"github.com/eventara/eventara/protocol/stomp"
)

// BenchmarkStompBuildShared is the topic's once-per-tick cost of a ~20 KB
// snapshot: the STOMP tail (transport's framings of it:
// transport/sockjs BenchmarkFramingsBuild).
func BenchmarkStompBuildShared(b *testing.B) {
	json := append([]byte(`{"summary":{"totalEvents":15000},"eventsByType":{`), bytes.Repeat([]byte(`"page_view":{"count":12345,"rate":1.5},`), 500)...)
	json = append(json, `"x":{}}}`...)
	snap := testSnapshot(string(json), time.Now())
	b.ReportAllocs()
	b.SetBytes(int64(len(json)))
	for b.Loop() {
		buildShared(snap)
	}
}

// BenchmarkStompSubscriberHead is the per-subscriber, per-tick encoding
// work: one MESSAGE head.
func BenchmarkStompSubscriberHead(b *testing.B) {
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		seq++
		_ = stomp.AppendMessageHead(make([]byte, 0, 64), stomp.V12, "sub-0", "4f2a9c0d1e2b3a4c-1-", seq)
	}
}
