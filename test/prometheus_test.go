package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/internal/testutil"
)

// The Prometheus files users get (deploy/) and the exposition they read are
// checked with the real consumer: Debian's prometheus and promtool.

const (
	alertRules = "../deploy/prometheus/alerts.yml"
	dashboard  = "../deploy/grafana/eventara.json"
)

// requireProm fails the test unless Debian's prometheus package is there.
func requireProm(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"prometheus", "promtool"} {
		testutil.Require(t, tool, "apt-get install prometheus (Debian's package; .ci/run installs it)", func() error {
			_, err := exec.LookPath(tool)
			return err
		})
	}
}

// TestPrometheusRulesAndDashboardCheck: promtool accepts the shipped rules,
// and every query of the shipped Grafana dashboard (checked as rules too,
// so its PromQL parses).
func TestPrometheusRulesAndDashboardCheck(t *testing.T) {
	t.Parallel()
	requireProm(t)
	if out, err := exec.Command("promtool", "check", "rules", alertRules).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules %s: %v\n%s", alertRules, err, out)
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range dashboardExprs(t) {
		b, _ := json.Marshal(e) // a JSON string is a YAML string
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, b)
	}
	f := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("promtool", "check", "rules", f).CombinedOutput(); err != nil {
		t.Fatalf("a dashboard query does not parse: %v\n%s\n%s", err, out, rules.String())
	}
}

// TestPrometheusScrapesEventara: a real Prometheus scraping a running
// Eventara reads back the events it ingested, and every metric the shipped
// rules and dashboard name is one Eventara exports.
func TestPrometheusScrapesEventara(t *testing.T) {
	t.Parallel()
	requireProm(t)
	s := startServer(t, "--checkpoint-interval", "1s")
	const events = 25
	for i := range events {
		if code, m := postJSON(t, s.url("/api/v1/events"), fmt.Sprintf(`{"eventType":"prom","source":"test","userId":"u%d"}`, i)); code != 202 {
			t.Fatalf("POST event: %d %v", code, m)
		}
	}
	// Refused requests are counted by status.
	const invalid = 2
	for range invalid {
		if code, m := postJSON(t, s.url("/api/v1/events"), `{"eventType":"prom"}`); code != 400 {
			t.Fatalf("POST invalid event: %d %v", code, m)
		}
	}
	// A subscriber, so the push gauges have a sample.
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"command":"SUBSCRIBE","destination":"/topic/metrics","id":"sub-0"}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	abs, _ := filepath.Abs(alertRules)
	conf := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [%q]\nscrape_configs:\n"+
		"  - job_name: eventara\n    static_configs:\n      - targets: [%q]\n", abs, s.addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := freePort(t)
	prom := exec.Command("prometheus", "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	logs := &syncBuffer{}
	prom.Stdout, prom.Stderr = logs, logs
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = prom.Process.Kill()
		_ = prom.Wait()
	})

	query := func(q string) ([]promSample, error) {
		// Errors are returned, not fatal: Prometheus takes a while to listen.
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			return nil, fmt.Errorf("query %q: %d %s %v", q, resp.StatusCode, b, err)
		}
		var r struct {
			Data struct {
				Result []promSample `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, err
		}
		return r.Data.Result, nil
	}
	testutil.WaitFor(t, testutil.Patience, "Prometheus to read eventara_events_ingested_total", func() error {
		res, err := query(`eventara_events_ingested_total{job="eventara"}`)
		if err != nil {
			return err
		}
		if len(res) != 1 || res[0].value() != strconv.Itoa(events) {
			return fmt.Errorf("result %+v (prometheus log: %s)", res, tail(logs.String(), 5))
		}
		return nil
	})

	testutil.WaitFor(t, testutil.Patience, "Prometheus to read eventara_ingest_refused_total", func() error {
		res, err := query(`eventara_ingest_refused_total{job="eventara",code="400"}`)
		if err != nil {
			return err
		}
		if len(res) != 1 || res[0].value() != strconv.Itoa(invalid) {
			return fmt.Errorf("result %+v", res)
		}
		return nil
	})

	// Every metric the rules and the dashboard name, as Prometheus has
	// scraped it (once checkpoints and the subscriber exist).
	names := metricNames(t)
	testutil.WaitFor(t, testutil.Patience, "every named metric scraped", func() error {
		var missing []string
		for _, n := range names {
			res, err := query(fmt.Sprintf(`count({__name__=~"%s(_bucket)?",job="eventara"})`, n))
			if err != nil {
				return err
			}
			if len(res) == 0 {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("not scraped: %v", missing)
		}
		return nil
	})
}

// promSample is one sample of a query result.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

func (p promSample) value() string {
	if len(p.Value) != 2 {
		return ""
	}
	s, _ := p.Value[1].(string)
	return s
}

// dashboardExprs is every query of the shipped dashboard.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboard, err)
	}
	var exprs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	if len(exprs) == 0 {
		t.Fatalf("%s has no queries", dashboard)
	}
	return exprs
}

// metricNames is every eventara_* metric the rules and the dashboard name,
// histogram series reduced to their family.
func metricNames(t *testing.T) []string {
	t.Helper()
	rules, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}
	text := string(rules) + strings.Join(dashboardExprs(t), "\n")
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`\beventara_[a-z_]+`).FindAllString(text, -1) {
		seen[strings.TrimSuffix(m, "_bucket")] = true
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
