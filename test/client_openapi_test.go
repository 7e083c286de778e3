package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/eventara/eventara/client"
	"github.com/eventara/eventara/internal/testutil"
)

// contractTransport checks every request the Go client sends, and every
// answer it reads, against the OpenAPI document the server serves.
type contractTransport struct {
	c    *contract
	mu   sync.Mutex
	errs []error
	seen int
}

func (ct *contractTransport) fail(err error) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	ct.errs = append(ct.errs, err)
}

func (ct *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	fresh := func() *http.Request {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		return r
	}
	route, params, err := ct.c.router.FindRoute(fresh())
	if err != nil {
		ct.fail(fmt.Errorf("%s %s: not in the document: %w", req.Method, req.URL.Path, err))
		return http.DefaultTransport.RoundTrip(fresh())
	}
	opts := &openapi3filter.Options{AuthenticationFunc: ct.c.authenticate, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: fresh(), PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		ct.fail(fmt.Errorf("%s %s: the document rejects the client's request: %w", req.Method, req.URL.Path, err))
	}
	resp, err := http.DefaultTransport.RoundTrip(fresh())
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	out.SetBodyBytes(b)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		ct.fail(fmt.Errorf("%s %s: the %d answer does not match the document: %w", req.Method, req.URL.Path, resp.StatusCode, err))
	}
	ct.mu.Lock()
	ct.seen++
	ct.mu.Unlock()
	return resp, nil
}

// TestClientSpeaksTheOpenAPIDocument: what the Go client sends and reads,
// call by call, is what the OpenAPI document describes, so the two cannot
// drift apart unnoticed.
func TestClientSpeaksTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ct := &contractTransport{c: loadContract(t, s, nil)}
	c := goClient(t, "http://"+s.addr, client.WithHTTPClient(&http.Client{Transport: ct}))
	ctx := patienceCtx(t)

	a, err := c.Ingest(ctx, client.Event{EventType: "checkout", Source: "shop", UserID: "u-1", Severity: client.SeverityError,
		Tags: map[string]string{"env": "prod"}, Metadata: map[string]any{"latency": 12}}, client.IdempotencyKey("order-1"))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.Ingest(ctx, client.Event{EventType: "checkout", Source: "shop", UserID: "u-1", Severity: client.SeverityError,
		Tags: map[string]string{"env": "prod"}, Metadata: map[string]any{"latency": 12}}, client.IdempotencyKey("order-1")); err != nil || again.EventID != a.EventID {
		t.Fatalf("retry with the key: %+v, %v (first %s)", again, err, a.EventID)
	}
	if _, err := c.IngestBatch(ctx, []client.Event{{EventType: "page_view", Source: "web"}, {EventType: "login", Source: "web"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Event(ctx, a.EventID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Event(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("unknown event: %v", err)
	}
	if _, err := c.Events(ctx, client.EventQuery{Size: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Events(ctx, client.EventQuery{Type: "checkout", Page: 0, Size: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, testutil.Patience, "a snapshot counting the events", func() error {
		m, err := c.Metrics(ctx)
		if err != nil {
			return err
		}
		if m.Summary.TotalEvents != 3 {
			return fmt.Errorf("totalEvents %v", m.Summary.TotalEvents)
		}
		return nil
	})
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.seen < 9 {
		t.Errorf("only %d calls went through the contract", ct.seen)
	}
	for _, err := range ct.errs {
		t.Error(err)
	}
}
