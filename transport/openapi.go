package transport

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/eventara/eventara/spec"
)

// openAPIPath serves the OpenAPI document of this API (spec/openapi.json
// with the metrics schema bundled in). It is open even when authentication
// is on: it describes endpoints, not data, and /docs needs it before a
// user has entered a token.
const openAPIPath = "/api/v1/openapi.json"

// openAPIETag is the served document's ETag, from its content.
var openAPIETag = sync.OnceValue(func() string {
	b, err := spec.OpenAPI()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
})

// serveOpenAPI answers the document, revalidated by ETag on every load so
// that a new build's document shows at once.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	b, err := spec.OpenAPI()
	if err != nil { // the embedded files are broken: spec's tests fail first
		writeError(w, http.StatusInternalServerError, "openapi document: "+err.Error(), nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", openAPIETag())
	http.ServeContent(w, r, "openapi.json", time.Time{}, bytes.NewReader(b))
}
