package sockjs

import (
	"net/http"
	"time"
)

const (
	noCache   = "no-store, no-cache, no-transform, must-revalidate, max-age=0"
	oneYear   = 365 * 24 * time.Hour
	oneYearS  = "31536000"
	cachedFor = "public, max-age=" + oneYearS
)

// SetCORS is the service's one CORS answer, for SockJS and the REST API
// alike: it echoes the request's Origin (even "null", which browsers send
// from file:// pages) with credentials, so the JSESSIONID cookie can flow;
// with no Origin it allows any. Which origins get here at all is decided
// before (--allowed-origins). Every SockJS answer carries it, and so do
// answers given for the handler in front of it (a refused token).
func SetCORS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if o := r.Header.Get("Origin"); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Allow-Credentials", "true")
	} else {
		h.Set("Access-Control-Allow-Origin", "*")
	}
	h.Add("Vary", "Origin")
}

// setNoCache forbids caching: several transports fetch private data with
// GET, and iOS 6 caches POSTs.
func setNoCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", noCache)
}

func setCached(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", cachedFor)
	h.Set("Expires", time.Now().Add(oneYear).UTC().Format(http.TimeFormat))
}

// Preflight answers a CORS OPTIONS request for methods, cacheable for a
// year, allowing the headers the browser asks for.
func Preflight(w http.ResponseWriter, r *http.Request, methods string) {
	h := w.Header()
	SetCORS(w, r)
	setCached(w)
	h.Set("Access-Control-Max-Age", oneYearS)
	h.Set("Access-Control-Allow-Methods", methods)
	if hdrs := r.Header.Get("Access-Control-Request-Headers"); hdrs != "" {
		h.Set("Access-Control-Allow-Headers", hdrs)
	}
	w.WriteHeader(http.StatusNoContent)
}

// setCookie sets JSESSIONID when the handler is configured to need it,
// echoing the client's value.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.CookieNeeded {
		return
	}
	v := "dummy"
	if c, err := r.Cookie("JSESSIONID"); err == nil && c.Value != "" {
		v = c.Value
	}
	w.Header().Set("Set-Cookie", "JSESSIONID="+v+"; path=/")
}
