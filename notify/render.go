package notify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eventara/eventara/rules"
)

// Subject is the one-line summary of a message: "[FIRING] CRITICAL:
// <rule name>", "[RESOLVED] …", "[TEST] …". E-mail channels may set their
// own (EmailConfig.SubjectTemplate).
func Subject(m *Message) string {
	return oneLine(fmt.Sprintf("[%s] %s: %s", m.Transition, m.Alert.Severity, m.Alert.RuleName), 250)
}

// EmailSubject renders an e-mail channel's subject template for m:
// {status} and {alertId}, then RenderMessage's placeholders. An empty
// template gives Subject.
func EmailSubject(template string, m *Message) string {
	if template == "" {
		return Subject(m)
	}
	t := strings.NewReplacer("{status}", string(m.Transition), "{alertId}", m.AlertID).Replace(template)
	a := m.Alert
	return oneLine(rules.RenderMessage(t, &a), 250)
}

// webhookBody is the JSON a WEBHOOK channel receives: the original's
// payload fields (alertId, ruleName, severity, subject, message,
// thresholdValue, actualValue, triggeredAt, context) plus the transition
// and the whole alert.
type webhookBody struct {
	NotificationID  string         `json:"notificationId"`
	IdempotencyKey  string         `json:"idempotencyKey"`
	Event           string         `json:"event"`  // firing, resolved, test
	Status          Transition     `json:"status"` // FIRING, RESOLVED, TEST
	AlertID         string         `json:"alertId"`
	RuleID          string         `json:"ruleId"`
	RuleName        string         `json:"ruleName"`
	Severity        rules.Severity `json:"severity"`
	Subject         string         `json:"subject"`
	Message         string         `json:"message"`
	ThresholdValue  float64        `json:"thresholdValue"`
	ThresholdValue2 *float64       `json:"thresholdValue2"`
	ActualValue     float64        `json:"actualValue"`
	StartsAt        time.Time      `json:"startsAt"`
	TriggeredAt     *time.Time     `json:"triggeredAt"`
	ResolvedAt      *time.Time     `json:"resolvedAt"`
	At              time.Time      `json:"at"`
	Context         map[string]any `json:"context"`
	Alert           rules.Alert    `json:"alert"`
}

// WebhookBody is the JSON body of a WEBHOOK delivery of n. It depends on
// n alone, so every attempt sends the same bytes.
func WebhookBody(n *Notification) []byte {
	m := &n.Message
	a := m.Alert
	b := webhookBody{
		NotificationID: n.ID, IdempotencyKey: n.IdempotencyKey(),
		Event: strings.ToLower(string(m.Transition)), Status: m.Transition,
		AlertID: m.AlertID, RuleID: a.RuleID, RuleName: a.RuleName, Severity: a.Severity,
		Subject: Subject(m), Message: m.Text,
		ThresholdValue: a.ThresholdValue, ThresholdValue2: a.ThresholdValue2, ActualValue: a.ActualValue,
		StartsAt: a.StartsAt, TriggeredAt: a.TriggeredAt, ResolvedAt: a.ResolvedAt, At: m.At,
		Context: map[string]any{"alertMessage": a.Message, "ruleVersion": a.RuleVersion, "priority": a.Priority},
		Alert:   a,
	}
	if a.ResolutionType != "" {
		b.Context["resolutionType"] = a.ResolutionType
	}
	out, err := json.Marshal(b)
	if err != nil { // cannot happen: plain values only
		return []byte(`{}`)
	}
	return out
}

