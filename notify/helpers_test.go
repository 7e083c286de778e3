package notify

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/eventara/eventara/rules"
)

// t0 is the fake clock's origin; tests pass explicit times.
var t0 = time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// testSelf is the service as the tests see it: port 9 (discard), never an
// ephemeral port a test receiver gets, and one public name.
var testSelf = Self{Ports: []int{9}, Hosts: []string{"eventara.example.com"}}

// Secrets the fixtures use; no test output may show them.
const (
	secretToken   = "tok-SECRET-4f8a9c"
	secretSigning = "sign-SECRET-0123456789abcdef"
	secretHeader  = "hdr-SECRET-77aa"
	secretPass    = "pw-SECRET-b3b3"
	secretSlack   = "slackSECRETxyz123"
	secretDiscord = "discord-SECRET_tok-987"
	secretQuery   = "qSECRET42"
)

var allSecrets = []string{secretToken, secretSigning, secretHeader, secretPass, secretSlack, secretDiscord, secretQuery}

// newChannel builds a channel from a create request body that must be valid.
func newChannel(t *testing.T, body string) *Channel {
	t.Helper()
	req, err := DecodeCreate([]byte(body))
	if err != nil {
		t.Fatalf("DecodeCreate(%s): %v", body, err)
	}
	ch, err := NewChannel(req, "ch1", t0, testSelf)
	if err != nil {
		t.Fatalf("NewChannel(%s): %v", body, err)
	}
	return ch
}

// fieldErrors returns the field errors of a create request body (nil when valid).
func fieldErrors(t *testing.T, body string) FieldErrors {
	t.Helper()
	req, err := DecodeCreate([]byte(body))
	if err == nil {
		_, err = NewChannel(req, "ch1", t0, testSelf)
	}
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) == 0 {
		t.Fatalf("error %v is no field error", err)
	}
	return ve.Fields
}

func hookReq(url string, extra string) string {
	return `{"channelType":"WEBHOOK","name":"hook","config":{"url":` + js(url) + extra + `}}`
}

func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// firingRecord is the firing of alert r1-1 of rule "api errors" at sec.
func firingRecord(sec int) rules.Record {
	trig := at(sec)
	hi := 50.0
	return rules.Record{Kind: rules.RecordFiring, At: trig, Notify: true, Alert: rules.Alert{
		ID: "r1-1", Seq: 1, RuleID: "r1", RuleName: "api errors", RuleVersion: 2, Severity: rules.SeverityCritical,
		Status: rules.AlertFiring, Message: "TOTAL_ERRORS over 1m = 12 > 5", ThresholdValue: 5, ThresholdValue2: &hi,
		ActualValue: 12.5, StartsAt: at(sec - 60), TriggeredAt: &trig, Notified: true,
	}}
}

// resolvedRecord is the resolution of firingRecord(fired) at sec.
func resolvedRecord(fired, sec int) rules.Record {
	rec := firingRecord(fired)
	res := at(sec)
	rec.Kind, rec.At = rules.RecordResolved, res
	rec.Alert.Status, rec.Alert.ResolvedAt, rec.Alert.ResolutionType = rules.AlertResolved, &res, rules.ResolvedAuto
	rec.Alert.ResolutionNotes = "condition cleared"
	return rec
}

// notification is the firing notification of alert r1-1 to ch.
func notification(t *testing.T, ch *Channel, rec rules.Record) Notification {
	t.Helper()
	ns := ForRecord(rec, &rules.Rule{ID: "r1"}, []*Channel{ch})
	if len(ns) != 1 {
		t.Fatalf("ForRecord: %d notifications", len(ns))
	}
	return ns[0]
}
