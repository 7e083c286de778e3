package transport

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseTokens(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, text string
		wantErr    string
		check      map[string]Role // token -> roles it must grant
	}{
		{"file", "# c\nabc ingest\n\n def read,admin # x\n", "", map[string]Role{"abc": RoleIngest, "def": RoleRead | RoleAdmin}},
		{"env items", "a ingest;b read", "", map[string]Role{"a": RoleIngest, "b": RoleRead}},
		{"unknown role", "a root", "unknown role", nil},
		{"missing role", "a", "want", nil},
		{"duplicate", "a read\na ingest", "twice", nil},
		{"secret not quoted", "s3cr3t read extra", "3 fields", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tok, err := ParseTokens("src", c.text)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("err %v, want %q without the token", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for token, want := range c.check {
				if err := tok.Check(token, want&^RoleAdmin); err != nil {
					t.Fatalf("%s: %v", token, err)
				}
			}
		})
	}
}

func TestTokensCheck(t *testing.T) {
	t.Parallel()
	tok, err := ParseTokens("t", "i ingest\nr read\na admin")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		token string
		want  Role
		err   error
	}{
		{"", RoleRead, ErrNoToken}, {"x", RoleRead, ErrBadToken}, {"i", RoleRead, ErrForbidden},
		{"i", RoleIngest, nil}, {"r", RoleRead, nil}, {"r", RoleAdmin, ErrForbidden},
		{"a", RoleRead, nil}, {"a", RoleIngest, nil}, {"a", RoleAdmin, nil}, {"r ", RoleRead, ErrBadToken},
	}
	for _, c := range cases {
		if err := tok.Check(c.token, c.want); !errors.Is(err, c.err) {
			t.Errorf("Check(%q, %v) = %v, want %v", c.token, c.want, err, c.err)
		}
	}
}

func TestRequiredAccess(t *testing.T) {
	t.Parallel()
	cases := []struct {
		method, path string
		want         access
	}{
		{"GET", "/api/v1/events/health", access{open: true}},
		{"GET", "/api/v1/openapi.json", access{open: true}},
		{"GET", "/docs", access{open: true}},
		{"POST", "/api/v1/events", access{role: RoleIngest}},
		{"POST", "/api/v1/events/batch", access{role: RoleIngest}},
		{"GET", "/api/v1/events", access{role: RoleRead}},
		{"GET", "/api/v1/metrics", access{role: RoleRead}},
		{"POST", "/api/v1/metrics/reset", access{role: RoleAdmin}},
		{"GET", "/api/v1/system/actors", access{role: RoleAdmin}},
		{"GET", "/metrics", access{role: RoleAdmin}},
		{"GET", "/debug/faults", access{role: RoleAdmin}},
		{"GET", "/api/v1/rules", access{role: RoleRead}},
		{"GET", "/api/v1/alerts/x-1", access{role: RoleRead}},
		{"POST", "/api/v1/rules/test", access{role: RoleRead}},
		{"POST", "/api/v1/rules/test/r1", access{role: RoleRead}},
		{"POST", "/api/v1/rules", access{role: RoleAdmin}},
		{"PUT", "/api/v1/rules/r1", access{role: RoleAdmin}},
		{"DELETE", "/api/v1/rules/r1", access{role: RoleAdmin}},
		{"POST", "/api/v1/rules/r1/enable", access{role: RoleAdmin}},
		{"POST", "/api/v1/alerts/x-1/acknowledge", access{role: RoleAdmin}},
		{"POST", "/api/v1/alerts/x-1/resolve", access{role: RoleAdmin}},
		{"GET", "/api/v1/notifications/channels", access{role: RoleRead}},
		{"GET", "/api/v1/notifications/logs/stats", access{role: RoleRead}},
		{"POST", "/api/v1/notifications/channels", access{role: RoleAdmin}},
		{"PUT", "/api/v1/notifications/channels/c1", access{role: RoleAdmin}},
		{"DELETE", "/api/v1/notifications/channels/c1", access{role: RoleAdmin}},
		{"POST", "/api/v1/notifications/channels/c1/test", access{role: RoleAdmin}},
		{"GET", "/ws/info", access{role: RoleRead, optional: true, push: true}},
		{"GET", "/", access{open: true}},
		{"GET", "/wsx", access{open: true}},
	}
	for _, c := range cases {
		if got := requiredAccess(httptest.NewRequest(c.method, c.path, nil), "/ws"); got != c.want {
			t.Errorf("%s %s: %+v, want %+v", c.method, c.path, got, c.want)
		}
	}
}

func TestOrigins(t *testing.T) {
	t.Parallel()
	if o, err := ParseOrigins("*"); o != nil || err != nil {
		t.Fatalf("*: %v %v", o, err)
	}
	if _, err := ParseOrigins("app.example"); err == nil {
		t.Fatal("origin without scheme accepted")
	}
	o, err := ParseOrigins("https://App.example, null")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		origin, host string
		want         bool
	}{
		{"", "x", true}, {"https://app.example", "x", true}, {"null", "x", true},
		{"https://evil.example", "x", false}, {"http://app.example", "x", false},
		{"http://svc:8080", "svc:8080", true},
	} {
		if got := o.Allowed(c.origin, c.host); got != c.want {
			t.Errorf("Allowed(%q, %q) = %v", c.origin, c.host, got)
		}
	}
}

// FuzzParseTokens: the token file parser never panics, and every token it
// accepts is then found.
func FuzzParseTokens(f *testing.F) {
	for _, s := range []string{"a ingest", "# c\nb read,admin\n", "x y z", "a read;b ingest", "\x00 read", "a ,,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tok, err := ParseTokens("fuzz", text)
		if err != nil {
			return
		}
		for _, line := range strings.Split(strings.ReplaceAll(text, ";", "\n"), "\n") {
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			if fs := strings.Fields(line); len(fs) == 2 {
				if _, _, ok := tok.lookup(fs[0]); !ok {
					t.Fatalf("token of %q not found", line)
				}
			}
		}
	})
}

// A push request refused for its token carries CORS headers, so a browser
// can read the 401/403; other refusals and answers are unchanged.
func TestAuthenticatePushRefusalHasCORS(t *testing.T) {
	t.Parallel()
	tok, err := ParseTokens("t", "i ingest\nr read")
	if err != nil {
		t.Fatal(err)
	}
	h := authenticate(tok, "/ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	cases := []struct {
		name, target, origin string
		wantStatus           int
		wantACAO             string
	}{
		{"bad token on /ws/info", "/ws/info?access_token=nope", "http://app.example", http.StatusUnauthorized, "http://app.example"},
		{"ingest-only token on a SockJS session", "/ws/000/abc/xhr?access_token=i", "http://app.example", http.StatusForbidden, "http://app.example"},
		{"bad token, no Origin", "/ws/info?access_token=nope", "", http.StatusUnauthorized, "*"},
		{"no token: STOMP CONNECT decides", "/ws/info", "http://app.example", http.StatusTeapot, ""},
		{"read token", "/ws/info?access_token=r", "http://app.example", http.StatusTeapot, ""},
		{"REST refusal: cors() adds its own", "/api/v1/metrics", "http://app.example", http.StatusUnauthorized, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, c.target, nil)
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, c.wantStatus)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != c.wantACAO {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, c.wantACAO)
			}
			if c.wantACAO != "" && c.origin != "" && w.Header().Get("Access-Control-Allow-Credentials") != "true" {
				t.Fatal("no Access-Control-Allow-Credentials: true")
			}
		})
	}
}