// facts are the labelled values every chat and mail rendering lists.
func facts(m *Message) [][2]string {
	a := &m.Alert
	out := [][2]string{{"Severity", string(a.Severity)}, {"Status", string(m.Transition)}}
	if m.Transition != Test {
		th := num(a.ThresholdValue)
		if a.ThresholdValue2 != nil {
			th += " to " + num(*a.ThresholdValue2)
		}
		out = append(out, [2]string{"Threshold", th}, [2]string{"Actual", num(a.ActualValue)})
	}
	out = append(out, [2]string{"Started", stamp(a.StartsAt)})
	if a.TriggeredAt != nil {
		out = append(out, [2]string{"Fired", stamp(*a.TriggeredAt)})
	}
	if a.ResolvedAt != nil {
		r := stamp(*a.ResolvedAt)
		if a.ResolutionType != "" {
			r += " (" + string(a.ResolutionType) + ")"
		}
		out = append(out, [2]string{"Resolved", r})
	}
	return out
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// SlackBody is the JSON body of a Slack incoming-webhook delivery: "text"
// (the notification fallback) and Block Kit "blocks", within Slack's
// limits (header 150, section text 3000 characters, 10 fields).
func SlackBody(n *Notification) []byte {
	m := &n.Message
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type block struct {
		Type     string `json:"type"`
		Text     *text  `json:"text,omitempty"`
		Fields   []text `json:"fields,omitempty"`
		Elements []text `json:"elements,omitempty"`
	}
	var fields []text
	for _, f := range facts(m) {
		fields = append(fields, text{"mrkdwn", "*" + f[0] + "*\n" + slackEscape(f[1])})
	}
	body := struct {
		Text   string  `json:"text"`
		Blocks []block `json:"blocks"`
	}{
		Text: oneLine(Subject(m)+": "+m.Text, 3000),
		Blocks: []block{
			{Type: "header", Text: &text{"plain_text", oneLine(Subject(m), 150)}},
			{Type: "section", Text: &text{"mrkdwn", truncate(slackEscape(m.Text), 3000)}},
			{Type: "section", Fields: fields},
			{Type: "context", Elements: []text{{"mrkdwn", truncate(slackEscape("alert "+m.AlertID+" · rule "+m.Alert.RuleName), 3000)}}},
		},
	}
	out, _ := json.Marshal(body)
	return out
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Embed colours by severity, and for resolutions.
const (
	colorCritical = 0xE01E5A
	colorWarning  = 0xECB22E
	colorInfo     = 0x36C5F0
	colorResolved = 0x2EB67D
)

// DiscordBody is the JSON body of a Discord webhook delivery: "content"
// and one embed, within Discord's limits (content 2000, title 256,
// description 4096, field value 1024 characters), with
// allowed_mentions empty so no alert text can ping @everyone.
func DiscordBody(n *Notification) []byte {
	m := &n.Message
	type field struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Inline bool   `json:"inline"`
	}
	type embed struct {
		Title       string            `json:"title"`
		Description string            `json:"description"`
		Color       int               `json:"color"`
		Fields      []field           `json:"fields"`
		Timestamp   string            `json:"timestamp"`
		Footer      map[string]string `json:"footer"`
	}
	color := colorInfo
	switch {
	case m.Transition == Resolved:
		color = colorResolved
	case m.Alert.Severity == rules.SeverityCritical:
		color = colorCritical
	case m.Alert.Severity == rules.SeverityWarning:
		color = colorWarning
	}
	var fs []field
	for _, f := range facts(m) {
		fs = append(fs, field{f[0], truncate(f[1], 1024), true})
	}
	body := struct {
		Content         string              `json:"content"`
		Embeds          []embed             `json:"embeds"`
		AllowedMentions map[string][]string `json:"allowed_mentions"`
	}{
		Content: oneLine(Subject(m), 2000),
		Embeds: []embed{{
			Title: oneLine(m.Alert.RuleName, 256), Description: truncate(m.Text, 4096), Color: color, Fields: fs,
			Timestamp: stamp(m.At), Footer: map[string]string{"text": oneLine("alert "+m.AlertID, 2048)},
		}},
		AllowedMentions: map[string][]string{"parse": {}},
	}
	out, _ := json.Marshal(body)
	return out
}

// EmailText is the plain-text body of an e-mail delivery.
func EmailText(n *Notification) string {
	m := &n.Message
	var b strings.Builder
	b.WriteString(Subject(m))
	b.WriteString("\n\n")
	b.WriteString(m.Text)
	b.WriteString("\n\n")
	rows := append([][2]string{{"Alert", m.AlertID}, {"Rule", m.Alert.RuleName}}, facts(m)...)
	if m.Alert.ResolutionNotes != "" {
		rows = append(rows, [2]string{"Notes", m.Alert.ResolutionNotes})
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "%-10s %s\n", r[0]+":", oneLine(r[1], 1000))
	}
	fmt.Fprintf(&b, "\n-- \nSent by Eventara. Idempotency-Key: %s\n", n.IdempotencyKey())
	return b.String()
}

// oneLine folds s to one line of at most max characters.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, max)
}

// truncate cuts s to at most max characters (runes), ending with "…" when
// cut, and makes it valid UTF-8.
func truncate(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
