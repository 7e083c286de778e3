package actors

import (
	"encoding/json"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/rulestore"
)

// The rules actor in cluster mode (see cluster_state.go): API changes go
// to the stream (propose) and every change, alert transitions included,
// comes back from it (applyNote). Nothing else changes the store.

// maxAlertPublishes bounds the alert transition notes being published by
// the deliverer at once.
//
// Queue: goroutines publishing a noteAlerts, one per rule and tick with
// transitions. Bound: maxAlertPublishes. At the bound: the transitions of
// that tick are dropped and the rule actor goes back to the journaled
// state; it steps them again on the next tick (Warn log).
const maxAlertPublishes = 256

// ruleResyncAsk asks the rules actor to resync the rule actor of ruleID if
// it is still of generation gen: its transitions were not published.
type ruleResyncAsk struct {
	ruleID string
	gen    uint64
}

// propose checks m against this node's store, as one node would, and
// publishes it as a note; every node (this one included) applies it in
// stream order (applyRuleNote), and m is answered then, with what
// applying it gave. A refusal here is answered at once.
func (a *rulesActor) propose(ctx actor.Context, m *ruleCommand, now time.Time, newID string) {
	c, err := a.plan(ctx, m, now, newID)
	if err != nil {
		m.answer(ruleAnswer{err: err})
		return
	}
	if c.same != nil {
		m.answer(ruleAnswer{rule: c.same})
		return
	}
	n := &ruleNote{Token: "rules-" + a.ids.New(now).String(), Op: ruleOpNames[m.op], ID: m.id, NewID: newID, At: now,
		Create: m.create, Update: m.update, Status: m.status, By: m.by, Notes: m.notes}
	al, cs := a.al, a.sys.cluster
	al.waiting.add(n.Token, m)
	go func() {
		if _, err := cs.publishNote(n.Token, noteRuleCommand, n); err != nil {
			if w, ok := al.waiting.take(n.Token); ok {
				w.answer(ruleAnswer{err: err})
			}
		}
	}()
}

// applyNote applies a rules note read from the stream, unless the store
// has it already (read again after a restart).
func (a *rulesActor) applyNote(ctx actor.Context, m *stateApply) {
	if m.seq <= a.store().StreamSeq() {
		m.answer(nil)
		return
	}
	var err error
	switch m.kind {
	case noteRuleCommand:
		err = a.applyRuleNote(ctx, m)
	case noteAlerts:
		err = a.applyAlertsNote(ctx, m)
	}
	m.answer(err)
}

// applyRuleNote applies an API change at the time and with the ID the
// receiving node decided. A change refused here is refused on every node
// alike (the store is the same at this point of the stream); the
// receiving node answers its caller with it. The error is the journal's.
func (a *rulesActor) applyRuleNote(ctx actor.Context, m *stateApply) error {
	var n ruleNote
	if err := json.Unmarshal(m.body, &n); err != nil {
		a.log.Error().Err(err).Uint64("seq", m.seq).Msg("cluster: undecodable rules note skipped")
		return nil
	}
	op, ok := opNamed(ruleOpNames, n.Op)
	if !ok {
		a.log.Error().Str("op", n.Op).Uint64("seq", m.seq).Msg("cluster: rules note of an unknown operation skipped")
		return nil
	}
	cmd := &ruleCommand{op: op, id: n.ID, create: n.Create, update: n.Update, status: n.Status, by: n.By, notes: n.Notes}
	ans, err := a.execute(ctx, cmd, n.At, n.NewID, m.seq)
	if err != nil {
		return err
	}
	if ans.err != nil {
		a.log.Debug().Err(ans.err).Uint64("seq", m.seq).Str("op", n.Op).Msg("cluster: rules change refused")
	}
	if w, ok := a.al.waiting.take(n.Token); ok {
		w.answer(ans)
	}
	return nil
}

