package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// runTrivial serves the reference `ingest` compares Eventara's single-event
// POST with: a trivial Go JSON handler with no storage. It decodes the
// event with encoding/json, checks that eventType and source are there,
// and answers 202 with a random id, as Eventara's answer looks; nothing is
// validated further, stored, synced or counted. What Eventara costs per
// event beyond it (validation, journal and fsync, metrics) is its own.
// It also answers GET /api/v1/events/health, so bench.sh can wait for it.
//
// With --delay, each answer waits that long first, as a handler that waits
// for an fsync does, with no other work: under the same closed-loop load it
// shows what the waiting alone costs per event (goroutines park, threads
// sleep and wake), a cost no synced ingest avoids.
func runTrivial(args []string) error {
	fs := flag.NewFlagSet("trivial-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8091", "listen address")
	delay := fs.Duration("delay", 0, "wait this long before each answer (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/events", func(w http.ResponseWriter, r *http.Request) {
		if *delay > 0 {
			time.Sleep(*delay)
		}
		trivialIngest(w, r)
	})
	mux.HandleFunc("GET /api/v1/events/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"UP"}`))
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func trivialIngest(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		EventType string          `json:"eventType"`
		Source    string          `json:"source"`
		UserID    string          `json:"userId"`
		Metadata  json.RawMessage `json:"metadata"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&ev); err != nil || ev.EventType == "" || ev.Source == "" {
		http.Error(w, `{"status":"error"}`, http.StatusBadRequest)
		return
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"eventId": hex.EncodeToString(id[:]), "eventType": ev.EventType, "status": "accepted",
		"receivedAt": strconv.FormatInt(time.Now().UnixMilli(), 10),
	})
}
