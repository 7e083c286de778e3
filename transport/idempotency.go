package transport

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"

	"github.com/eventara/eventara/actors"
)

// maxIdempotencyKey bounds the Idempotency-Key header's value.
const maxIdempotencyKey = 255

// ingestKey reads the Idempotency-Key header of an ingest request (nil
// when absent) and fingerprints the request, its path and body, so that a
// key sent again with another request is told apart from a retry. The key
// may be a bare token or a structured-field string ("…", as the IETF
// draft writes it); both name the same key. With authentication on, keys
// are per token: one client cannot replay another's.
func ingestKey(r *http.Request, body []byte) (*actors.IngestKey, map[string]string) {
	v, ok := r.Header["Idempotency-Key"]
	if !ok {
		return nil, nil
	}
	key := strings.TrimSpace(strings.Join(v, ","))
	if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
		key = key[1 : len(key)-1]
	}
	if msg := checkIdempotencyKey(key); msg != "" {
		return nil, map[string]string{"Idempotency-Key": msg}
	}
	h := sha256.New()
	h.Write([]byte(r.URL.Path))
	h.Write([]byte{0})
	h.Write(body)
	k := &actors.IngestKey{Key: principal(r) + "\x00" + key}
	h.Sum(k.Fingerprint[:0])
	return k, nil
}

func checkIdempotencyKey(key string) string {
	if key == "" || len(key) > maxIdempotencyKey {
		return "must be 1 to " + strconv.Itoa(maxIdempotencyKey) + " characters"
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "must be printable ASCII without quotes or backslashes"
		}
	}
	return ""
}
