package notify

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCreateChannelValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		want map[string]string // field → substring of its message; nil: valid
	}{
		{"webhook minimal", hookReq("https://hooks.example.com/alerts", ""), nil},
		{"webhook full", hookReq("http://127.0.0.1:4000/in", `,"method":"put","headers":{"X-Team":"ops"},"authToken":"abc.def","signingSecret":"0123456789abcdef"`), nil},
		{"slack", `{"channelType":"slack","name":"s","config":{"url":"https://hooks.slack.com/services/T01/B02/abcDEF"}}`, nil},
		{"slack-compatible host", `{"channelType":"SLACK","name":"s","config":{"url":"https://chat.example.com/hooks/xyz"}}`, nil},
		{"discord", `{"channelType":"DISCORD","name":"d","config":{"url":"https://discord.com/api/webhooks/123/tok_EN-x"}}`, nil},
		{"email", `{"channelType":"EMAIL","name":"e","config":{"host":"smtp.example.com","username":"u","password":"p","from":"Eventara <alerts@example.com>","to":["a@example.com","b@example.com"]}}`, nil},
		{"email implicit tls", `{"channelType":"EMAIL","name":"e","config":{"host":"smtp.example.com","implicitTls":true,"from":"a@example.com","to":["b@example.com"]}}`, nil},

		{"empty body", ``, map[string]string{"body": "empty body"}},
		{"not an object", `[1]`, map[string]string{"body": "JSON object"}},
		{"malformed", `{"name":`, map[string]string{"body": "malformed JSON"}},
		{"trailing data", `{"name":"x"} {}`, map[string]string{"body": "after the JSON object"}},
		{"unknown field", `{"channelType":"WEBHOOK","name":"x","config":{"url":"https://a.example"},"colour":1}`, map[string]string{"colour": "unknown field"}},
		{"wrong json type", `{"channelType":"WEBHOOK","name":"x","rateLimitPerMinute":"ten","config":{"url":"https://a.example"}}`, map[string]string{"rateLimitPerMinute": "JSON number"}},
		{"missing everything", `{}`, map[string]string{"channelType": "required", "name": "required"}},
		{"bad type", `{"channelType":"FAX","name":"x","config":{}}`, map[string]string{"channelType": "Invalid channel type"}},
		{"pagerduty refused", `{"channelType":"PAGERDUTY","name":"x","config":{}}`, map[string]string{"channelType": "not implemented"}},
		{"config missing", `{"channelType":"WEBHOOK","name":"x"}`, map[string]string{"config": "required"}},
		{"config not object", `{"channelType":"WEBHOOK","name":"x","config":"https://a.example"}`, map[string]string{"config": "JSON object"}},
		{"config unknown key", hookReq("https://a.example", `,"retries":3`), map[string]string{"config.retries": "unknown field"}},
		{"config wrong type", `{"channelType":"EMAIL","name":"x","config":{"host":"h","port":"25","from":"a@b.c","to":["x@y.z"]}}`, map[string]string{"config.port": "JSON number"}},
		{"limits", `{"channelType":"WEBHOOK","name":"x","rateLimitPerMinute":-1,"rateLimitPerHour":100001,"config":{"url":"https://a.example"}}`,
			map[string]string{"rateLimitPerMinute": "from 0", "rateLimitPerHour": "from 0"}},
		{"long name", `{"channelType":"WEBHOOK","name":"` + strings.Repeat("n", 101) + `","config":{"url":"https://a.example"}}`, map[string]string{"name": "at most 100"}},

		{"webhook no url", `{"channelType":"WEBHOOK","name":"x","config":{}}`, map[string]string{"config.url": "required"}},
		{"webhook ftp", hookReq("ftp://files.example.com/x", ""), map[string]string{"config.url": "scheme must be http or https"}},
		{"webhook file", hookReq("file:///etc/passwd", ""), map[string]string{"config.url": "scheme must be http or https"}},
		{"webhook relative", hookReq("/api/v1/events", ""), map[string]string{"config.url": "absolute"}},
		{"webhook self loopback", hookReq("http://127.0.0.1:9/api/v1/events", ""), map[string]string{"config.url": "itself"}},
		{"webhook self localhost", hookReq("http://localhost:9/api/v1/rules", ""), map[string]string{"config.url": "itself"}},
		{"webhook self name", hookReq("http://Eventara.Example.com.:9/x", ""), map[string]string{"config.url": "itself"}},
		{"webhook self v6", hookReq("http://[::1]:9/x", ""), map[string]string{"config.url": "itself"}},
		{"webhook self mapped", hookReq("http://[::ffff:127.0.0.1]:9/x", ""), map[string]string{"config.url": "itself"}},
		{"webhook self unspecified", hookReq("http://0.0.0.0:9/x", ""), map[string]string{"config.url": "itself"}},
		{"webhook numeric host", hookReq("http://2130706433:9/x", ""), map[string]string{"config.url": "numeric"}},
		{"webhook method", hookReq("https://a.example", `,"method":"DELETE"`), map[string]string{"config.method": "POST, PUT or PATCH"}},
		{"webhook reserved header", hookReq("https://a.example", `,"headers":{"X-Eventara-Signature":"x"}`), map[string]string{"config.headers.X-Eventara-Signature": "set by Eventara"}},
		{"webhook header injection", hookReq("https://a.example", `,"headers":{"X-A":"a\r\nX-B: b"}`), map[string]string{"config.headers.X-A": "one line"}},
		{"webhook bad header name", hookReq("https://a.example", `,"headers":{"X A":"a"}`), map[string]string{"config.headers.X A": "header name"}},
		{"webhook auth twice", hookReq("https://a.example", `,"authToken":"t","headers":{"authorization":"Basic x"}`), map[string]string{"config.headers.authorization": "not both"}},
		{"webhook token spaces", hookReq("https://a.example", `,"authToken":"a b"`), map[string]string{"config.authToken": "without spaces"}},
		{"webhook short signing secret", hookReq("https://a.example", `,"signingSecret":"short"`), map[string]string{"config.signingSecret": "16 to 1024"}},

		{"slack http", `{"channelType":"SLACK","name":"s","config":{"url":"http://hooks.slack.com/services/T/B/x"}}`, map[string]string{"config.url": "https://hooks.slack.com/services"}},
		{"slack bad path", `{"channelType":"SLACK","name":"s","config":{"url":"https://hooks.slack.com/triggers/x"}}`, map[string]string{"config.url": "https://hooks.slack.com/services"}},
		{"slack discord url", `{"channelType":"SLACK","name":"s","config":{"url":"https://discord.com/api/webhooks/1/x"}}`, map[string]string{"config.url": "use channelType DISCORD"}},
		{"slack userinfo", `{"channelType":"SLACK","name":"s","config":{"url":"https://u:p@chat.example.com/hooks/x"}}`, map[string]string{"config.url": "user information"}},
		{"slack self", `{"channelType":"SLACK","name":"s","config":{"url":"http://localhost:9/hooks/x"}}`, map[string]string{"config.url": "itself"}},
		{"discord bad path", `{"channelType":"DISCORD","name":"d","config":{"url":"https://discord.com/api/webhooks/abc"}}`, map[string]string{"config.url": "discord.com/api/webhooks"}},
		{"discord method key", `{"channelType":"DISCORD","name":"d","config":{"url":"https://discord.com/api/webhooks/1/x","method":"PUT"}}`, map[string]string{"config.method": "unknown field"}},

		{"email empty", `{"channelType":"EMAIL","name":"e","config":{}}`, map[string]string{"config.host": "required", "config.from": "required", "config.to": "at least one"}},
		{"email bad addresses", `{"channelType":"EMAIL","name":"e","config":{"host":"h.example","from":"nobody","to":["ok@example.com","not an address"]}}`,
			map[string]string{"config.from": "e-mail address", "config.to[1]": "e-mail address"}},
		{"email port", `{"channelType":"EMAIL","name":"e","config":{"host":"h.example","port":70000,"from":"a@b.c","to":["x@y.z"]}}`, map[string]string{"config.port": "1 to 65535"}},
		{"email host with port", `{"channelType":"EMAIL","name":"e","config":{"host":"h.example:25","from":"a@b.c","to":["x@y.z"]}}`, map[string]string{"config.host": "without a port"}},
		{"email starttls", `{"channelType":"EMAIL","name":"e","config":{"host":"h.example","starttls":"maybe","from":"a@b.c","to":["x@y.z"]}}`, map[string]string{"config.starttls": "REQUIRED, OPPORTUNISTIC or NONE"}},
		{"email password in clear", `{"channelType":"EMAIL","name":"e","config":{"host":"h.example","starttls":"none","username":"u","password":"p","from":"a@b.c","to":["x@y.z"]}}`, map[string]string{"config.starttls": "never cross the network in clear"}},
		{"email password opportunistic", `{"channelType":"EMAIL","name":"e","config":{"host":"h.example","starttls":"OPPORTUNISTIC","username":"u","password":"p","from":"a@b.c","to":["x@y.z"]}}`, map[string]string{"config.starttls": "REQUIRED"}},
		{"email user without password", `{"channelType":"EMAIL","name":"e","config":{"host":"h.example","username":"u","from":"a@b.c","to":["x@y.z"]}}`, map[string]string{"config.password": "go together"}},
		{"email subject newline", `{"channelType":"EMAIL","name":"e","config":{"host":"h.example","from":"a@b.c","to":["x@y.z"],"subjectTemplate":"a\nBcc: x@evil"}}`, map[string]string{"config.subjectTemplate": "one line"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := fieldErrors(t, c.body)
			if c.want == nil {
				if got != nil {
					t.Fatalf("want valid, got %s", got)
				}
				return
			}
			for field, sub := range c.want {
				if !strings.Contains(got[field], sub) {
					t.Errorf("field %q: got %q, want it to contain %q (all: %s)", field, got[field], sub, got)
				}
			}
		})
	}
}

