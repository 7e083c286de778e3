package notify

import (
	"slices"
	"time"
)

// Limits are a channel's rate limits: attempts in any sliding minute and
// hour; 0 is no limit.
type Limits struct {
	PerMinute, PerHour int
}

// LimitsOf returns ch's limits.
func LimitsOf(ch *Channel) Limits {
	return Limits{PerMinute: ch.RateLimitPerMinute, PerHour: ch.RateLimitPerHour}
}

// room is how many attempts the channel may start at now (-1: no limit).
func (o *Outbox) room(ch string, now time.Time) int {
	l := o.limits[ch]
	left := -1
	for _, w := range []struct {
		limit int
		span  time.Duration
	}{{l.PerMinute, time.Minute}, {l.PerHour, time.Hour}} {
		if w.limit <= 0 {
			continue
		}
		r := max(w.limit-o.startsWithin(ch, now, w.span), 0)
		if left < 0 || r < left {
			left = r
		}
	}
	return left
}

// startsWithin counts the channel's attempts that started in (now-span, now].
func (o *Outbox) startsWithin(ch string, now time.Time, span time.Duration) int {
	n := 0
	for _, t := range o.startTimes(ch) {
		if t.After(now.Add(-span)) && !t.After(now) {
			n++
		}
	}
	return n
}

// freeAt is when the channel may start one more attempt, given its limits
// (now when it may already).
func (o *Outbox) freeAt(ch string, now time.Time) time.Time {
	l := o.limits[ch]
	at := now
	for _, w := range []struct {
		limit int
		span  time.Duration
	}{{l.PerMinute, time.Minute}, {l.PerHour, time.Hour}} {
		if w.limit <= 0 {
			continue
		}
		var in []time.Time
		for _, t := range o.startTimes(ch) {
			if t.After(now.Add(-w.span)) && !t.After(now) {
				in = append(in, t)
			}
		}
		if len(in) >= w.limit {
			if f := in[len(in)-w.limit].Add(w.span); f.After(at) {
				at = f
			}
		}
	}
	return at
}

// startTimes are the channel's attempt starts of the last hour, with
// those held (Hold), ascending.
func (o *Outbox) startTimes(ch string) []time.Time {
	s := o.starts[ch]
	added := false
	for _, h := range o.held {
		if h.channel == ch && !h.start.IsZero() {
			if !added {
				s, added = slices.Clone(s), true
			}
			s = append(s, h.start)
		}
	}
	if added {
		slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	}
	return s
}

func (o *Outbox) noteStart(ch string, at time.Time) {
	s := append(o.starts[ch], at)
	slices.SortFunc(s, func(a, b time.Time) int { return a.Compare(b) })
	cut := 0
	for cut < len(s) && !s[cut].After(s[len(s)-1].Add(-time.Hour)) {
		cut++
	}
	o.starts[ch] = slices.Clone(s[cut:])
}
