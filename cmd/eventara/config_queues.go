package main

import (
	"fmt"
	"time"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/transport/sockjs"
)

// queuesConfig is the queue and timing flag group: the bounds and
// intervals of ingestion and live push that a user may need to tune.
// Defaults are those of actors.Config, actors.SessionConfig and
// sockjs.Config.
type queuesConfig struct {
	MaxPendingEvents      int
	SessionQueueLength    int
	WriteTimeout          time.Duration
	SockJSHeartbeat       time.Duration
	SockJSDisconnectDelay time.Duration
	StompHeartbeat        time.Duration
}

func init() { extraFlags = append(extraFlags, registerQueueFlags) }

func registerQueueFlags(fs *flagSet, c *config) {
	q := &c.Queues
	fs.Int(&q.MaxPendingEvents, "max-pending-events", 200_000, "events accepted for ingestion but not yet journaled and applied to the metrics; past it ingestion answers 503 with Retry-After")
	fs.Int(&q.SessionQueueLength, "session-queue-length", 64, "outbound messages a push session may have waiting; a client that lets it fill is closed as a slow consumer (1008)")
	fs.Duration(&q.WriteTimeout, "write-timeout", 10*time.Second, "how long one write to a WebSocket client may take; a client that does not read for that long is disconnected")
	fs.Duration(&q.SockJSHeartbeat, "sockjs-heartbeat", 25*time.Second, "how often an idle SockJS session gets an h frame")
	fs.Duration(&q.SockJSDisconnectDelay, "sockjs-disconnect-delay", 5*time.Second, "how long a SockJS HTTP session (xhr, eventsource, ...) lives without a receiving request before it is closed")
	fs.Duration(&q.StompHeartbeat, "stomp-heartbeat", 10*time.Second, "the server's STOMP heart-beat in CONNECTED: it sends heart-beats no more often and wants to hear from a client at least this often (a client silent for twice the negotiated interval is closed)")
}

func (q *queuesConfig) validate() error {
	for _, v := range []struct {
		name string
		n    float64
	}{
		{"--max-pending-events", float64(q.MaxPendingEvents)}, {"--session-queue-length", float64(q.SessionQueueLength)},
		{"--write-timeout", float64(q.WriteTimeout)}, {"--sockjs-heartbeat", float64(q.SockJSHeartbeat)},
		{"--sockjs-disconnect-delay", float64(q.SockJSDisconnectDelay)}, {"--stomp-heartbeat", float64(q.StompHeartbeat)},
	} {
		if v.n <= 0 {
			return fmt.Errorf("%s must be positive", v.name)
		}
	}
	return nil
}

// actorsConfig adds the ingest bound and the STOMP heart-beats to ac.
func (q *queuesConfig) actorsConfig(ac actors.Config) actors.Config {
	ac.MaxPendingEvents = q.MaxPendingEvents
	ac.Sessions.HeartBeatSend = q.StompHeartbeat
	ac.Sessions.HeartBeatReceive = q.StompHeartbeat
	return ac
}

// pushConfig adds the session queue and the SockJS timings to pc.
func (q *queuesConfig) pushConfig(pc sockjs.Config) sockjs.Config {
	pc.QueueLength = q.SessionQueueLength
	pc.WriteTimeout = q.WriteTimeout
	pc.HeartbeatInterval = q.SockJSHeartbeat
	pc.DisconnectDelay = q.SockJSDisconnectDelay
	return pc
}
