package actors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/rules"
	"github.com/eventara/eventara/rulestore"
)

// deliverer names the node that delivers in these tests (the stream's
// leader would be every node here: they share one NATS server).
type deliverer struct{ name atomic.Value }

func newDeliverer(name string) *deliverer {
	d := &deliverer{}
	d.name.Store(name)
	return d
}

func (d *deliverer) set(name string) { d.name.Store(name) }

// startNode starts a cluster-mode System named name on dir, its webhooks
// allowed to reach loopback receivers and retried fast.
func startNode(t *testing.T, cc *ClusterConfig, name string, d *deliverer, dir string) *clusterSystem {
	t.Helper()
	j, err := journal.Open(journal.Config{Dir: dir, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	c := *cc
	c.name = name
	c.owner = func() bool { return d.name.Load() == name }
	cfg := Config{Log: zerolog.Nop(), Journal: j, Cluster: &c}
	sys, err := Start(cfg)
	if err != nil {
		j.Close()
		t.Fatal(err)
	}
	cs := &clusterSystem{sys: sys, j: j}
	t.Cleanup(cs.stop)
	return cs
}

// rulesState is the node's whole alerting state as bytes (equal stores
// encode to equal bytes).
func rulesState(t *testing.T, sys *System) []byte {
	t.Helper()
	var b []byte
	var err error
	sys.read(func(st *rulestore.Store) { b, err = st.MarshalSnapshot() })
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitSameState waits until every node has the same rules and alerts as
// the first, and what check asks of it.
func waitSameState(t *testing.T, what string, check func(st []byte) error, nodes ...*clusterSystem) {
	t.Helper()
	testutil.WaitFor(t, testutil.Patience, what, func() error {
		first := rulesState(t, nodes[0].sys)
		for i, n := range nodes[1:] {
			if other := rulesState(t, n.sys); !bytes.Equal(first, other) {
				return fmt.Errorf("node %d differs:\n%s\n%s", i+1, first, other)
			}
		}
		if check != nil {
			return check(first)
		}
		return nil
	})
}

func mustCreate(t *testing.T, body string) *rules.CreateRuleRequest {
	t.Helper()
	req, err := rules.DecodeCreate([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestClusterRulesSameOnEveryNode: a rule made, changed, enabled and
// deleted through either node is the same on both (same ID, times,
// version: the same store, byte for byte); each change is answered once
// the node that took it applied it; of two rules with the same name made
// through both nodes at once, one is made everywhere and the other
// refused; a node restarted on its data, and a new node reading the
// stream from its start, reach the same store.
func TestClusterRulesSameOnEveryNode(t *testing.T) {
	cc := startStream(t)
	d := newDeliverer("a")
	aDir, bDir := t.TempDir(), t.TempDir()
	a := startNode(t, cc, "a", d, aDir)
	b := startNode(t, cc, "b", d, bDir)
	ctx := context.Background()

	r, err := a.sys.CreateRule(ctx, mustCreate(t, errorRateRule("CPU high")))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.sys.Rule(r.ID); err != nil || got.Name != "CPU high" {
		t.Fatalf("the node that took the create does not list it at once: %v %v", got, err)
	}
	has := func(id string) func([]byte) error {
		return func(st []byte) error {
			if !bytes.Contains(st, []byte(id)) {
				return errors.New("rule not there yet")
			}
			return nil
		}
	}
	waitSameState(t, "the rule on both nodes", has(r.ID), a, b)

	upd, err := rules.DecodeUpdate([]byte(`{"description":"through b","severity":"WARNING"}`))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := b.sys.UpdateRule(ctx, r.ID, upd)
	if err != nil || r2.Description != "through b" || r2.Version != 2 || r2.ID != r.ID {
		t.Fatalf("update through b: %+v %v", r2, err)
	}
	if _, err := a.sys.SetRuleStatus(ctx, r.ID, rules.StatusActive); err != nil {
		t.Fatal(err)
	}
	r3, err := b.sys.SetRuleStatus(ctx, r.ID, rules.StatusInactive)
	if err != nil || r3.Status != rules.StatusInactive || r3.Description != "through b" {
		t.Fatalf("disable through b after an enable through a: %+v %v", r3, err)
	}
	waitSameState(t, "the changes on both nodes", nil, a, b)

	// The same name through both nodes at once: one wins everywhere.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, n := range []*clusterSystem{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = n.sys.CreateRule(ctx, mustCreate(t, errorRateRule("Twin")))
		}()
	}
	wg.Wait()
	var taken *NameTakenError
	if (errs[0] == nil) == (errs[1] == nil) || !(errors.As(errs[0], &taken) || errors.As(errs[1], &taken)) {
		t.Fatalf("two creates of one name through two nodes: %v, %v; want one made and one refused", errs[0], errs[1])
	}
	waitSameState(t, "one Twin on both nodes", nil, a, b)
	if n := len(b.sys.Rules(func(r *rules.Rule) bool { return r.Name == "Twin" })); n != 1 {
		t.Fatalf("%d rules named Twin", n)
	}

	if err := b.sys.DeleteRule(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sys.Rule(r.ID); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("deleted through b, b still has it: %v", err)
	}
	if _, err := a.sys.UpdateRule(ctx, "no-such-rule", upd); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("update of an unknown rule: %v", err)
	}
	waitSameState(t, "the delete on both nodes", func(st []byte) error {
		if bytes.Contains(st, []byte(`"id":"`+r.ID+`"`)) {
			return errors.New("deleted rule still there")
		}
		return nil
	}, a, b)

	b.stop()
	b = startNode(t, cc, "b", d, bDir)
	c := startNode(t, cc, "c", d, t.TempDir())
	waitSameState(t, "a restarted node and a new one reach the same rules", nil, a, b, c)
	if _, err := c.sys.SetRuleStatus(ctx, r.ID, rules.StatusActive); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("the new node knows the deleted rule: %v", err)
	}
}

