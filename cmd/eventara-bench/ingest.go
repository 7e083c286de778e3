package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func runIngest(args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	conns := fs.Int("conns", 64, "concurrent keep-alive connections")
	batch := fs.Int("batch", 1, "events per request (1 uses POST /api/v1/events, more uses /batch)")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	maxEvents := fs.Int64("max-events", 0, "stop after this many events (0: no limit)")
	pid := fs.Int("server-pid", 0, "the server's pid, to read its CPU time and RSS from /proc")
	if err := fs.Parse(args); err != nil {
		return err
	}
	endpoint := *url + "/api/v1/events"
	body := makeBody(*batch)
	if *batch > 1 {
		endpoint += "/batch"
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}}

	var (
		events, errs atomic.Int64
		mu           sync.Mutex
		lats         []time.Duration
		wg           sync.WaitGroup
	)
	before, perr := procBefore(*pid)
	if perr != nil {
		return perr
	}
	start := time.Now()
	deadline := start.Add(*duration)
	for c := 0; c < *conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<14)
			for time.Now().Before(deadline) && (*maxEvents == 0 || events.Load() < *maxEvents) {
				t0 := time.Now()
				resp, err := client.Post(endpoint, "application/json", bytes.NewReader(body))
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					errs.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
				events.Add(int64(*batch))
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lats)
	n := events.Load()
	fmt.Printf("ingest: conns=%d batch=%d duration=%s\n", *conns, *batch, elapsed.Round(time.Millisecond))
	fmt.Printf("  events accepted   %d (%d requests, %d errors)\n", n, len(lats), errs.Load())
	fmt.Printf("  events/s          %.0f\n", float64(n)/elapsed.Seconds())
	fmt.Printf("  ack latency       p50 %s  p99 %s  max %s\n", percentile(lats, 50), percentile(lats, 99), percentile(lats, 100))
	return procAfter(*pid, before, n, "event")
}

// makeBody builds one request body of batch events (an object when 1).
func makeBody(batch int) []byte {
	one := func(i int) string {
		return fmt.Sprintf(`{"eventType":"bench_%d","source":"bench-%d","userId":"user-%d","severity":"%s","tags":{"region":"eu"},"metadata":{"latency":%d,"path":"/checkout"}}`,
			i%50, i%10, i%1000, []string{"INFO", "INFO", "INFO", "WARNING", "ERROR"}[i%5], 5+i%200)
	}
	if batch <= 1 {
		return []byte(one(0))
	}
	parts := make([]string, batch)
	for i := range parts {
		parts[i] = one(i)
	}
	return []byte("[" + strings.Join(parts, ",") + "]")
}

func procBefore(pid int) (procStats, error) {
	if pid == 0 {
		return procStats{}, nil
	}
	st, err := readProc(pid)
	if err != nil {
		return st, fmt.Errorf("read server stats: %w", err)
	}
	return st, nil
}

func procAfter(pid int, before procStats, units int64, unit string) error {
	if pid == 0 {
		return nil
	}
	after, err := readProc(pid)
	if err != nil {
		return fmt.Errorf("read server stats: %w", err)
	}
	cpu := after.CPU - before.CPU
	per := time.Duration(0)
	if units > 0 {
		per = cpu / time.Duration(units)
	}
	fmt.Printf("  server CPU        %s total, %s per %s\n", cpu, per, unit)
	fmt.Printf("  server RSS        %.1f MiB\n", float64(after.RSS)/(1<<20))
	return nil
}
