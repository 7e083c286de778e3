package transport

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/eventara/eventara/transport/sockjs"
)

// Role is a set of things a token may do.
type Role uint8

const (
	// RoleIngest may POST events.
	RoleIngest Role = 1 << iota
	// RoleRead may read metrics and events and open live-push sessions.
	RoleRead
	// RoleAdmin may reset metrics and use /api/v1/system, /debug and
	// /metrics; it implies the other two roles.
	RoleAdmin
)

// Has reports whether r grants want (admin grants everything).
func (r Role) Has(want Role) bool { return r&RoleAdmin != 0 || r&want == want }

func (r Role) String() string {
	var names []string
	for _, n := range roleNames {
		if r&n.role != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

var roleNames = []struct {
	name string
	role Role
}{{"ingest", RoleIngest}, {"read", RoleRead}, {"admin", RoleAdmin}}

// Errors of token checks. Their texts are what clients see (HTTP message,
// STOMP ERROR message); none quotes the token.
var (
	// ErrNoToken: the request or session presented no token.
	ErrNoToken = errors.New("authentication required: send Authorization: Bearer <token>")
	// ErrBadToken: the token is not one of the configured tokens.
	ErrBadToken = errors.New("invalid token")
	// ErrForbidden: the token is valid but lacks the role the action needs.
	ErrForbidden = errors.New("forbidden: token lacks the required role")
)

// Tokens is the set of bearer tokens and their roles. Tokens are kept only
// as SHA-256 digests and compared in constant time against every entry, so
// neither the lookup's timing nor a memory dump gives a token away.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	digest [sha256.Size]byte
	roles  Role
	name   string // "token-<n>": what logs and rate-limit keys use
}

// ParseTokens reads token definitions: one "<token> <role>[,<role>]" per
// line (or per ';'-separated item, for an environment variable), blank
// lines and '#' comments ignored. Roles are ingest, read and admin. src
// names the source in errors, which never quote a token.
func ParseTokens(src, text string) (*Tokens, error) {
	t := &Tokens{}
	seen := make(map[[sha256.Size]byte]bool)
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(text, ";", "\n")))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		fields := strings.Fields(s)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s: item %d: want \"<token> <role>[,<role>]\", got %d fields", src, line, len(fields))
		}
		var roles Role
		for _, name := range strings.Split(fields[1], ",") {
			r, ok := parseRole(name)
			if !ok {
				return nil, fmt.Errorf("%s: item %d: unknown role %q (want ingest, read or admin)", src, line, name)
			}
			roles |= r
		}
		d := sha256.Sum256([]byte(fields[0]))
		if seen[d] {
			return nil, fmt.Errorf("%s: item %d: token defined twice", src, line)
		}
		seen[d] = true
		t.entries = append(t.entries, tokenEntry{digest: d, roles: roles, name: "token-" + strconv.Itoa(len(t.entries)+1)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return t, nil
}

func parseRole(s string) (Role, bool) {
	for _, n := range roleNames {
		if strings.EqualFold(strings.TrimSpace(s), n.name) {
			return n.role, true
		}
	}
	return 0, false
}

// Merge returns the tokens of t and o together.
func (t *Tokens) Merge(o *Tokens) *Tokens {
	if t == nil {
		return o
	}
	if o == nil {
		return t
	}
	m := &Tokens{entries: append(append([]tokenEntry(nil), t.entries...), o.entries...)}
	for i := range m.entries {
		m.entries[i].name = "token-" + strconv.Itoa(i+1)
	}
	return m
}

// Len is the number of tokens.
func (t *Tokens) Len() int { return len(t.entries) }

// lookup returns the roles and name of token. It compares the token's
// digest with every entry, whatever matches, so its time does not depend
// on which entry (if any) matched.
func (t *Tokens) lookup(token string) (Role, string, bool) {
	d := sha256.Sum256([]byte(token))
	var roles Role
	name := ""
	found := 0
	for i := range t.entries {
		eq := subtle.ConstantTimeCompare(d[:], t.entries[i].digest[:])
		roles |= Role(subtle.ConstantTimeSelect(eq, int(t.entries[i].roles), 0))
		if eq == 1 {
			name = t.entries[i].name
		}
		found |= eq
	}
	return roles, name, found == 1
}

// Check returns nil when token grants want, else ErrNoToken, ErrBadToken
// or ErrForbidden.
func (t *Tokens) Check(token string, want Role) error {
	_, err := t.check(token, want)
	return err
}

func (t *Tokens) check(token string, want Role) (string, error) {
	if token == "" {
		return "", ErrNoToken
	}
	roles, name, ok := t.lookup(token)
	if !ok {
		return "", ErrBadToken
	}
	if !roles.Has(want) {
		return name, ErrForbidden
	}
	return name, nil
}

// AuthorizeRead is actors.SessionConfig.Authorize: live push needs the
// read role.
func (t *Tokens) AuthorizeRead(token string) error { return t.Check(token, RoleRead) }

// principalKey holds, in a request's context, the name of the token that
// authenticated it.
type principalKey struct{}

// principal returns the authenticated token's name, or "".
func principal(r *http.Request) string {
	s, _ := r.Context().Value(principalKey{}).(string)
	return s
}

// bearerToken returns the request's token: the Authorization header's
// bearer token or, on live-push paths (which browsers' SockJS transports
// open without headers), the access_token query parameter.
func bearerToken(r *http.Request, pushPath bool) string {
	if v := r.Header.Get("Authorization"); v != "" {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
		return ""
	}
	if pushPath {
		return r.URL.Query().Get("access_token")
	}
	return ""
}

// access is what a request needs: open (no token), a role, or, on
// live-push paths, a role only when a token is presented (the STOMP
// CONNECT is checked otherwise).
type access struct {
	open     bool
	role     Role
	optional bool
	push     bool
}

// requiredAccess maps a request to the role it needs. Health stays open
// for load balancers; CORS preflights, the OpenAPI document, /docs and the
// dashboard's static files carry no data.
func requiredAccess(r *http.Request, pushPrefix string) access {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "":
		return access{open: true}
	case p == "/api/v1/events/health", p == openAPIPath:
		return access{open: true}
	case (p == "/api/v1/events" || p == "/api/v1/events/batch") && r.Method == http.MethodPost:
		return access{role: RoleIngest}
	case p == "/api/v1/metrics/reset" || p == "/api/v1/system" || strings.HasPrefix(p, "/api/v1/system/"):
		return access{role: RoleAdmin}
	case changesAlerting(r.Method, p):
		return access{role: RoleAdmin}
	case strings.HasPrefix(p, "/api/"):
		return access{role: RoleRead}
	case p == "/debug" || strings.HasPrefix(p, "/debug/") || p == "/metrics":
		return access{role: RoleAdmin}
	case pushPrefix != "" && (p == pushPrefix || strings.HasPrefix(p, pushPrefix+"/")):
		return access{role: RoleRead, optional: true, push: true}
	}
	return access{open: true}
}

