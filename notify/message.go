package notify

import (
	"strings"
	"time"

	"github.com/eventara/eventara/rules"
)

// Transition is which change of an alert a notification tells.
type Transition string

// Transitions. TEST is the channel test's message (POST …/{id}/test).
const (
	Firing   Transition = "FIRING"
	Resolved Transition = "RESOLVED"
	Test     Transition = "TEST"
)

// Message is what to say about one alert transition, the same for every
// channel: the alert as it was after the transition, and the rule's
// rendered messageTemplate.
type Message struct {
	AlertID    string      `json:"alertId"`
	Transition Transition  `json:"transition"`
	At         time.Time   `json:"at"`   // when the transition happened (tick time)
	Text       string      `json:"text"` // rules.RenderMessage of the rule's template
	Alert      rules.Alert `json:"alert"`
}

// MessageFor returns the message of a rules record, if it is to be
// notified: an ALERT_FIRING or ALERT_RESOLVED record with Notify set.
// template is the rule's notificationConfig.messageTemplate ("" for the
// default text); a resolution appends its notes.
func MessageFor(rec rules.Record, template string) (Message, bool) {
	if !rec.Notify {
		return Message{}, false
	}
	var tr Transition
	switch rec.Kind {
	case rules.RecordFiring:
		tr = Firing
	case rules.RecordResolved:
		tr = Resolved
	default:
		return Message{}, false
	}
	a := rec.Alert
	text := rules.RenderMessage(template, &a)
	if tr == Resolved {
		text = "Resolved: " + text
		if a.ResolutionNotes != "" {
			text += " (" + a.ResolutionNotes + ")"
		}
	}
	return Message{AlertID: a.ID, Transition: tr, At: rec.At, Text: text, Alert: a}, true
}

// TestMessage is the message a channel test sends: the original's "Test
// Notification", as an INFO alert of no rule. Its alert id is unique per
// channel and time, so receivers de-duplicating by it see every test.
func TestMessage(ch *Channel, at time.Time) Message {
	at = at.UTC()
	id := "test-" + ch.ID + "-" + at.Format("20060102T150405.000000000Z")
	fired := at
	return Message{
		AlertID: id, Transition: Test, At: at,
		Text: "Test notification from Eventara to channel " + ch.Name + ": if you read this, the channel works.",
		Alert: rules.Alert{ID: id, RuleName: "Test Notification", Severity: rules.SeverityInfo, Status: rules.AlertFiring,
			Message: "Test notification", StartsAt: at, TriggeredAt: &fired, Notified: true},
	}
}

// Notification is one message to one channel: the outbox's unit of
// delivery. ID is "<alertId>:<transition>:<channelId>", so the same
// transition of the same alert is delivered to a channel at most once
// (Outbox.Enqueue ignores a known ID).
type Notification struct {
	ID          string      `json:"id"`
	ChannelID   string      `json:"channelId"`
	ChannelType ChannelType `json:"channelType"`
	// Recipient is the channel's masked recipient when it was enqueued
	// (Channel.Recipient), for the delivery log.
	Recipient string  `json:"recipient"`
	Message   Message `json:"message"`
}

// NotificationID is the id of the notification of m to channelID.
func NotificationID(m *Message, channelID string) string {
	return m.AlertID + ":" + string(m.Transition) + ":" + channelID
}

// NewNotification returns the notification of m to ch.
func NewNotification(m Message, ch *Channel) Notification {
	return Notification{ID: NotificationID(&m, ch.ID), ChannelID: ch.ID, ChannelType: ch.ChannelType,
		Recipient: ch.Recipient(), Message: m}
}

// ForRecord returns the notifications of one rules record to the rule's
// channels (resolved from rule.NotificationChannels names by the caller),
// none when the record is not to be notified. Disabled channels are
// skipped: the original answered them with a FAILED "Channel is disabled"
// result, which tells nobody anything.
func ForRecord(rec rules.Record, rule *rules.Rule, channels []*Channel) []Notification {
	template := ""
	if rule != nil && rule.NotificationConfig != nil {
		template = rule.NotificationConfig.MessageTemplate
	}
	m, ok := MessageFor(rec, template)
	if !ok {
		return nil
	}
	var out []Notification
	for _, ch := range channels {
		if ch.Enabled {
			out = append(out, NewNotification(m, ch))
		}
	}
	return out
}

// IdempotencyKey is the key receivers de-duplicate by:
// "<alertId>:<transition>" in lower case ("api-errors-3:firing"). It is
// the same for every attempt, across restarts, and for every channel.
func (n *Notification) IdempotencyKey() string {
	return n.Message.AlertID + ":" + strings.ToLower(string(n.Message.Transition))
}
