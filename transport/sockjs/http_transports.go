package sockjs

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/eventara/eventara/protocol/sockjs"
)

// httpTransport describes one receiving HTTP transport: how its response
// starts and how it wraps each frame.
type httpTransport struct {
	name        string // ClientConn.Transport
	method      string
	streaming   bool
	cors        bool // XHR transports: CORS headers and OPTIONS preflight
	callback    bool // needs a ?c= JavaScript callback
	contentType string
	prelude     func(dst []byte, callback string) []byte
	wrap        func(dst []byte, callback string, frame []byte) []byte
}

var httpTransports = map[string]*httpTransport{
	"xhr": {
		name: "xhr-polling", method: http.MethodPost, cors: true,
		contentType: "application/javascript; charset=UTF-8",
		wrap:        wrapLine,
	},
	"xhr_streaming": {
		name: "xhr-streaming", method: http.MethodPost, streaming: true, cors: true,
		contentType: "application/javascript; charset=UTF-8",
		// 2 KiB of h so browsers start handing the body to the script.
		prelude: func(dst []byte, _ string) []byte { return append(dst, xhrPrelude...) },
		wrap:    wrapLine,
	},
	"eventsource": {
		name: "eventsource", method: http.MethodGet, streaming: true,
		contentType: "text/event-stream",
		// A blank line first, for an old Opera bug.
		prelude: func(dst []byte, _ string) []byte { return append(dst, '\r', '\n') },
		wrap: func(dst []byte, _ string, frame []byte) []byte {
			dst = append(dst, "data: "...)
			dst = appendEventData(dst, frame)
			return append(dst, "\r\n\r\n"...)
		},
	},
	"htmlfile": {
		name: "htmlfile", method: http.MethodGet, streaming: true, callback: true,
		contentType: "text/html; charset=UTF-8",
		prelude:     htmlfilePrelude,
		wrap: func(dst []byte, _ string, frame []byte) []byte {
			dst = append(dst, "<script>\np(\""...)
			dst = sockjs.AppendEscaped(dst, frame)
			return append(dst, "\");\n</script>\r\n"...)
		},
	},
	"jsonp": {
		name: "jsonp-polling", method: http.MethodGet, callback: true,
		contentType: "application/javascript; charset=UTF-8",
		wrap: func(dst []byte, cb string, frame []byte) []byte {
			// /**/ keeps a callback from starting a UTF-7 BOM or a
			// Flash signature (Rosetta Flash).
			dst = append(dst, "/**/"...)
			dst = append(dst, cb...)
			dst = append(dst, "(\""...)
			dst = sockjs.AppendEscaped(dst, frame)
			return append(dst, "\");\r\n"...)
		},
	},
}

var xhrPrelude = strings.Repeat("h", 2048) + "\n"

func wrapLine(dst []byte, _ string, frame []byte) []byte {
	dst = append(dst, frame...)
	return append(dst, '\n')
}

const htmlfileHead = `<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.{{callback}};
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>
`

// htmlfilePrelude is the page that calls back into the parent frame,
// padded past 1 KiB so that IE starts rendering it.
func htmlfilePrelude(dst []byte, cb string) []byte {
	start := len(dst)
	dst = append(dst, strings.Replace(htmlfileHead, "{{callback}}", cb, 1)...)
	for len(dst)-start < 1024 {
		dst = append(dst, ' ')
	}
	return append(dst, "\r\n\r\n"...)
}

