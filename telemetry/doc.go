// Package telemetry holds Eventara's Prometheus metrics. It exports them
// itself, not through protoactor's metrics option (which leaks memory per
// spawned actor). Every method is safe on a nil *Metrics, so code that
// records a figure needs no check.
package telemetry