// applyAlertsNote applies the deliverer's alert transitions of one rule
// and tick if the rule's machine is in the state they were stepped from;
// otherwise they are dropped alike on every node (the deliverer's rule
// actor steps again from the journaled state). The error is the
// journal's.
func (a *rulesActor) applyAlertsNote(ctx actor.Context, m *stateApply) error {
	var n alertsNote
	if err := json.Unmarshal(m.body, &n); err != nil {
		a.log.Error().Err(err).Uint64("seq", m.seq).Msg("cluster: undecodable alerts note skipped")
		return nil
	}
	st := a.store()
	r, ok := st.Rule(n.RuleID)
	mach, _ := st.Machine(n.RuleID)
	mine := n.Origin == a.sys.cluster.nodeName()
	if !ok || len(n.Records) == 0 || baseOf(r, mach.State()) != n.Before {
		a.log.Debug().Str("rule", n.RuleID).Uint64("seq", m.seq).Time("at", n.At).
			Msg("cluster: alert transitions stepped from a state the stream has moved past; dropped")
		if mine {
			a.resync(ctx, n.RuleID)
		}
		return nil
	}
	entries := make([]*rulestore.Entry, len(n.Records))
	for i, rec := range n.Records {
		entries[i] = rulestore.AlertEntry(rec)
		entries[i].StreamSeq = m.seq
	}
	c, evaluated := a.children[n.RuleID]
	if evaluated {
		c.cell.mu.Lock()
	}
	first, err := a.commit(entries)
	if evaluated {
		resync := true
		if err == nil {
			now, _ := a.store().Machine(n.RuleID)
			c.cell.state = now.State()
			// The rule actor that stepped these is there already.
			resync = !mine || n.Gen != c.cell.gen
		}
		if resync {
			c.cell.gen++
		}
		c.cell.mu.Unlock()
		if resync {
			ctx.Send(c.pid, &ruleResync{})
		}
	}
	if err != nil {
		return err
	}
	a.publish(first, entries)
	return nil
}

// clusterRecords handles a rule actor's transitions in cluster mode: the
// deliverer publishes them (applied when they come back from the
// stream); any other node, or the deliverer for a stale tick, drops them
// and resyncs the rule actor to the journaled state.
func (a *rulesActor) clusterRecords(ctx actor.Context, c *ruleChild, m *ruleRecords) {
	cs := a.sys.cluster
	c.cell.mu.Lock()
	if m.gen != c.cell.gen {
		c.cell.mu.Unlock()
		return // superseded: a resync is on its way
	}
	publish := cs.owner() && a.sys.now().Sub(m.at) <= staleTick
	if publish && a.al.publishing.Add(1) > maxAlertPublishes {
		a.al.publishing.Add(-1)
		a.log.Warn().Str("rule", m.ruleID).Msg("cluster: too many alert transitions being published; this tick's are skipped")
		publish = false
	}
	if !publish {
		c.cell.gen++
		c.cell.mu.Unlock()
		ctx.Send(c.pid, &ruleResync{})
		return
	}
	c.cell.mu.Unlock()
	n := &alertsNote{RuleID: m.ruleID, At: m.at, Before: m.before, Records: m.recs, Origin: cs.nodeName(), Gen: m.gen}
	root, self, log, busy := a.sys.root, ctx.Self(), a.log, &a.al.publishing
	go func() {
		defer busy.Add(-1)
		if _, err := cs.publishNote(alertNoteID(n.RuleID, n.At), noteAlerts, n); err != nil {
			log.Warn().Err(err).Str("rule", n.RuleID).Msg("cluster: alert transitions not published; stepped again on the next tick")
			root.Send(self, &ruleResyncAsk{ruleID: n.RuleID, gen: n.Gen})
		}
	}()
}

// resyncAsked resyncs the rule actor of m.ruleID if it is still of m.gen.
func (a *rulesActor) resyncAsked(ctx actor.Context, m *ruleResyncAsk) {
	c, ok := a.children[m.ruleID]
	if !ok {
		return
	}
	c.cell.mu.Lock()
	stale := c.cell.gen == m.gen
	c.cell.mu.Unlock()
	if stale {
		a.resync(ctx, m.ruleID)
	}
}
