package telemetry

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source gives the figures read at scrape time.
type Source interface {
	// Connections counts the client sessions by transport.
	Connections() map[string]int
	// Subscriptions counts the live subscriptions.
	Subscriptions() int
	// CheckpointAge is the time since the last checkpoint; false before one.
	CheckpointAge() (time.Duration, bool)
}

// Metrics is the service's metrics registry.
type Metrics struct {
	reg *prometheus.Registry

	eventsIngested prometheus.Counter
	ingestRefused  *prometheus.CounterVec
	ingestLatency  prometheus.Histogram
	journalSync    prometheus.Histogram
	tickBuild      prometheus.Histogram
	messagesSent   prometheus.Counter
	slowClients    prometheus.Counter
	restarts       *prometheus.CounterVec
	cluster        atomic.Pointer[clusterMetrics] // cluster.go; nil on one node
}

// New returns the metrics, registered with a registry of their own (with
// the Go runtime and process collectors).
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		eventsIngested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventara_events_ingested_total", Help: "Events accepted (journaled and answered 202)."}),
		ingestRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventara_ingest_refused_total",
			Help: "Ingest requests (POST /api/v1/events and /batch) answered with an error, by HTTP status: 4xx is the client's (invalid, too large, unauthenticated, rate-limited), 503 the service refusing (disk full, queue full, journal failed, shutting down), 504 an outcome unknown."},
			[]string{"code"}),
		ingestLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "eventara_ingest_latency_seconds", Help: "Time from an ingest request reaching the actors to its answer.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		journalSync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "eventara_journal_sync_seconds", Help: "Time of one group commit: journal append and fsync.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14)}),
		tickBuild: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "eventara_tick_build_seconds", Help: "Time to build and encode one snapshot.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 14)}),
		messagesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventara_push_messages_total", Help: "Snapshot messages handed to subscriptions for their clients."}),
		slowClients: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventara_slow_clients_dropped_total", Help: "Client sessions closed because their outbound queue was full."}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventara_actor_restarts_total", Help: "Actor restarts decided by their supervisor, by actor kind."}, []string{"kind"}),
	}
	// The codes ingestion answers with appear at 0 before the first one.
	for _, code := range []string{"400", "401", "413", "415", "422", "429", "503", "504"} {
		m.ingestRefused.WithLabelValues(code)
	}
	m.reg.MustRegister(m.eventsIngested, m.ingestRefused, m.ingestLatency, m.journalSync, m.tickBuild, m.messagesSent, m.slowClients, m.restarts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe registers the scrape-time figures of src: connections by
// transport, subscriptions and checkpoint age.
func (m *Metrics) Observe(src Source) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&sourceCollector{src: src})
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Ingested records n events accepted after d.
func (m *Metrics) Ingested(n int, d time.Duration) {
	if m == nil {
		return
	}
	m.eventsIngested.Add(float64(n))
	m.ingestLatency.Observe(d.Seconds())
}

// JournalSynced records one group commit's duration.
func (m *Metrics) JournalSynced(d time.Duration) {
	if m != nil {
		m.journalSync.Observe(d.Seconds())
	}
}

// TickBuilt records one snapshot build's duration.
func (m *Metrics) TickBuilt(d time.Duration) {
	if m != nil {
		m.tickBuild.Observe(d.Seconds())
	}
}

// MessagesSent counts n snapshot messages handed to subscriptions. Their
// senders count them once per hand-out (a tick's fan-out is one call), not
// once per subscription: one shared counter written by every subscription
// would bounce between cores 10,000 times a second.
func (m *Metrics) MessagesSent(n int) {
	if m != nil {
		m.messagesSent.Add(float64(n))
	}
}

// IngestRefused counts one ingest request answered with HTTP status code
// (400 or above).
func (m *Metrics) IngestRefused(code int) {
	if m != nil {
		m.ingestRefused.WithLabelValues(strconv.Itoa(code)).Inc()
	}
}

// SlowClientDropped counts one client closed as a slow consumer.
func (m *Metrics) SlowClientDropped() {
	if m != nil {
		m.slowClients.Inc()
	}
}

// DeclareKinds makes the restart counter of each kind appear (at 0)
// before its first restart.
func (m *Metrics) DeclareKinds(kinds ...string) {
	if m == nil {
		return
	}
	for _, k := range kinds {
		m.restarts.WithLabelValues(k)
	}
}

// ActorRestarted counts one restart of an actor of kind.
func (m *Metrics) ActorRestarted(kind string) {
	if m != nil {
		m.restarts.WithLabelValues(kind).Inc()
	}
}

var (
	connectionsDesc = prometheus.NewDesc("eventara_connections",
		"Client sessions open, by transport.", []string{"transport"}, nil)
	subscriptionsDesc = prometheus.NewDesc("eventara_subscriptions",
		"Live subscriptions to /topic/metrics.", nil, nil)
	checkpointAgeDesc = prometheus.NewDesc("eventara_checkpoint_age_seconds",
		"Time since the last state checkpoint was written (absent before the first).", nil, nil)
)

type sourceCollector struct{ src Source }

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- connectionsDesc
	ch <- subscriptionsDesc
	ch <- checkpointAgeDesc
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	for transport, n := range c.src.Connections() {
		ch <- prometheus.MustNewConstMetric(connectionsDesc, prometheus.GaugeValue, float64(n), transport)
	}
	ch <- prometheus.MustNewConstMetric(subscriptionsDesc, prometheus.GaugeValue, float64(c.src.Subscriptions()))
	if age, ok := c.src.CheckpointAge(); ok {
		ch <- prometheus.MustNewConstMetric(checkpointAgeDesc, prometheus.GaugeValue, age.Seconds())
	}
}
