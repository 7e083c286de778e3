package actors

import (
	"context"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/notify"
)

// channelActor delivers the notifications of one channel: each
// channelDeliver is one attempt, sent on a goroutine of its own with
// notify.Sender (a slow receiver holds up neither the notifier nor its
// own mailbox), whose outcome goes back to the notifier as a
// deliveryDone. The notifier hands it at most maxInFlightPerChannel
// attempts at a time. Stopping (the channel deleted, the notifier
// stopping or restarting) cancels the sends in progress and waits for
// them; their outcomes then reach a notifier that ignores them, and the
// next incarnation retries what was in flight (Outbox.Resume).
type channelActor struct {
	sys    *System
	parent *actor.PID
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (a *channelActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.ctx, a.cancel = context.WithCancel(context.Background())
	case *channelDeliver:
		a.wg.Add(1)
		go a.send(m)
	case *actor.Stopping, *actor.Restarting:
		a.cancel()
		a.wg.Wait()
	}
}

func (a *channelActor) send(m *channelDeliver) {
	defer a.wg.Done()
	if err := a.sys.publishStart(m); err != nil {
		// Not sent: a deliverer that cannot tell the cluster it began an
		// attempt does not make it.
		a.sys.root.Send(a.parent, &deliveryDone{gen: m.gen, channelID: m.ch.ID, id: m.n.ID, attempt: notify.Attempt{N: m.N}, startErr: err})
		return
	}
	at := a.sys.notifying.sender.Send(a.ctx, m.ch, &m.n)
	at.N = m.N
	a.sys.root.Send(a.parent, &deliveryDone{gen: m.gen, channelID: m.ch.ID, id: m.n.ID, attempt: at})
}
