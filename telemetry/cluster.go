package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ClusterSource gives a cluster node's figures at scrape time.
type ClusterSource interface {
	// ClusterFigures are the stream sequences this node is behind the
	// stream's last (lag) and the nodes it sees up, itself included;
	// ok is false on a single node.
	ClusterFigures() (lag uint64, peers int, ok bool)
	// SharedCheckpointAge is the age of the newest shared checkpoint the
	// node knows of; ok is false before it knows any.
	SharedCheckpointAge() (age time.Duration, ok bool)
}

type clusterMetrics struct {
	publish prometheus.Histogram
}

var (
	clusterLagDesc = prometheus.NewDesc("eventara_cluster_lag_messages",
		"Messages of the cluster stream this node has not applied yet (stream last sequence minus applied).", nil, nil)
	clusterPeersDesc = prometheus.NewDesc("eventara_cluster_peers",
		"Nodes of the cluster stream this node sees up, itself included.", nil, nil)
	clusterSharedAgeDesc = prometheus.NewDesc("eventara_cluster_shared_checkpoint_age_seconds",
		"Age of the newest shared checkpoint in the cluster this node knows of (what a node joining past the stream's retention starts from); absent before any.", nil, nil)
)

// ObserveCluster registers the cluster-mode figures: the lag and peers
// gauges of src and the publish latency histogram (ClusterPublished).
// Call it once, on a cluster node only.
func (m *Metrics) ObserveCluster(src ClusterSource) {
	if m == nil {
		return
	}
	cm := &clusterMetrics{publish: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "eventara_cluster_publish_seconds", Help: "Time for an ingest group to be acknowledged by a quorum of the cluster stream.",
		Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16)})}
	m.reg.MustRegister(cm.publish, &clusterCollector{src: src})
	m.cluster.Store(cm)
}

// ClusterPublished records one group acknowledged by the cluster after d.
func (m *Metrics) ClusterPublished(d time.Duration) {
	if m == nil {
		return
	}
	if cm := m.cluster.Load(); cm != nil {
		cm.publish.Observe(d.Seconds())
	}
}

type clusterCollector struct{ src ClusterSource }

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- clusterLagDesc
	ch <- clusterPeersDesc
	ch <- clusterSharedAgeDesc
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	lag, peers, ok := c.src.ClusterFigures()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(clusterLagDesc, prometheus.GaugeValue, float64(lag))
	ch <- prometheus.MustNewConstMetric(clusterPeersDesc, prometheus.GaugeValue, float64(peers))
	if age, ok := c.src.SharedCheckpointAge(); ok {
		ch <- prometheus.MustNewConstMetric(clusterSharedAgeDesc, prometheus.GaugeValue, age.Seconds())
	}
}
