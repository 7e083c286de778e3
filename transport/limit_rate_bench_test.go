package transport

import (
	"strconv"
	"testing"
)

// BenchmarkRateLimiterTake is one ingest request's limiter cost: a token
// from a bucket among 1,000 keys, as many clients would take them.
func BenchmarkRateLimiterTake(b *testing.B) {
	l := newRateLimiter(RateLimit{Rate: 1e9, Burst: 1e9})
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "ip:10.0.0." + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		l.take(keys[i%len(keys)])
	}
}
