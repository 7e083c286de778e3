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
//
// With --fsync FILE, each answer waits until the event's bytes are in FILE
// and fdatasynced, by group commit (fsyncGroups): the floor of an ingest
// whose every 202 is synced, with the simplest storage there is (an
// append-only file, no index, no metrics).
func runTrivial(args []string) error {
	fs := flag.NewFlagSet("trivial-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8091", "listen address")
	delay := fs.Duration("delay", 0, "wait this long before each answer (0: none)")
	syncTo := fs.String("fsync", "", "append each event to this file and answer once it is fdatasynced, by group commit (empty: no storage)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var groups *fsyncGroups
	if *syncTo != "" {
		f, err := os.OpenFile(*syncTo, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		groups = newFsyncGroups(f)
		defer groups.close()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/events", func(w http.ResponseWriter, r *http.Request) {
		if *delay > 0 {
			time.Sleep(*delay)
		}
		trivialIngest(w, r, groups)
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

func trivialIngest(w http.ResponseWriter, r *http.Request, groups *fsyncGroups) {
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
	if groups != nil {
		line, _ := json.Marshal(ev)
		if err := groups.append(append(line, '\n')); err != nil {
			http.Error(w, `{"status":"error"}`, http.StatusServiceUnavailable)
			return
		}
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

// fsyncGroups appends to a file by group commit: one goroutine writes
// everything that is waiting in one write, fdatasyncs, and then releases
// each waiter; what arrives meanwhile waits for the next group. At most
// 4,096 appends wait (the queue is bounded; an append beyond blocks).
type fsyncGroups struct {
	f    *os.File
	reqs chan fsyncReq
	done chan struct{}
}

type fsyncReq struct {
	data []byte
	err  chan error
}

func newFsyncGroups(f *os.File) *fsyncGroups {
	g := &fsyncGroups{f: f, reqs: make(chan fsyncReq, 4096), done: make(chan struct{})}
	go g.run()
	return g
}

// append returns once data is in the file and synced.
func (g *fsyncGroups) append(data []byte) error {
	r := fsyncReq{data: data, err: make(chan error, 1)}
	g.reqs <- r
	return <-r.err
}

func (g *fsyncGroups) close() {
	close(g.reqs)
	<-g.done
}

func (g *fsyncGroups) run() {
	defer close(g.done)
	var group []fsyncReq
	var buf []byte
	for r := range g.reqs {
		group, buf = append(group[:0], r), append(buf[:0], r.data...)
	drain:
		for {
			select {
			case r, ok := <-g.reqs:
				if !ok {
					break drain
				}
				group, buf = append(group, r), append(buf, r.data...)
			default:
				break drain
			}
		}
		_, err := g.f.Write(buf)
		if err == nil {
			err = fdatasync(g.f)
		}
		for _, r := range group {
			r.err <- err
		}
	}
}