// changesAlerting reports whether a request changes rules, alerts or
// notification channels, or sends a channel test (the admin role's):
// anything but a read or a rule test under /api/v1/rules, /api/v1/alerts
// and /api/v1/notifications.
func changesAlerting(method, p string) bool {
	if !strings.HasPrefix(p, "/api/v1/rules") && !strings.HasPrefix(p, "/api/v1/alerts") && !strings.HasPrefix(p, "/api/v1/notifications") {
		return false
	}
	if method == http.MethodGet || method == http.MethodHead {
		return false
	}
	return p != "/api/v1/rules/test" && !strings.HasPrefix(p, "/api/v1/rules/test/")
}

// authenticate answers 401 or 403 (JSON, with a WWW-Authenticate
// challenge) to a request whose token does not grant what its endpoint
// needs, and records the token's name for the rate limiter.
func authenticate(tokens *Tokens, pushPrefix string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		need := requiredAccess(r, pushPrefix)
		if need.open {
			next.ServeHTTP(w, r)
			return
		}
		token := bearerToken(r, need.push)
		if token == "" && need.optional {
			next.ServeHTTP(w, r)
			return
		}
		name, err := tokens.check(token, need.role)
		if err != nil && need.push {
			sockjs.SetCORS(w, r) // so a browser can read the 401 or 403; checkOrigin ran first
		}
		switch {
		case errors.Is(err, ErrForbidden):
			writeError(w, http.StatusForbidden, "forbidden: this endpoint needs the "+need.role.String()+" role", nil)
			return
		case errors.Is(err, ErrNoToken):
			w.Header().Set("WWW-Authenticate", `Bearer realm="eventara"`)
			writeError(w, http.StatusUnauthorized, err.Error(), nil)
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="eventara", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, err.Error(), nil)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, name)))
	})
}
