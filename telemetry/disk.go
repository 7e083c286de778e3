package telemetry

import "github.com/prometheus/client_golang/prometheus"

// DiskUsage is what ObserveDisk reads at scrape time: the data directory's
// free space and the floor below which ingestion is refused (0: none); ok
// is false while the free space cannot be measured.
type DiskUsage func() (freeBytes, limitBytes uint64, ok bool)

var (
	diskFreeDesc = prometheus.NewDesc("eventara_disk_free_bytes",
		"Free space of the data directory's file system at the journal's last check (absent when it cannot be measured).", nil, nil)
	diskLimitDesc = prometheus.NewDesc("eventara_disk_free_limit_bytes",
		"Free space below which ingestion is refused (--disk-free-limit resolved; 0: no floor).", nil, nil)
)

// ObserveDisk registers eventara_disk_free_bytes and
// eventara_disk_free_limit_bytes, read from usage at scrape time, so that
// an alert can fire before ingestion is refused.
func (m *Metrics) ObserveDisk(usage DiskUsage) {
	if m == nil {
		return
	}
	m.reg.MustRegister(diskCollector(usage))
}

type diskCollector DiskUsage

func (c diskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- diskFreeDesc
	ch <- diskLimitDesc
}

func (c diskCollector) Collect(ch chan<- prometheus.Metric) {
	free, limit, ok := c()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(diskFreeDesc, prometheus.GaugeValue, float64(free))
	ch <- prometheus.MustNewConstMetric(diskLimitDesc, prometheus.GaugeValue, float64(limit))
}