func TestNewChannelDefaultsAndNormalization(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, `{"channelType":" webhook ","name":"  ops hook ","config":{"url":"https://a.example/x","method":"patch"}}`)
	if ch.ChannelType != TypeWebhook || ch.Name != "ops hook" || !ch.Enabled || ch.Config.Webhook.Method != "PATCH" ||
		ch.RateLimitPerMinute != DefaultRateLimitPerMinute || ch.RateLimitPerHour != DefaultRateLimitPerHour || !ch.CreatedAt.Equal(t0) {
		t.Fatalf("got %+v", ch)
	}
	e := newChannel(t, `{"channelType":"EMAIL","name":"e","enabled":false,"rateLimitPerMinute":0,"config":{"host":"SMTP.Example.com.","implicitTls":true,"from":"a@b.c","to":["x@y.z"," x@y.z"]}}`)
	if e.Enabled || e.RateLimitPerMinute != 0 || e.Config.Email.Host != "smtp.example.com" || e.Config.Email.Port != 465 ||
		e.Config.Email.StartTLS != StartTLSRequired || len(e.Config.Email.To) != 1 {
		t.Fatalf("got %+v %+v", e, e.Config.Email)
	}
	if p := newChannel(t, `{"channelType":"EMAIL","name":"e","config":{"host":"h.example","from":"a@b.c","to":["x@y.z"]}}`).Config.Email.Port; p != 587 {
		t.Fatalf("default port %d", p)
	}
}

