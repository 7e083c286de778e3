package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// clusterConfig is the cluster flag group (cluster.go runs it). With none
// of --cluster-listen and --nats-url the node is a single node, exactly as
// without this file: the pebble journal, no NATS.
type clusterConfig struct {
	Name   string // --cluster-name
	Node   string // --node-name
	Listen string // --cluster-listen: the route listener
	Peers  string // --cluster-peers: every node's route address
	Client string // --nats-listen: the NATS client listener
	URL    string // --nats-url: an external NATS instead of an embedded one
	Sync   string // --cluster-sync: "always" or an interval
	// SyncInterval is Sync parsed: 0 means always.
	SyncInterval time.Duration
	PeerList     []string
	// Duplicates is --cluster-duplicate-window; SharedInterval
	// --shared-checkpoint-interval (0: the default of
	// actors.ClusterConfig.SharedCheckpointInterval).
	Duplicates     time.Duration
	SharedInterval time.Duration
	// Replicas is --cluster-replicas (0: cluster.StreamConfig's default).
	Replicas int
}

func init() { extraFlags = append(extraFlags, registerClusterFlags) }

func registerClusterFlags(fs *flagSet, c *config) {
	cc := &c.Cluster
	fs.String(&cc.Listen, "cluster-listen", "", "cluster mode: this node's NATS route address host:port, which its peers reach (empty with no --nats-url: a single node, no NATS)")
	fs.String(&cc.Peers, "cluster-peers", "", "cluster mode: every node's route address, this node's included, comma-separated (3 for a replicated stream that survives one node down)")
	fs.String(&cc.Node, "node-name", "", "cluster mode: this node's name, unique in the cluster and the same across its restarts (required in cluster mode)")
	fs.String(&cc.Name, "cluster-name", "eventara", "cluster mode: the cluster's name, the same on every node")
	fs.String(&cc.Client, "nats-listen", "", "cluster mode: the embedded NATS client listener host:port for tools such as the nats CLI (empty: 127.0.0.1 on a random port)")
	fs.String(&cc.URL, "nats-url", "", "cluster mode on an existing NATS deployment (JetStream on): its URL(s), comma-separated; Eventara then starts no NATS server of its own")
	fs.Duration(&cc.Duplicates, "cluster-duplicate-window", 2*time.Minute, "cluster mode: how long the stream remembers a stored event's id, so that a publish retried within it (the node retries for up to 10s) or a racing Idempotency-Key claim is stored once; each id in the window costs the NATS server about 140 bytes; 10s to --retention")
	fs.Duration(&cc.SharedInterval, "shared-checkpoint-interval", 0, "cluster mode: the least time between two shared checkpoints this node publishes (its metrics state, uploaded to the cluster, for a node that joins after the stream's --retention); 0 means a quarter of --retention, at most 5m; at most half of --retention")
	fs.Int(&cc.Replicas, "cluster-replicas", 0, "cluster mode: how many NATS servers hold the stream, 1 to 5 (3 survives one down); 0 means the existing stream's count, and for a new stream 3 (1 on a cluster of one or a lone NATS server); a start never lowers an existing stream's count: a lower one is refused")
	fs.String(&cc.Sync, "cluster-sync", "always", "cluster mode: when the embedded NATS fsyncs the stream: always (an acknowledged event is on disk on a quorum) or an interval such as 1s (faster; a crash of a quorum of machines within it loses acknowledged events)")
}

