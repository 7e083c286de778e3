package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// secretChannels are one channel of each type, each holding secrets.
func secretChannels(t *testing.T) []*Channel {
	return []*Channel{
		newChannel(t, hookReq("https://user:"+secretPass+"@hooks.example.com/in?key="+secretQuery+"&team=ops",
			`,"authToken":"`+secretToken+`","signingSecret":"`+secretSigning+`","headers":{"X-Api-Key":"`+secretHeader+`"}`)),
		newChannel(t, hookReq("https://hooks.slack.com/services/T01/B02/"+secretSlack, "")), // a Slack URL in a generic webhook
		newChannel(t, `{"channelType":"SLACK","name":"s","config":{"url":"https://hooks.slack.com/services/T01/B02/`+secretSlack+`"}}`),
		newChannel(t, `{"channelType":"SLACK","name":"s","config":{"url":"https://chat.example.com/hooks/`+secretSlack+`"}}`),
		newChannel(t, `{"channelType":"DISCORD","name":"d","config":{"url":"https://discord.com/api/webhooks/123/`+secretDiscord+`"}}`),
		newChannel(t, `{"channelType":"EMAIL","name":"e","config":{"host":"smtp.example.com","username":"alerts","password":"`+secretPass+`","from":"a@example.com","to":["b@example.com"]}}`),
	}
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range allSecrets {
		if strings.Contains(s, sec) {
			t.Errorf("%s shows secret %q: %s", what, sec, s)
		}
	}
}

func TestMaskedHidesEverySecret(t *testing.T) {
	t.Parallel()
	for _, ch := range secretChannels(t) {
		full, _ := json.Marshal(ch)
		if !strings.Contains(string(full), "SECRET") {
			t.Fatalf("fixture holds no secret: %s", full)
		}
		m := ch.Masked()
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		assertNoSecret(t, "Masked JSON", string(b))
		if !strings.Contains(string(b), Mask) {
			t.Errorf("no mask in %s", b)
		}
		// fmt of the channel itself (a log line by accident) shows no secret either.
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			assertNoSecret(t, "fmt "+verb+" of config", fmt.Sprintf(verb, ch.Config.Webhook)+fmt.Sprintf(verb, ch.Config.Slack)+
				fmt.Sprintf(verb, ch.Config.Discord)+fmt.Sprintf(verb, ch.Config.Email))
		}
		assertNoSecret(t, "Recipient", ch.Recipient())
		// Masked did not touch the channel.
		if again, _ := json.Marshal(ch); string(again) != string(full) {
			t.Errorf("Masked changed the channel")
		}
	}
}

func TestMaskURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		raw  string
		hook bool
		want string
	}{
		{"https://hooks.slack.com/services/T01/B02/xyz", true, "https://hooks.slack.com/services/" + Mask},
		{"https://hooks.slack.com/services/T01/B02/xyz", false, "https://hooks.slack.com/services/" + Mask},
		{"https://discord.com/api/webhooks/123/tok", true, "https://discord.com/api/webhooks/123/" + Mask},
		{"https://chat.example.com/hooks/abc", true, "https://chat.example.com/" + Mask},
		{"https://a.example/in?key=v&x=1", false, "https://a.example/in?key=" + Mask + "&x=" + Mask},
		{"https://u:p@a.example/in", false, "https://u:" + Mask + "@a.example/in"},
		{"https://a.example/in#frag", false, "https://a.example/in"},
		{"::not a url", false, Mask},
		{"", false, ""},
	}
	for _, c := range cases {
		if got := MaskURL(c.raw, c.hook); got != c.want {
			t.Errorf("MaskURL(%q, %v) = %q, want %q", c.raw, c.hook, got, c.want)
		}
	}
}

// Field errors never quote a secret, even when the secret is what is wrong.
func TestValidationErrorsShowNoSecret(t *testing.T) {
	t.Parallel()
	bodies := []string{
		hookReq("ftp://u:"+secretPass+"@a.example/"+secretSlack, `,"authToken":"`+secretToken+` x","signingSecret":"`+secretQuery+`"`),
		hookReq("http://localhost:9/"+secretSlack+"?k="+secretQuery, `,"headers":{"Host":"`+secretHeader+`","X-A":"`+secretHeader+"\\n"+`"}`),
		`{"channelType":"SLACK","name":"s","config":{"url":"http://hooks.slack.com/services/T/B/` + secretSlack + `"}}`,
		`{"channelType":"DISCORD","name":"d","config":{"url":"https://discord.com/api/webhooks/x/` + secretDiscord + `"}}`,
		`{"channelType":"EMAIL","name":"e","config":{"host":"h","starttls":"NONE","username":"u","password":"` + secretPass + `\n","from":"a@b.c","to":["x@y.z"]}}`,
		`{"channelType":"WEBHOOK","name":"x","config":{"url":"` + secretToken + `", "authToken": 5}}`,
		`{"channelType":"WEBHOOK","name":"x","config":{"url":"https://a.example","authToken":"` + secretToken + `"` + `,}}`,
	}
	for _, body := range bodies {
		req, err := DecodeCreate([]byte(body))
		if err == nil {
			_, err = NewChannel(req, "c", t0, testSelf)
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("%s: no validation error: %v", body, err)
		}
		assertNoSecret(t, "validation error", err.Error())
	}
}

// Attempts (what the log shows) never quote a secret: not the URL in a
// connection error, not a receiver echoing a header.
func TestAttemptShowsNoSecret(t *testing.T) {
	t.Parallel()
	s := NewSender(SenderConfig{Self: testSelf})
	defer s.Close()
	for _, ch := range secretChannels(t) {
		if ch.Config.Email != nil {
			continue // email_test.go checks the SMTP errors
		}
		// Port 9 on loopback is the service itself: refused at dial time, an
		// error that would quote the URL if not redacted.
		bad := ch.Clone()
		switch {
		case bad.Config.Webhook != nil:
			bad.Config.Webhook.URL = URL("http://user:" + secretPass + "@127.0.0.1:9/in?key=" + secretQuery)
		case bad.Config.Slack != nil:
			bad.Config.Slack.URL = HookURL("http://127.0.0.1:9/services/T/B/" + secretSlack)
		case bad.Config.Discord != nil:
			bad.Config.Discord.URL = HookURL("http://127.0.0.1:9/api/webhooks/1/" + secretDiscord)
		}
		n := notification(t, bad, firingRecord(60))
		a := s.Send(context.Background(), bad, &n)
		if a.Outcome != Permanent || !strings.Contains(a.Error, "itself") {
			t.Errorf("self at dial time: %+v", a)
		}
		b, _ := json.Marshal(a)
		assertNoSecret(t, "attempt", string(b)+fmt.Sprintf("%+v", a))
	}
}
