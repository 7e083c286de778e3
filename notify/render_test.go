package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/eventara/eventara/rules"
)

func TestMessageFor(t *testing.T) {
	t.Parallel()
	m, ok := MessageFor(firingRecord(60), "{ruleName} is {severity}: {actualValue} > {thresholdValue} at {triggeredAt}")
	if !ok || m.Transition != Firing || m.AlertID != "r1-1" || m.Text != "api errors is CRITICAL: 12.50 > 5.00 at 2026-11-28T14:01:00Z" {
		t.Fatalf("%+v", m)
	}
	r, ok := MessageFor(resolvedRecord(60, 120), "")
	if !ok || r.Transition != Resolved || !strings.HasPrefix(r.Text, "Resolved: Alert: api errors") || !strings.HasSuffix(r.Text, "(condition cleared)") {
		t.Fatalf("%+v", r)
	}
	for _, rec := range []rules.Record{
		{Kind: rules.RecordPending, Notify: true}, {Kind: rules.RecordAcknowledged, Notify: true},
		func() rules.Record { r := firingRecord(60); r.Notify = false; return r }(),
	} {
		if _, ok := MessageFor(rec, ""); ok {
			t.Errorf("%s notify=%v: notified", rec.Kind, rec.Notify)
		}
	}
}

func TestForRecord(t *testing.T) {
	t.Parallel()
	on := newChannel(t, hookReq("https://a.example", ""))
	off := newChannel(t, `{"channelType":"WEBHOOK","name":"off","enabled":false,"config":{"url":"https://b.example"}}`)
	off.ID = "ch2"
	ns := ForRecord(firingRecord(60), &rules.Rule{NotificationConfig: &rules.NotificationConfig{MessageTemplate: "boom {ruleName}"}}, []*Channel{on, off})
	if len(ns) != 1 || ns[0].ID != "r1-1:FIRING:ch1" || ns[0].Message.Text != "boom api errors" || ns[0].IdempotencyKey() != "r1-1:firing" ||
		ns[0].Recipient != "https://a.example" {
		t.Fatalf("%+v", ns)
	}
}

func TestWebhookBody(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, hookReq("https://a.example", ""))
	for _, rec := range []rules.Record{firingRecord(60), resolvedRecord(60, 300)} {
		n := notification(t, ch, rec)
		var b map[string]any
		if err := json.Unmarshal(WebhookBody(&n), &b); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"alertId": "r1-1", "ruleId": "r1", "ruleName": "api errors", "severity": "CRITICAL",
			"thresholdValue": 5.0, "thresholdValue2": 50.0, "actualValue": 12.5, "triggeredAt": "2026-11-28T14:01:00Z",
			"idempotencyKey": "r1-1:" + strings.ToLower(string(n.Message.Transition)), "status": string(n.Message.Transition)}
		for k, v := range want {
			if b[k] != v {
				t.Errorf("%s: %s = %v, want %v", rec.Kind, k, b[k], v)
			}
		}
		if rec.Kind == rules.RecordResolved && (b["resolvedAt"] != "2026-11-28T14:05:00Z" || b["event"] != "resolved" ||
			b["subject"] != "[RESOLVED] CRITICAL: api errors") {
			t.Errorf("resolved body: %v", b)
		}
		if string(WebhookBody(&n)) != string(WebhookBody(&n)) {
			t.Error("body not deterministic")
		}
	}
}

