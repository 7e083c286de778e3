package main

import (
	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/telemetry"
	"github.com/eventara/eventara/transport"
)

// opsConfig is the operations flag group: fault injection (off by
// default; /metrics and /api/v1/system/actors are always served).
type opsConfig struct {
	FaultInjection bool
}

func init() { extraFlags = append(extraFlags, registerOpsFlags) }

func registerOpsFlags(fs *flagSet, c *config) {
	fs.Bool(&c.Ops.FaultInjection, "fault-injection", false,
		"serve POST/GET/DELETE /debug/faults to make actors panic, stall or drop messages and the journal fail or pause (tests only; never in production)")
}

// ops wires metrics and fault injection.
type ops struct {
	cfg     opsConfig
	metrics *telemetry.Metrics
}

func newOps(cfg opsConfig) *ops { return &ops{cfg: cfg, metrics: telemetry.New()} }

// actorsConfig adds the metrics to ac.
func (o *ops) actorsConfig(ac actors.Config) actors.Config {
	ac.Metrics = o.metrics
	return ac
}

// transportConfig mounts /metrics (reading sys's gauges) and, with
// --fault-injection, /debug/faults.
func (o *ops) transportConfig(sys *actors.System, tc transport.Config) transport.Config {
	o.metrics.Observe(sys)
	tc.Ops = transport.OpsConfig{Metrics: o.metrics.Handler(), FaultInjection: o.cfg.FaultInjection}
	tc.Metrics = o.metrics
	return tc
}
