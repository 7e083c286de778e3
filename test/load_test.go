package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// ingestLoad posts events to a server from several workers until stopped
// (or the server goes away) and records every id answered 202. Every
// batchEvery-th request of a worker is a batch of batchSize events; with
// invalidEvery > 0, every invalid-th request is an invalid event, which must
// get a 400 and is never counted.
type ingestLoad struct {
	mu    sync.Mutex
	acked []string
	sent  atomic.Int64 // valid events sent
	stop  atomic.Bool
	wg    sync.WaitGroup
}

type loadShape struct {
	workers, batchEvery, batchSize, invalidEvery int
}

func startIngestLoad(t *testing.T, s *server, shape loadShape) *ingestLoad {
	t.Helper()
	l := &ingestLoad{}
	client := &http.Client{Timeout: testutil.Patience}
	for w := 0; w < shape.workers; w++ {
		l.wg.Add(1)
		go func(w int) {
			defer l.wg.Done()
			for i := 0; !l.stop.Load() && i < 100000; i++ {
				body := fmt.Sprintf(`{"eventType":"k%d","source":"w%d"}`, i%5, w)
				url, n := s.url("/api/v1/events"), int64(1)
				if shape.batchEvery > 0 && i%shape.batchEvery == shape.batchEvery-1 {
					body = "[" + strings.Repeat(body+",", shape.batchSize-1) + body + "]"
					url, n = s.url("/api/v1/events/batch"), int64(shape.batchSize)
				}
				if shape.invalidEvery > 0 && i%shape.invalidEvery == shape.invalidEvery/2 {
					body, url, n = `{"eventType":"","source":"x"}`, s.url("/api/v1/events"), 0
				}
				l.sent.Add(n)
				resp, err := client.Post(url, "application/json", strings.NewReader(body))
				if err != nil {
					return // the server is gone
				}
				var r struct {
					EventID  string   `json:"eventId"`
					EventIDs []string `json:"eventIds"`
				}
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if n == 0 {
					if resp.StatusCode != http.StatusBadRequest {
						t.Errorf("invalid event answered %d", resp.StatusCode)
					}
					continue
				}
				if resp.StatusCode != http.StatusAccepted || err != nil {
					if resp.StatusCode != http.StatusServiceUnavailable {
						t.Errorf("status %d for %s", resp.StatusCode, body)
					}
					return
				}
				l.mu.Lock()
				if r.EventID != "" {
					l.acked = append(l.acked, r.EventID)
				}
				l.acked = append(l.acked, r.EventIDs...)
				l.mu.Unlock()
			}
		}(w)
	}
	return l
}

// waitAcked waits until at least n events were acknowledged.
func (l *ingestLoad) waitAcked(t *testing.T, n int) {
	t.Helper()
	testutil.WaitFor(t, testutil.Patience, fmt.Sprintf("%d acknowledged events", n), func() error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.acked) < n {
			return fmt.Errorf("%d so far", len(l.acked))
		}
		return nil
	})
}

// finish stops the workers, waits for them, and returns the acknowledged ids.
func (l *ingestLoad) finish() []string {
	l.stop.Store(true)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked
}
