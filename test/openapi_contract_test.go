package test

// The contract checker of openapi_test.go: real requests to the real
// binary, each request and answer judged against the OpenAPI document the
// binary serves, with kin-openapi's openapi3filter (OpenAPI 3.1: its
// schemas are checked as JSON Schema 2020-12).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/eventara/eventara/internal/testutil"
)

// contract is the document a server serves, and how to judge its traffic.
type contract struct {
	s      *server
	doc    *openapi3.T
	router routers.Router
	// tokens maps each bearer token to its roles, for the document's
	// security requirements; nil when the server runs without tokens.
	tokens map[string][]string
}

// loadContract fetches GET /api/v1/openapi.json from s and loads it.
func loadContract(t *testing.T, s *server, tokens map[string][]string) *contract {
	t.Helper()
	code, b := do(t, http.MethodGet, s.url("/api/v1/openapi.json"), "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", code, b)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("load the served document: %v", err)
	}
	if v := doc.OpenAPIMajorMinor(); v != "3.1" {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	// The document names its server relative to where it is served
	// ("../.." from /api/v1/openapi.json); the router needs it absolute.
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "../.." {
		t.Fatalf("servers %+v, want the one relative server ../..", doc.Servers)
	}
	doc.Servers = openapi3.Servers{{URL: s.url("")}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("the served document is not a valid OpenAPI document: %v", err)
	}
	return &contract{s: s, doc: doc, router: router, tokens: tokens}
}

// call is one request of a contract test and what it should get.
type call struct {
	method, path string
	token        string // bearer token, if any
	header       http.Header
	contentType  string // default application/json when body is set
	body         []byte
	status       int
	// invalidRequest: the document itself rejects the request (bad input
	// the server refuses too): its schema says what the server enforces.
	invalidRequest bool
}

// answer is what the server answered.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the answer's body.
func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body not a JSON object: %v: %q", err, a.body)
	}
	return m
}

func (c *contract) request(t testing.TB, cl call) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), cl.method, c.s.url(cl.path), bytes.NewReader(cl.body))
	if err != nil {
		t.Fatal(err)
	}
	if ct := cl.contentType; ct != "" {
		req.Header.Set("Content-Type", ct)
	} else if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.token != "" {
		req.Header.Set("Authorization", "Bearer "+cl.token)
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	return req
}

// authenticate is the document's security requirements as the server
// applies them: a bearer token holding one of the roles listed (admin
// holds them all), when the server has tokens.
func (c *contract) authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if c.tokens == nil {
		return nil
	}
	if in.SecurityScheme.Type != "http" || in.SecurityScheme.Scheme != "bearer" {
		return fmt.Errorf("unexpected security scheme %q", in.SecuritySchemeName)
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return errors.New("no bearer token")
	}
	roles, ok := c.tokens[tok]
	if !ok {
		return errors.New("unknown token")
	}
	for _, want := range in.Scopes {
		if !slices.Contains(roles, want) && !slices.Contains(roles, "admin") {
			return fmt.Errorf("token lacks the %s role", want)
		}
	}
	return nil
}

// do sends cl, checks the request against the document (valid unless
// cl.invalidRequest), the status, and the answer against the document.
func (c *contract) do(t testing.TB, cl call) answer {
	t.Helper()
	req := c.request(t, cl)
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s: not in the document: %v", cl.method, cl.path, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: c.authenticate, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: c.request(t, cl), PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case reqErr != nil && !cl.invalidRequest:
		t.Errorf("%s %s: the document rejects the request: %v", cl.method, cl.path, reqErr)
	case reqErr == nil && cl.invalidRequest:
		t.Errorf("%s %s: the document accepts a request the test expects it to refuse", cl.method, cl.path)
	}

	a := c.send(t, req)
	if a.status != cl.status {
		t.Fatalf("%s %s: status %d, want %d: %s", cl.method, cl.path, a.status, cl.status, a.body)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: a.status, Header: a.header, Options: opts}
	out.SetBodyBytes(a.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s: the %d answer does not match the document: %v\n%s", cl.method, cl.path, a.status, err, clip(a.body))
	}
	return a
}

// doUndocumented sends a request the document has no operation for (an
// unknown path, a method a path does not take) and checks the answer
// against the document's shared response named response.
func (c *contract) doUndocumented(t testing.TB, cl call, response string) answer {
	t.Helper()
	req := c.request(t, cl)
	if _, _, err := c.router.FindRoute(req); err == nil {
		t.Fatalf("%s %s is in the document", cl.method, cl.path)
	}
	a := c.send(t, req)
	if a.status != cl.status {
		t.Fatalf("%s %s: status %d, want %d: %s", cl.method, cl.path, a.status, cl.status, a.body)
	}
	ref := c.doc.Components.Responses[response]
	if ref == nil || ref.Value == nil {
		t.Fatalf("no response %s in the document's components", response)
	}
	for name, h := range ref.Value.Headers {
		if h.Value.Required && a.header.Get(name) == "" {
			t.Errorf("%s %s: no %s header, which %s requires", cl.method, cl.path, name, response)
		}
	}
	mt := ref.Value.Content.Get(a.header.Get("Content-Type"))
	if mt == nil {
		t.Fatalf("%s %s: Content-Type %q is not one of %s's", cl.method, cl.path, a.header.Get("Content-Type"), response)
	}
	var v any
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("%s %s: body not JSON: %q", cl.method, cl.path, a.body)
	}
	if err := mt.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("%s %s: the %d answer does not match %s: %v\n%s", cl.method, cl.path, a.status, response, err, clip(a.body))
	}
	return a
}

func (c *contract) send(t testing.TB, req *http.Request) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), testutil.Patience)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// clip shortens a body for a failure message.
func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}
