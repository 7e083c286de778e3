package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/cluster"
)

// clusterNode is a started cluster node's NATS side.
type clusterNode struct {
	node *cluster.Node
	cfg  *actors.ClusterConfig
}

// startCluster starts (or joins) NATS and opens the cluster's stream,
// whose retention is the service's. It returns once the stream has a
// leader, which on a fresh cluster waits for a quorum of nodes.
func startCluster(cfg *config, log zerolog.Logger) (*clusterNode, error) {
	cc := cfg.Cluster
	ncfg := cluster.Config{Name: cc.Node, Log: log.With().Str("component", "nats").Logger(), ReadyTimeout: 2 * time.Minute}
	if cc.URL != "" {
		ncfg.URL = cc.URL
	} else {
		ncfg.Dir = filepath.Join(cfg.DataDir, "nats")
		ncfg.ClusterAddr, ncfg.Routes, ncfg.ClientAddr = cc.Listen, cc.PeerList, cc.Client
		ncfg.ClusterName, ncfg.SyncInterval = cc.Name, cc.SyncInterval
		if len(cc.PeerList) == 1 {
			ncfg.ClusterAddr, ncfg.Routes = "", nil // a cluster of one: no routes
		}
	}
	log.Info().Str("node", cc.Node).Strs("peers", cc.PeerList).Str("nats_url", cc.URL).Msg("cluster mode: waiting for a quorum of nodes")
	ctx := context.Background()
	node, err := cluster.Start(ctx, ncfg)
	if err != nil {
		return nil, fmt.Errorf("start cluster node %s: %w", cc.Node, err)
	}
	stream, err := node.Stream(ctx, cluster.StreamConfig{MaxAge: cfg.Retention, Duplicates: cc.Duplicates, Replicas: cc.Replicas})
	if err != nil {
		node.Shutdown()
		return nil, fmt.Errorf("open the cluster stream: %w", err)
	}
	pub, err := stream.Publisher(cluster.PublisherConfig{})
	if err != nil {
		node.Shutdown()
		return nil, fmt.Errorf("cluster publisher: %w", err)
	}
	log.Info().Str("node", cc.Node).Int("replicas", stream.Config().Replicas).Str("nats_client", node.ClientURL()).Msg("cluster stream ready")
	return &clusterNode{node: node, cfg: &actors.ClusterConfig{Node: node, Stream: stream, Publisher: pub,
		SharedCheckpointInterval: cc.SharedInterval}}, nil
}