// validateRetention checks the flags that must fit the stream's
// retention (--retention).
func (c *clusterConfig) validateRetention(retention time.Duration) error {
	if !c.enabled() {
		if c.Duplicates != 2*time.Minute || c.SharedInterval != 0 {
			return fmt.Errorf("--cluster-duplicate-window and --shared-checkpoint-interval need cluster mode: give --cluster-listen (embedded NATS) or --nats-url (an existing one)")
		}
		return nil
	}
	if c.Duplicates < 10*time.Second || c.Duplicates > retention {
		return fmt.Errorf("--cluster-duplicate-window %s must be at least 10s (a node retries a publish for up to 10s) and at most --retention (%s)", c.Duplicates, retention)
	}
	if c.SharedInterval < 0 || c.SharedInterval > retention/2 {
		return fmt.Errorf("--shared-checkpoint-interval %s must be between 0 (the default) and half of --retention (%s): a node joining past the retention needs a shared checkpoint the stream still holds what follows", c.SharedInterval, retention)
	}
	return nil
}

// enabled says the node runs in cluster mode.
func (c *clusterConfig) enabled() bool { return c.Listen != "" || c.URL != "" }

func (c *clusterConfig) validate() error {
	if c.Sync == "always" || c.Sync == "" {
		c.SyncInterval = 0
	} else {
		d, err := time.ParseDuration(c.Sync)
		if err != nil || d <= 0 {
			return fmt.Errorf("--cluster-sync must be always or a positive duration such as 1s, not %q", c.Sync)
		}
		c.SyncInterval = d
	}
	c.PeerList = nil
	for _, p := range strings.Split(c.Peers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.PeerList = append(c.PeerList, p)
		}
	}
	if !c.enabled() {
		if c.Peers != "" || c.Node != "" || c.Client != "" || c.Sync != "always" || c.Replicas != 0 {
			return fmt.Errorf("--cluster-peers, --node-name, --nats-listen, --cluster-sync and --cluster-replicas need cluster mode: give --cluster-listen (embedded NATS) or --nats-url (an existing one)")
		}
		return nil
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		return fmt.Errorf("--cluster-replicas %d: from 1 to 5 (0: the stream's own count, or 3 for a new stream)", c.Replicas)
	}
	if c.Node == "" {
		return fmt.Errorf("--node-name is required in cluster mode: a name unique in the cluster that stays the same across restarts")
	}
	if strings.ContainsAny(c.Node, " \t\r\n.*>/\\") {
		return fmt.Errorf("--node-name %q: use letters, digits, - and _", c.Node)
	}
	if c.URL != "" {
		if c.Listen != "" || c.Peers != "" || c.Client != "" || c.Sync != "always" {
			return fmt.Errorf("--nats-url joins an existing NATS deployment: --cluster-listen, --cluster-peers, --nats-listen and --cluster-sync configure an embedded one and cannot go with it")
		}
		return nil
	}
	if err := checkHostPort("--cluster-listen", c.Listen, false); err != nil {
		return err
	}
	if c.Client != "" {
		if err := checkHostPort("--nats-listen", c.Client, true); err != nil {
			return err
		}
	}
	if len(c.PeerList) == 0 {
		return fmt.Errorf("--cluster-peers is required with --cluster-listen: every node's route address, this node's (%s) included", c.Listen)
	}
	self := false
	for _, p := range c.PeerList {
		if err := checkHostPort("--cluster-peers", p, false); err != nil {
			return err
		}
		self = self || p == c.Listen
	}
	if !self {
		return fmt.Errorf("--cluster-peers must list this node's own --cluster-listen address %s too (every node gets the same list)", c.Listen)
	}
	if len(c.PeerList) == 2 {
		return fmt.Errorf("--cluster-peers lists 2 nodes: a replicated stream needs a majority, so 2 nodes survive no failure; use 3 (or 5), or 1 for a cluster of one")
	}
	if c.Replicas > len(c.PeerList) {
		return fmt.Errorf("--cluster-replicas %d: --cluster-peers lists %d nodes, and each replica needs a node of its own", c.Replicas, len(c.PeerList))
	}
	return nil
}

func checkHostPort(flag, addr string, zeroPort bool) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q: want host:port: %v", flag, addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !zeroPort) {
		return fmt.Errorf("%s %q: the port must be a number from 1 to 65535", flag, addr)
	}
	return nil
}
