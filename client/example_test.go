package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/eventara/eventara/client"
)

// Ingest an event, then read the metrics it counts in. (Compile-only: it
// needs a running server.)
func Example() {
	ctx := context.Background()
	c, err := client.New("http://localhost:8080", client.WithToken(os.Getenv("EVENTARA_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	a, err := c.Ingest(ctx, client.Event{
		EventType: "page_view",
		Source:    "web",
		UserID:    "u1",
		Metadata:  map[string]any{"latency": 42},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored", a.EventID)
	m, err := c.Metrics(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Summary.TotalEvents, "events,", m.Summary.EventsPerSecond, "per second")
}

// A batch stores its valid events and says which others were refused.
// (Compile-only.)
func ExampleClient_IngestBatch() {
	c, err := client.New("http://localhost:8080")
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.IngestBatch(context.Background(), []client.Event{
		{EventType: "signup", Source: "web"},
		{EventType: "", Source: "web"},
	}, client.IdempotencyKey("import-2026-12-07-part-1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Accepted, "stored")
	for _, r := range res.Rejected {
		fmt.Println("event", r.Index, "refused:", r.Errors)
	}
}

// Follow the live snapshot until the context ends. A reader slower than
// one snapshot a second gets the newest one; the subscription reconnects
// by itself. (Compile-only.)
func ExampleClient_Subscribe() {
	c, err := client.New("http://localhost:8080")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := c.Subscribe(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for snap := range sub.C {
		fmt.Println(snap.Summary.LastUpdated, snap.Summary.TotalEvents, snap.Summary.SystemHealth)
	}
	if err := sub.Err(); !errors.Is(err, context.DeadlineExceeded) {
		log.Fatal(err) // refused for good: a bad token, say
	}
}

// A refused event comes back as an *APIError with the server's field
// errors; it is never retried. (The stand-in server answers as Eventara
// answers such an event.)
func ExampleAPIError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"status":"error","message":"invalid event","errors":{"eventType":"must not be blank","severity":"must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"}}`)
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL)
	defer c.CloseIdleConnections()

	_, err := c.Ingest(context.Background(), client.Event{Source: "web", Severity: "loud"})
	var ae *client.APIError
	if errors.As(err, &ae) {
		fmt.Println(ae.StatusCode, ae.Message)
		fmt.Println("eventType:", ae.Errors["eventType"])
	}
	fmt.Println(errors.Is(err, client.ErrInvalid))
	// Output:
	// 400 invalid event
	// eventType: must not be blank
	// true
}

// Event's 404 is ErrNotFound. (The stand-in server answers as Eventara
// does for an unknown id.)
func ExampleClient_Event() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"status":"error","message":"no event \"01M8HH73MCX5X3AMCJ1QSTMP9P\""}`)
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL)
	defer c.CloseIdleConnections()

	_, err := c.Event(context.Background(), "01M8HH73MCX5X3AMCJ1QSTMP9P")
	if errors.Is(err, client.ErrNotFound) {
		fmt.Println("gone:", err)
	}
	// Output:
	// gone: eventara: GET /api/v1/events/01M8HH73MCX5X3AMCJ1QSTMP9P: 404 no event "01M8HH73MCX5X3AMCJ1QSTMP9P"
}