func TestSlackBody(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, `{"channelType":"SLACK","name":"s","config":{"url":"https://hooks.slack.com/services/T1/B2/x"}}`)
	rec := firingRecord(60)
	rec.Alert.RuleName = "<!channel> & " + strings.Repeat("long ", 100)
	n := notification(t, ch, rec)
	var b struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type, Text string
			} `json:"text"`
			Fields   []struct{ Type, Text string } `json:"fields"`
			Elements []struct{ Type, Text string } `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(SlackBody(&n), &b); err != nil {
		t.Fatal(err)
	}
	if b.Text == "" || len(b.Blocks) != 4 || b.Blocks[0].Type != "header" || b.Blocks[0].Text.Type != "plain_text" ||
		utf8.RuneCountInString(b.Blocks[0].Text.Text) > 150 || b.Blocks[1].Text.Type != "mrkdwn" ||
		len(b.Blocks[2].Fields) == 0 || len(b.Blocks[2].Fields) > 10 || b.Blocks[3].Type != "context" {
		t.Fatalf("shape: %+v", b)
	}
	if ctx := b.Blocks[3].Elements[0].Text; strings.Contains(ctx, "<!channel>") || !strings.Contains(ctx, "&lt;!channel&gt; &amp;") {
		t.Errorf("mrkdwn not escaped: %s", ctx)
	}
	if !strings.Contains(b.Blocks[2].Fields[2].Text, "*Threshold*\n5 to 50") {
		t.Errorf("fields: %+v", b.Blocks[2].Fields)
	}
}

func TestDiscordBody(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, `{"channelType":"DISCORD","name":"d","config":{"url":"https://discord.com/api/webhooks/1/x"}}`)
	for _, rec := range []rules.Record{firingRecord(60), resolvedRecord(60, 300)} {
		n := notification(t, ch, rec)
		n.Message.Text = "@everyone " + strings.Repeat("x", 5000)
		var b struct {
			Content string `json:"content"`
			Embeds  []struct {
				Title, Description, Timestamp string
				Color                         int
				Fields                        []struct {
					Name, Value string
					Inline      bool
				}
				Footer struct{ Text string }
			} `json:"embeds"`
			AllowedMentions struct {
				Parse []string `json:"parse"`
			} `json:"allowed_mentions"`
		}
		raw := DiscordBody(&n)
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		e := b.Embeds[0]
		if len(b.Embeds) != 1 || b.Content == "" || e.Title != "api errors" || utf8.RuneCountInString(e.Description) != 4096 ||
			e.Footer.Text != "alert r1-1" || !strings.Contains(string(raw), `"allowed_mentions":{"parse":[]}`) {
			t.Fatalf("shape: %s", raw)
		}
		want := colorCritical
		if rec.Kind == rules.RecordResolved {
			want = colorResolved
		}
		if e.Color != want || e.Timestamp != stamp(rec.At) {
			t.Errorf("color %x timestamp %s", e.Color, e.Timestamp)
		}
	}
}

func TestEmailContent(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, `{"channelType":"EMAIL","name":"e","config":{"host":"h.example","from":"a@b.c","to":["x@y.z"],"subjectTemplate":"{status} {alertId}: {ruleName} at {actualValue}"}}`)
	n := notification(t, ch, resolvedRecord(60, 300))
	if s := EmailSubject(ch.Config.Email.SubjectTemplate, &n.Message); s != "RESOLVED r1-1: api errors at 12.50" {
		t.Errorf("subject %q", s)
	}
	if s := EmailSubject("", &n.Message); s != "[RESOLVED] CRITICAL: api errors" {
		t.Errorf("default subject %q", s)
	}
	body := EmailText(&n)
	for _, want := range []string{"[RESOLVED] CRITICAL: api errors\n\nResolved: Alert: api errors", "Alert:     r1-1\n", "Threshold: 5 to 50\n",
		"Resolved:  2026-11-28T14:05:00Z (AUTO)\n", "Notes:     condition cleared\n", "Idempotency-Key: r1-1:resolved"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestTestMessage(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, hookReq("https://a.example", ""))
	m := TestMessage(ch, at(5))
	n := NewNotification(m, ch)
	if m.Transition != Test || !strings.HasPrefix(m.AlertID, "test-ch1-") || n.IdempotencyKey() != m.AlertID+":test" ||
		TestMessage(ch, at(6)).AlertID == m.AlertID {
		t.Fatalf("%+v", m)
	}
	if !json.Valid(WebhookBody(&n)) || !json.Valid(SlackBody(&n)) || !json.Valid(DiscordBody(&n)) || EmailText(&n) == "" {
		t.Fatal("test message does not render")
	}
}
