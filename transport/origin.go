package transport

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Origins is the allow-list of browser origins ("https://app.example.com")
// that may call the REST API cross-origin and open live-push sessions. A
// nil Origins allows any origin (the seed's "CORS enabled").
type Origins struct {
	exact map[string]bool
}

// ParseOrigins reads a comma-separated list of origins; "*" (or an empty
// list) means any origin and returns nil. Each origin is scheme://host[:port],
// compared without case; "null" (file:// pages) may be listed too.
func ParseOrigins(list string) (*Origins, error) {
	o := &Origins{exact: make(map[string]bool)}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			continue
		case s == "*":
			return nil, nil
		case strings.EqualFold(s, "null"):
			o.exact["null"] = true
			continue
		}
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("origin %q: want scheme://host[:port]", s)
		}
		o.exact[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	if len(o.exact) == 0 {
		return nil, nil
	}
	return o, nil
}

// Allowed reports whether a request with Origin origin and Host host may
// go on: no Origin (not a browser's cross-origin call), an allowed origin,
// or the same origin as the request (the dashboard served by Eventara
// itself: browsers send Origin on every WebSocket handshake).
func (o *Origins) Allowed(origin, host string) bool {
	if o == nil || origin == "" {
		return true
	}
	if o.exact[strings.ToLower(origin)] {
		return true
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, host) {
		return true
	}
	return false
}

// checkOrigin refuses, with 403 JSON, any request whose Origin is not
// allowed: WebSocket upgrades, SockJS requests and REST calls alike, so
// the CORS answers further in (which echo the Origin) only ever echo an
// allowed one.
func checkOrigin(o *Origins, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !o.Allowed(r.Header.Get("Origin"), r.Host) {
			origin := r.Header.Get("Origin")
			if len(origin) > 200 {
				origin = origin[:200] + "..."
			}
			writeError(w, http.StatusForbidden, "origin not allowed: "+strconv.Quote(origin), nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}
