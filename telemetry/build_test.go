package telemetry

import (
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

func TestBuildInfo(t *testing.T) {
	t.Parallel()
	b := ReadBuildInfo("1.2.3")
	if b.Version != "1.2.3" || b.GoVersion != runtime.Version() {
		t.Fatalf("build info = %+v", b)
	}
	if s := b.String(); !strings.HasPrefix(s, "eventara 1.2.3") || !strings.HasSuffix(s, runtime.Version()) {
		t.Fatalf("String() = %q", s)
	}
	m := New()
	m.SetBuildInfo(BuildInfo{Version: "1.2.3", Commit: "abc", GoVersion: "go1.26.8"})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if want := `eventara_build_info{commit="abc",goversion="go1.26.8",version="1.2.3"} 1`; !strings.Contains(string(body), want) {
		t.Fatalf("/metrics lacks %s", want)
	}
}
