package transport

import (
	"net/http"

	"github.com/eventara/eventara/actors"
)

// clusterRetryAfter is the Retry-After of an ingest refused for want of a
// quorum: a crashed stream leader is replaced within 4–9 s.
const clusterRetryAfter = "2"

// clusterUnavailableMessage answers an ingest the cluster did not
// acknowledge in time.
const clusterUnavailableMessage = "cluster has no quorum: the events were not acknowledged by a majority of nodes in time (a node down and an election under way, or too few nodes up); they may or may not have been stored, and a retry stores each once: retry later"

// clusterJSON is the cluster object of the health answer and of
// GET /api/v1/system/cluster.
type clusterJSON struct {
	Node         string            `json:"node"`
	Leader       string            `json:"leader"`
	Quorum       bool              `json:"quorum"`
	Consuming    bool              `json:"consuming"`
	PeersSeen    int               `json:"peersSeen"`
	AppliedSeq   uint64            `json:"appliedSeq"`
	StreamSeq    uint64            `json:"streamSeq"`
	Lag          uint64            `json:"lag"`
	Nodes        []clusterNodeJSON `json:"nodes"`
	InfoAgeMs    int64             `json:"infoAgeMs"`
	InfoError    string            `json:"infoError,omitempty"`
	FirstSeq     uint64            `json:"firstSeq"`
	RetentionGap string            `json:"retentionGap,omitempty"`
	ApplyError   string            `json:"applyError,omitempty"`
	// StartedFrom, JoinWarning and SharedCheckpoint: see actors.ClusterHealth.
	StartedFrom           *sharedCheckpointJSON `json:"startedFrom,omitempty"`
	JoinWarning           string                `json:"joinWarning,omitempty"`
	SharedCheckpoint      *sharedCheckpointJSON `json:"sharedCheckpoint,omitempty"`
	SharedCheckpointError string                `json:"sharedCheckpointError,omitempty"`
}

type sharedCheckpointJSON struct {
	Seq   uint64 `json:"seq"`
	Node  string `json:"node"`
	At    string `json:"at"`
	AgeMs *int64 `json:"ageMs,omitempty"`
}

func sharedCheckpointView(v *actors.SharedCheckpointView) *sharedCheckpointJSON {
	if v == nil {
		return nil
	}
	return &sharedCheckpointJSON{Seq: v.Seq, Node: v.Node, At: v.At.UTC().Format(timeFormat)}
}

type clusterNodeJSON struct {
	Name    string `json:"name"`
	Leader  bool   `json:"leader"`
	Current bool   `json:"current"`
	Offline bool   `json:"offline"`
	Lag     uint64 `json:"lag"`
}

func clusterView(h *actors.ClusterHealth) *clusterJSON {
	v := &clusterJSON{Node: h.Node, Leader: h.Leader, Quorum: h.Quorum, Consuming: h.Consuming, PeersSeen: h.Peers,
		AppliedSeq: h.Applied, StreamSeq: h.Last, Lag: h.Lag, InfoAgeMs: h.InfoAge.Milliseconds(), InfoError: h.InfoError,
		FirstSeq: h.First, RetentionGap: h.RetentionGap, ApplyError: h.ApplyError, Nodes: make([]clusterNodeJSON, len(h.Nodes)),
		StartedFrom: sharedCheckpointView(h.StartedFrom), JoinWarning: h.JoinWarning, SharedCheckpoint: sharedCheckpointView(h.Shared),
		SharedCheckpointError: h.SharedError}
	if v.SharedCheckpoint != nil {
		age := h.SharedAge.Milliseconds()
		v.SharedCheckpoint.AgeMs = &age
	}
	for i, n := range h.Nodes {
		v.Nodes[i] = clusterNodeJSON{Name: n.Name, Leader: n.Leader, Current: n.Current, Offline: n.Offline, Lag: n.Lag}
	}
	return v
}

// serveCluster is GET /api/v1/system/cluster: the nodes holding the
// cluster's stream as this node sees them; 404 on a single node.
func serveCluster(w http.ResponseWriter, sys System) {
	h, ok := sys.Cluster()
	if !ok {
		writeError(w, http.StatusNotFound, "not a cluster: this node runs alone (start it with --cluster-listen or --nats-url)", nil)
		return
	}
	writeJSON(w, http.StatusOK, clusterView(&h))
}
