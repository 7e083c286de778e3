package telemetry

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// BuildInfo says which Eventara is running: what `eventara --version`
// prints, the health answer carries and eventara_build_info labels.
type BuildInfo struct {
	// Version is set at link time (-ldflags "-X main.version=…"); "dev"
	// for a plain go build.
	Version string `json:"version"`
	// Commit is the VCS revision the binary was built from (with
	// "-dirty" when the tree had changes), "" when unknown.
	Commit string `json:"commit,omitempty"`
	// GoVersion is the Go toolchain that built it.
	GoVersion string `json:"goVersion"`
}

// ReadBuildInfo fills a BuildInfo for version from what the Go toolchain
// recorded in the binary.
func ReadBuildInfo(version string) BuildInfo {
	b := BuildInfo{Version: version, GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && b.Commit != "" {
		b.Commit += "-dirty"
	}
	return b
}

// String is the one-line form `eventara --version` prints.
func (b BuildInfo) String() string {
	s := "eventara " + b.Version
	if b.Commit != "" {
		s += " (" + b.Commit + ")"
	}
	return s + " " + b.GoVersion
}

// SetBuildInfo exports b as eventara_build_info{version,commit,goversion} 1.
func (m *Metrics) SetBuildInfo(b BuildInfo) {
	if m == nil {
		return
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "eventara_build_info", Help: "Which Eventara is running: always 1, with its version, commit and Go version as labels.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion},
	})
	g.Set(1)
	m.reg.MustRegister(g)
}
