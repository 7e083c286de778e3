package notify

import "time"

// The outbox in a cluster.
//
// Every node of a cluster keeps the same outbox: it applies the same
// records in the same order (the stream's). One node, the deliverer,
// decides the steps of deliveries (PlanStart, PlanFinish, PlanExpire:
// the records Start, Finish and Expire would apply, unapplied), publishes
// them to the stream and applies them, like every other node, only when
// the stream hands them back. Two invariants make that safe:
//
//   - The deliverer never decides a notification twice: from the moment
//     it decides a start or a give-up until that record comes back, it
//     holds the notification (Hold), which Due, PlanExpire and NextWake
//     then leave out, and a held start counts against the channel's rate
//     limits. Holds are not records: a restored outbox has none (the
//     actor that held them is gone too). Guarded by
//     TestOutboxHoldLeavesANotificationOut and, in the actors,
//     TestClusterDelivererSendsOnceWhileItsStartIsOnItsWay.
//   - A record applies only to the state it was decided from (Apply):
//     during a change of deliverer, the old one's records can reach the
//     stream after the new one's (publishing stalled past the take-over
//     of its attempt), and they must change nothing: the outcome of an
//     attempt applies only to that attempt in flight, named by its
//     number and its node (Attempt.N, Attempt.By), and a Delivered or a
//     Failed after an attempt only right after that attempt's outcome.
//     Guarded by TestOutboxLateOutcomeOfATakenOverAttemptIsIgnored,
//     TestOutboxLateOutcomeBeforeTheRetryIsIgnored and, in the actors,
//     TestClusterLateOutcomeOfAnOldDeliverer.

type hold struct {
	channel string
	start   time.Time // zero: not a start
}

// Hold leaves notification id out of Due, PlanExpire and NextWake until
// Release: a cluster's deliverer holds a notification whose next step it
// published and has not applied yet. start, when not zero, is the start
// of the attempt it decided (PlanStart), which counts against the
// channel's rate limits until Release (from then on, the applied Sending
// counts).
func (o *Outbox) Hold(id string, start time.Time) {
	h := hold{start: start}
	if p, ok := o.pending[id]; ok {
		h.channel = p.n.ChannelID
	}
	o.held[id] = h
}

// Release ends Hold.
func (o *Outbox) Release(id string) { delete(o.held, id) }

func (o *Outbox) isHeld(id string) bool {
	_, ok := o.held[id]
	return ok
}