func TestUpdateChannel(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, hookReq("https://a.example/in?key="+secretQuery, `,"authToken":"`+secretToken+`","signingSecret":"`+secretSigning+`","headers":{"X-Api-Key":"`+secretHeader+`"}`))
	// A client PUTs back what it read (masked): the secrets stay.
	masked, _ := json.Marshal(ch.Masked().Config)
	name := "renamed"
	up, err := ch.Update(&UpdateChannelRequest{Name: &name, Config: masked}, at(60), testSelf)
	if err != nil {
		t.Fatal(err)
	}
	w := up.Config.Webhook
	if up.Name != "renamed" || string(w.URL) != "https://a.example/in?key="+secretQuery || w.AuthToken != secretToken ||
		w.SigningSecret != secretSigning || w.Headers["X-Api-Key"] != secretHeader || !up.UpdatedAt.Equal(at(60)) {
		t.Fatalf("secrets not kept: %+v", up)
	}
	if ch.Name != "hook" {
		t.Fatal("Update changed the original")
	}
	// A new secret replaces the old one; other fields are untouched.
	up2, err := up.Update(&UpdateChannelRequest{Config: json.RawMessage(`{"url":"https://b.example","authToken":"new-token"}`)}, at(120), testSelf)
	if err != nil || up2.Config.Webhook.AuthToken != "new-token" || up2.Config.Webhook.SigningSecret != "" || up2.Name != "renamed" {
		t.Fatalf("got %+v, %v", up2, err)
	}
	// Type changes, bad configs and self URLs are field errors.
	typ := ChannelType("slack")
	bad := []struct {
		req   UpdateChannelRequest
		field string
	}{
		{UpdateChannelRequest{ChannelType: &typ}, "channelType"},
		{UpdateChannelRequest{Config: json.RawMessage(`{"url":"http://localhost:9/"}`)}, "config.url"},
		{UpdateChannelRequest{Config: json.RawMessage(`{"url":"https://a.example","smtp":1}`)}, "config.smtp"},
		{UpdateChannelRequest{RateLimitPerHour: new(-5)}, "rateLimitPerHour"},
	}
	for _, b := range bad {
		_, err := up.Update(&b.req, at(180), testSelf)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Fields[b.field] == "" {
			t.Errorf("%+v: got %v, want an error on %s", b.req, err, b.field)
		}
	}
	same := ChannelType("WEBHOOK")
	if _, err := up.Update(&UpdateChannelRequest{ChannelType: &same}, at(180), testSelf); err != nil {
		t.Errorf("same type refused: %v", err)
	}
	// Decoding an update is strict too.
	if _, err := DecodeUpdate([]byte(`{"enabled":"yes"}`)); err == nil || !strings.Contains(err.Error(), "enabled: must be a JSON boolean") {
		t.Errorf("DecodeUpdate: %v", err)
	}
}

func TestChannelJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		hookReq("https://a.example/x", `,"authToken":"`+secretToken+`","headers":{"X-K":"v"}`),
		`{"channelType":"SLACK","name":"s","config":{"url":"https://hooks.slack.com/services/T1/B2/` + secretSlack + `"}}`,
		`{"channelType":"DISCORD","name":"d","config":{"url":"https://discord.com/api/webhooks/1/` + secretDiscord + `"}}`,
		`{"channelType":"EMAIL","name":"e","config":{"host":"h.example","username":"u","password":"` + secretPass + `","from":"a@b.c","to":["x@y.z"]}}`,
	} {
		ch := newChannel(t, body)
		b, err := json.Marshal(ch)
		if err != nil {
			t.Fatal(err)
		}
		var back Channel
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		b2, _ := json.Marshal(&back)
		if string(b) != string(b2) {
			t.Errorf("round trip:\n%s\n%s", b, b2)
		}
	}
	var c Channel
	if err := json.Unmarshal([]byte(`{"id":"x","channelType":"FAX","config":{}}`), &c); err == nil {
		t.Error("unknown type decoded")
	}
}

func TestSameName(t *testing.T) {
	t.Parallel()
	if !SameName("Ops Hook", " ops hook") || SameName("ops", "ops2") {
		t.Fatal("SameName")
	}
}

func TestWithStats(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, hookReq("https://a.example", ""))
	last := at(30)
	s := ch.WithStats(ChannelStats{TotalSent: 3, TotalFailed: 1, LastUsedAt: &last})
	if s.TotalSent != 3 || s.TotalFailed != 1 || !s.LastUsedAt.Equal(last) || ch.TotalSent != 0 {
		t.Fatalf("%+v", s)
	}

}

func TestCountChannels(t *testing.T) {
	t.Parallel()
	hook := newChannel(t, hookReq("https://a.example", ""))
	off := newChannel(t, `{"channelType":"DISCORD","name":"d","enabled":false,"config":{"url":"https://discord.com/api/webhooks/1/x"}}`)
	mail := newChannel(t, `{"channelType":"EMAIL","name":"e","config":{"host":"h.example","from":"a@b.c","to":["x@y.z"]}}`)
	if got := CountChannels([]*Channel{hook, off, mail}); got != (ChannelCounts{Total: 3, Enabled: 2, Webhooks: 1, Emails: 1, Discord: 1}) {
		t.Fatalf("%+v", got)
	}
}
