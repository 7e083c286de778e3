package transport

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/eventara/eventara/transport/sockjs"
)

// ConnLimits bounds open client connections (TCP connections: REST
// keep-alives, SockJS streams and polls, WebSockets alike). Zero fields
// mean no limit.
type ConnLimits struct {
	// Total bounds the connections the server holds at once. One more gets
	// 503 and is closed.
	Total int
	// PerIP bounds the connections from one client IP. One more gets 429
	// and is closed. Behind a proxy every client shares the proxy's IP.
	PerIP int
}

// ConnLimiter enforces ConnLimits. Wire ConnContext and ConnState into the
// http.Server and pass the limiter as Config.Conns: a connection over a
// limit is counted at accept time, and its first request is answered with
// the error and "Connection: close". A WebSocket leaves the server's
// accounting when it is hijacked; the limiter keeps counting it until its
// handler returns, unless the handler took the release over through
// sockjs.DetachConn (the push handler does, and runs the WebSocket on after
// returning): then it is counted until that release is called, when the
// WebSocket is over.
type ConnLimiter struct {
	limits ConnLimits

	mu    sync.Mutex
	total int
	perIP map[string]int
	conns map[net.Conn]*connInfo
}

type connInfo struct {
	ip       string
	refused  int  // 0, or the status its requests get
	counted  bool // counted in total and perIP; cleared on release
	hijacked bool
	detached bool // the hijacker releases it (sockjs.DetachConn)
}

// connHandle is the sockjs.ConnDetacher a connection's context carries.
type connHandle struct {
	l    *ConnLimiter
	info *connInfo
}

// Detach implements sockjs.ConnDetacher: the handler's return no longer
// releases a hijacked connection; the returned func does (once; later calls
// do nothing).
func (h connHandle) Detach() func() {
	h.l.mu.Lock()
	h.info.detached = true
	h.l.mu.Unlock()
	return func() {
		h.l.mu.Lock()
		h.l.releaseLocked(h.info)
		h.l.mu.Unlock()
	}
}

type connInfoKey struct{}

// NewConnLimiter returns a limiter for l.
func NewConnLimiter(l ConnLimits) *ConnLimiter {
	return &ConnLimiter{limits: l, perIP: make(map[string]int), conns: make(map[net.Conn]*connInfo)}
}

// ConnContext is http.Server.ConnContext: it admits or refuses c.
func (l *ConnLimiter) ConnContext(ctx context.Context, c net.Conn) context.Context {
	info := &connInfo{ip: clientIP(c.RemoteAddr().String())}
	l.mu.Lock()
	switch {
	case l.limits.Total > 0 && l.total >= l.limits.Total:
		info.refused = http.StatusServiceUnavailable
	case l.limits.PerIP > 0 && l.perIP[info.ip] >= l.limits.PerIP:
		info.refused = http.StatusTooManyRequests
	default:
		l.total++
		l.perIP[info.ip]++
		info.counted = true
	}
	l.conns[c] = info
	l.mu.Unlock()
	ctx = sockjs.WithConnDetacher(ctx, connHandle{l, info})
	return context.WithValue(ctx, connInfoKey{}, info)
}

// ConnState is http.Server.ConnState: a closed connection is released; a
// hijacked one stays counted until its handler returns, or until the
// release a detaching handler took is called.
func (l *ConnLimiter) ConnState(c net.Conn, s http.ConnState) {
	if s != http.StateClosed && s != http.StateHijacked {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	info, ok := l.conns[c]
	if !ok {
		return
	}
	delete(l.conns, c)
	if s == http.StateHijacked {
		info.hijacked = true
		return
	}
	l.releaseLocked(info)
}

func (l *ConnLimiter) releaseLocked(info *connInfo) {
	if !info.counted {
		return
	}
	info.counted = false
	l.total--
	if n := l.perIP[info.ip] - 1; n > 0 {
		l.perIP[info.ip] = n
	} else {
		delete(l.perIP, info.ip)
	}
}

// Open returns the number of connections counted now.
func (l *ConnLimiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// limitConns answers the requests of a refused connection with the
// documented error and closes it; after a hijacking handler (a WebSocket)
// returns, it releases the connection unless the handler detached it.
func limitConns(l *ConnLimiter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, _ := r.Context().Value(connInfoKey{}).(*connInfo)
		if info == nil {
			next.ServeHTTP(w, r)
			return
		}
		if info.refused != 0 {
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", "1")
			msg := "too many connections: the server holds at most " + strconv.Itoa(l.limits.Total)
			if info.refused == http.StatusTooManyRequests {
				msg = "too many connections from your address: at most " + strconv.Itoa(l.limits.PerIP)
			}
			writeError(w, info.refused, msg, nil)
			return
		}
		defer func() {
			l.mu.Lock()
			if info.hijacked && !info.detached {
				l.releaseLocked(info)
			}
			l.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}
