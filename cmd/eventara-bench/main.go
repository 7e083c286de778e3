// Command eventara-bench is a load generator that can be pointed at any
// Eventara server. It prints figures; it asserts nothing.
//
//	eventara-bench ingest --url http://127.0.0.1:8080 --conns 64 --batch 1 --duration 10s [--server-pid N]
//
// With --server-pid (Linux), it also reads the server's CPU time and RSS
// from /proc, and prints the server CPU time per event.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "ingest":
		err = runIngest(os.Args[2:])
	case "fanout":
		err = runFanout(os.Args[2:])
	case "floor-server":
		err = runFloor(os.Args[2:])
	case "trivial-server":
		err = runTrivial(os.Args[2:])
	case "-h", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "eventara-bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `Usage: eventara-bench <command> [flags]

Commands:
  ingest   POST events (single or batches) over keep-alive connections; prints events/s,
           ack latency p50/p99, and with --server-pid the server's CPU per event and RSS
  fanout   N STOMP subscribers of /topic/metrics; prints tick-to-receipt latency, gaps,
           errors, and with --server-pid the server's CPU per delivered message and RSS
  floor-server
           the cheapest fan-out this machine can do (no actors, no STOMP state: one writev
           per connection per second) for fanout to measure beside Eventara
  trivial-server
           a trivial Go JSON handler with no storage (POST /api/v1/events answers 202)
           for ingest to measure beside Eventara; --delay D waits D before each answer,
           as a handler waiting for an fsync does

Run "eventara-bench <command> -h" for its flags.
`)
}
