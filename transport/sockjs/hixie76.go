package sockjs

import "net/http"

// serveHixie76 refuses the pre-RFC 6455 handshake (draft Hixie-76), which
// no current browser sends.
func (h *Handler) serveHixie76(w http.ResponseWriter, r *http.Request, sockjsFraming bool) {
	http.Error(w, "Unsupported WebSocket version.", http.StatusBadRequest)
}