// validCallback reports whether cb is a safe JavaScript callback name:
// [a-zA-Z0-9-_.]+.
func validCallback(cb string) bool {
	if cb == "" {
		return false
	}
	for _, c := range cb {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 1<<20 {
		return // do not keep huge buffers around
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

func serverError(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, msg)
}

// serveReceive serves a receiving request (xhr, xhr_streaming,
// eventsource, htmlfile, jsonp), opening the session if it is new.
func (h *Handler) serveReceive(w http.ResponseWriter, r *http.Request, id string, t *httpTransport) {
	if r.Method == http.MethodOptions && t.cors {
		h.setCookie(w, r)
		Preflight(w, r, "OPTIONS, POST")
		return
	}
	if r.Method != t.method {
		methodNotAllowed(w, t.method)
		return
	}
	var cb string
	if t.callback {
		q := r.URL.Query()
		cb = q.Get("c")
		if cb == "" {
			cb = q.Get("callback")
		}
		if cb == "" {
			serverError(w, `"callback" parameter required`)
			return
		}
		if !validCallback(cb) {
			serverError(w, `invalid "callback" parameter`)
			return
		}
	}
	s := h.getOrCreate(id, t.name, r.RemoteAddr)
	if s == nil {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", t.contentType)
	setNoCache(w)
	if t.cors {
		SetCORS(w, r)
	}
	h.setCookie(w, r)
	w.WriteHeader(http.StatusOK)
	rw := &responseFrames{w: w, rc: http.NewResponseController(w), t: t, cb: cb}
	rw.init()
	defer rw.release()
	if t.streaming {
		if rw.writeRaw(t.prelude(*rw.out, cb)) != nil {
			return
		}
	}
	s.receive(r.Context(), rw)
}

// responseFrames writes frames to one HTTP response, wrapped for its
// transport, each in one write and flushed.
type responseFrames struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	t       *httpTransport
	cb      string
	out     *[]byte
	frame   *[]byte
	written int
}

func (rw *responseFrames) init() {
	if rw.out == nil {
		rw.out, rw.frame = getBuf(), getBuf()
	}
}

func (rw *responseFrames) release() {
	if rw.out != nil {
		putBuf(rw.out)
		putBuf(rw.frame)
		rw.out, rw.frame = nil, nil
	}
}

func (rw *responseFrames) writeRaw(b []byte) error {
	rw.init()
	*rw.out = b[:0]
	if _, err := rw.w.Write(b); err != nil {
		return err
	}
	return rw.rc.Flush()
}

func (rw *responseFrames) writeFrame(frame []byte) error {
	rw.init()
	out := rw.t.wrap((*rw.out)[:0], rw.cb, frame)
	*rw.out = out[:0]
	rw.written += len(out)
	if _, err := rw.w.Write(out); err != nil {
		return err
	}
	return rw.rc.Flush()
}

// receive runs a receiving request: it attaches to the session and writes
// frames until the response is done (one frame for polling; the close
// frame or the response limit for streaming), the heart-beat comes due
// (polling ends with h), or the client goes away (the session is then
// interrupted: c[1002]).
func (s *session) receive(ctx context.Context, rw *responseFrames) {
	rw.init()
	ok, answer, other := s.attach(ctx)
	if !ok && other != nil {
		t := time.NewTimer(abortGrace)
		select {
		case <-other.Done():
			ok, answer, _ = s.attach(ctx)
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	if !ok {
		rw.writeFrame(answer)
		return
	}
	interval := s.h.cfg.HeartbeatInterval
	hb := time.NewTimer(interval)
	defer hb.Stop()
	for {
		frame, last := s.next((*rw.frame)[:0])
		if frame != nil {
			*rw.frame = frame[:0]
			if err := rw.writeFrame(frame); err != nil {
				s.interrupt()
				return
			}
			if last {
				s.detach()
				s.end()
				return
			}
			if !rw.t.streaming || rw.written >= s.h.cfg.ResponseLimit {
				s.detach()
				return
			}
			hb.Reset(interval)
			continue
		}
		select {
		case <-s.wake:
		case <-hb.C:
			if err := rw.writeFrame([]byte(sockjs.HeartbeatFrame)); err != nil {
				s.interrupt()
				return
			}
			if !rw.t.streaming {
				s.detach()
				return
			}
			hb.Reset(interval)
		case <-ctx.Done():
			s.interrupt()
			return
		}
	}
}

// serveSend serves xhr_send and jsonp_send: the client's messages, handed
// in order to the connection actor.
func (h *Handler) serveSend(w http.ResponseWriter, r *http.Request, id string, jsonp bool) {
	if r.Method == http.MethodOptions && !jsonp {
		h.setCookie(w, r)
		Preflight(w, r, "OPTIONS, POST")
		return
	}
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	s := h.lookup(id)
	if s == nil {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(h.cfg.MaxMessageSize)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "Payload too large.", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "Broken request body.", http.StatusBadRequest)
		return
	}
	if jsonp {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
			form, _ := url.ParseQuery(string(body))
			body = []byte(form.Get("d"))
		}
	}
	msgs, err := sockjs.DecodeMessages(body)
	setNoCache(w)
	if !jsonp {
		SetCORS(w, r)
	}
	h.setCookie(w, r)
	if err != nil {
		serverError(w, err.Error())
		return
	}
	<-s.ready
	if !s.ended() {
		for _, m := range msgs {
			s.actor.Receive(m)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	if jsonp {
		io.WriteString(w, "ok")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// appendEventData writes frame as an event-stream data line. sockjs-client
// passes each line through decodeURI, so '%' must travel as %25 (and the
// bytes that would end the line as %0D, %0A, %00), as sockjs-node does.
func appendEventData(dst, frame []byte) []byte {
	for _, b := range frame {
		switch b {
		case '%':
			dst = append(dst, "%25"...)
		case '\r':
			dst = append(dst, "%0D"...)
		case '\n':
			dst = append(dst, "%0A"...)
		case 0:
			dst = append(dst, "%00"...)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}
