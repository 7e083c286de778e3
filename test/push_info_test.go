package test

// The document's troubleshooting commands:
//   curl http://localhost:8080/api/v1/events/health
//   curl -I http://localhost:8080/ws/info

import (
	"encoding/json"
	"mime"
	"net/http"
	"testing"
)

func TestPushTroubleshootingCurls(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	code, body := do(t, http.MethodGet, s.url("/api/v1/events/health"), "", nil)
	if code != http.StatusOK {
		t.Errorf("GET /api/v1/events/health: %d %s", code, body)
	}

	resp, err := http.Head(s.url("/ws/info"))
	if err != nil {
		t.Fatalf("HEAD /ws/info: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD /ws/info: %d, want 200", resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		t.Errorf("HEAD /ws/info: Content-Type %q, want application/json", resp.Header.Get("Content-Type"))
	}

	// GET says the same, with the fields sockjs-client reads.
	code, body = do(t, http.MethodGet, s.url("/ws/info"), "", nil)
	var info map[string]any
	if err := json.Unmarshal(body, &info); code != http.StatusOK || err != nil {
		t.Fatalf("GET /ws/info: %d %q (%v)", code, body, err)
	}
	for _, k := range []string{"websocket", "origins", "cookie_needed", "entropy"} {
		if _, ok := info[k]; !ok {
			t.Errorf("GET /ws/info: no %q in %s", k, body)
		}
	}
	if info["websocket"] != true {
		t.Errorf("GET /ws/info: websocket = %v, want true", info["websocket"])
	}
}
