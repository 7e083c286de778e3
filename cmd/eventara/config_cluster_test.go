package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestClusterFlags(t *testing.T) {
	t.Parallel()
	peers := "127.0.0.1:6221,127.0.0.1:6222,127.0.0.1:6223"
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(*clusterConfig) bool
		wantErr string
	}{
		{"single node by default", nil, nil, func(c *clusterConfig) bool { return !c.enabled() && c.SyncInterval == 0 }, ""},
		{"embedded", []string{"--node-name", "n1", "--cluster-listen", "127.0.0.1:6221", "--cluster-peers", peers}, nil,
			func(c *clusterConfig) bool { return c.enabled() && len(c.PeerList) == 3 && c.Name == "eventara" }, ""},
		{"env twins", nil, map[string]string{"EVENTARA_NODE_NAME": "n2", "EVENTARA_CLUSTER_LISTEN": "127.0.0.1:6222",
			"EVENTARA_CLUSTER_PEERS": peers, "EVENTARA_CLUSTER_SYNC": "1s"},
			func(c *clusterConfig) bool { return c.Node == "n2" && c.SyncInterval == time.Second }, ""},
		{"external NATS", []string{"--node-name", "n1", "--nats-url", "nats://10.0.0.1:4222"}, nil,
			func(c *clusterConfig) bool { return c.enabled() && c.URL != "" }, ""},
		{"no node name", []string{"--cluster-listen", "127.0.0.1:6221", "--cluster-peers", peers}, nil, nil, "--node-name is required"},
		{"self not among peers", []string{"--node-name", "n1", "--cluster-listen", "127.0.0.1:6224", "--cluster-peers", peers}, nil, nil, "own --cluster-listen"},
		{"two peers", []string{"--node-name", "n1", "--cluster-listen", "127.0.0.1:6221", "--cluster-peers", "127.0.0.1:6221,127.0.0.1:6222"}, nil, nil, "2 nodes"},
		{"no peers", []string{"--node-name", "n1", "--cluster-listen", "127.0.0.1:6221"}, nil, nil, "--cluster-peers is required"},
		{"bad listen", []string{"--node-name", "n1", "--cluster-listen", "nowhere", "--cluster-peers", peers}, nil, nil, "--cluster-listen"},
		{"bad sync", []string{"--node-name", "n1", "--cluster-listen", "127.0.0.1:6221", "--cluster-peers", peers, "--cluster-sync", "sometimes"}, nil, nil, "--cluster-sync"},
		{"peers without cluster mode", []string{"--cluster-peers", peers}, nil, nil, "need cluster mode"},
		{"url with routes", []string{"--node-name", "n1", "--nats-url", "nats://x:4222", "--cluster-listen", "127.0.0.1:6221"}, nil, nil, "--nats-url joins"},
		{"bad node name", []string{"--node-name", "n 1", "--nats-url", "nats://x:4222"}, nil, nil, "--node-name"},
		{"short retention", []string{"--node-name", "n1", "--nats-url", "nats://x:4222", "--retention", "20s", "--cluster-duplicate-window", "10s",
			"--shared-checkpoint-interval", "5s"}, nil,
			func(c *clusterConfig) bool {
				return c.Duplicates == 10*time.Second && c.SharedInterval == 5*time.Second
			}, ""},
		{"retention under the duplicate window", []string{"--node-name", "n1", "--nats-url", "nats://x:4222", "--retention", "1m"}, nil, nil, "at most --retention"},
		{"duplicate window too short", []string{"--node-name", "n1", "--nats-url", "nats://x:4222", "--cluster-duplicate-window", "1s"}, nil, nil, "at least 10s"},
		{"shared interval past half the retention", []string{"--node-name", "n1", "--nats-url", "nats://x:4222", "--retention", "1h",
			"--shared-checkpoint-interval", "31m"}, nil, nil, "half of --retention"},
		{"replicas through a URL", []string{"--node-name", "n1", "--nats-url", "nats://x:4222", "--cluster-replicas", "5"}, nil,
			func(c *clusterConfig) bool { return c.Replicas == 5 }, ""},
		{"replicas default", []string{"--node-name", "n1", "--nats-url", "nats://x:4222"}, nil,
			func(c *clusterConfig) bool { return c.Replicas == 0 }, ""},
		{"replicas env twin", []string{"--node-name", "n1", "--cluster-listen", "127.0.0.1:6221", "--cluster-peers", peers},
			map[string]string{"EVENTARA_CLUSTER_REPLICAS": "1"}, func(c *clusterConfig) bool { return c.Replicas == 1 }, ""},
		{"replicas past the peers", []string{"--node-name", "n1", "--cluster-listen", "127.0.0.1:6221", "--cluster-peers", peers,
			"--cluster-replicas", "5"}, nil, nil, "lists 3 nodes"},
		{"replicas out of range", []string{"--node-name", "n1", "--nats-url", "nats://x:4222", "--cluster-replicas", "7"}, nil, nil, "from 1 to 5"},
		{"negative replicas", []string{"--node-name", "n1", "--nats-url", "nats://x:4222", "--cluster-replicas", "-1"}, nil, nil, "from 1 to 5"},
		{"replicas without cluster mode", []string{"--cluster-replicas", "3"}, nil, nil, "need cluster mode"},
		{"shared interval without cluster mode", []string{"--shared-checkpoint-interval", "1m"}, nil, nil, "need cluster mode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseConfig(c.args, func(k string) string { return c.env[k] }, io.Discard)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(&cfg.Cluster) {
				t.Fatalf("unexpected config %+v", cfg.Cluster)
			}
		})
	}
}
