package notify

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// ChannelType is how a channel delivers, as the original names it (plus
// DISCORD, which it sent to through WEBHOOK).
type ChannelType string

// Channel types. PAGERDUTY and SMS exist in the original's enum but were
// never implemented: they are refused at validation.
const (
	TypeWebhook   ChannelType = "WEBHOOK"
	TypeSlack     ChannelType = "SLACK"
	TypeDiscord   ChannelType = "DISCORD"
	TypeEmail     ChannelType = "EMAIL"
	TypePagerDuty ChannelType = "PAGERDUTY" // refused: not implemented
	TypeSMS       ChannelType = "SMS"       // refused: not implemented
)

// Valid reports whether t is a type this package delivers.
func (t ChannelType) Valid() bool {
	return t == TypeWebhook || t == TypeSlack || t == TypeDiscord || t == TypeEmail
}

// Limits of a channel's config.
const (
	MaxURLLen          = 2048
	MaxHeaders         = 20
	MaxHeaderValueLen  = 4096
	MaxTokenLen        = 4096
	MinSigningSecret   = 16
	MaxSigningSecret   = 1024
	MaxRecipients      = 50
	MaxAddressLen      = 320
	MaxHostLen         = 253
	MaxCredentialLen   = 1024
	MaxSubjectTemplate = 300
)

// Config is a channel's config: exactly one of its fields is set, the one
// of the channel's type. Its JSON is that field's JSON (the original's
// free-form "config" object), secrets included: serve Channel.Masked.
type Config struct {
	Webhook *WebhookConfig
	Slack   *ChatConfig
	Discord *ChatConfig
	Email   *EmailConfig
}

// MarshalJSON encodes the set field (an empty object when none is).
func (c Config) MarshalJSON() ([]byte, error) {
	switch {
	case c.Webhook != nil:
		return json.Marshal(c.Webhook)
	case c.Slack != nil:
		return json.Marshal(c.Slack)
	case c.Discord != nil:
		return json.Marshal(c.Discord)
	case c.Email != nil:
		return json.Marshal(c.Email)
	}
	return []byte("{}"), nil
}

// WebhookConfig is a WEBHOOK channel's config: the alert as JSON (see
// doc.go for the body and the headers) to URL.
type WebhookConfig struct {
	URL URL `json:"url"`
	// Method is POST (default), PUT or PATCH.
	Method string `json:"method"`
	// Headers are sent with every request. Their values are secrets (API
	// keys travel in headers): Masked hides them all. Host, Content-Type,
	// Content-Length, Transfer-Encoding, Connection, Idempotency-Key and
	// X-Eventara-* are set by the sender and refused here; Authorization
	// is refused when AuthToken is set.
	Headers map[string]Secret `json:"headers,omitempty"`
	// AuthToken, when set, is sent as "Authorization: Bearer <token>".
	AuthToken Secret `json:"authToken,omitempty"`
	// SigningSecret, when set, signs every request: X-Eventara-Signature
	// is "sha256=" and the hex HMAC-SHA256, keyed by it, of the
	// X-Eventara-Timestamp value, a ".", and the body (doc.go).
	SigningSecret Secret `json:"signingSecret,omitempty"`
}

// ChatConfig is a SLACK or DISCORD channel's config: the incoming-webhook
// URL (the URL is the credential).
type ChatConfig struct {
	URL HookURL `json:"url"`
}

// StartTLS says how an EMAIL channel secures its SMTP connection when
// ImplicitTLS is off.
type StartTLS string

// STARTTLS modes.
const (
	StartTLSRequired      StartTLS = "REQUIRED"      // the default: no STARTTLS, no mail
	StartTLSOpportunistic StartTLS = "OPPORTUNISTIC" // STARTTLS when offered (refused with a password)
	StartTLSNone          StartTLS = "NONE"          // plain text (refused with a password)
)

// EmailConfig is an EMAIL channel's config: the alert as a plain-text mail
// over SMTP.
type EmailConfig struct {
	Host string `json:"host"`
	// Port defaults to 587, or 465 with ImplicitTLS.
	Port     int      `json:"port"`
	Username string   `json:"username,omitempty"`
	Password Secret   `json:"password,omitempty"`
	From     string   `json:"from"`
	To       []string `json:"to"`
	// StartTLS: REQUIRED (default), OPPORTUNISTIC or NONE. With a
	// password only REQUIRED (or ImplicitTLS) is accepted: credentials
	// never cross the network in clear, not even after a downgrade.
	StartTLS StartTLS `json:"starttls"`
	// ImplicitTLS connects with TLS from the first byte (SMTPS, port 465).
	ImplicitTLS bool `json:"implicitTls,omitempty"`
	// SubjectTemplate may use {status}, {alertId}, and RenderMessage's
	// placeholders ({ruleName}, {severity}, {thresholdValue},
	// {actualValue}, {triggeredAt}). Empty: "[FIRING] CRITICAL: <rule>".
	SubjectTemplate string `json:"subjectTemplate,omitempty"`
}

// Secrets lists the config's secret strings, for redacting text this
// package did not write (a library's error, a receiver's answer).
func (c Config) Secrets() []string {
	var out []string
	switch {
	case c.Webhook != nil:
		w := c.Webhook
		out = append(out, string(w.AuthToken), string(w.SigningSecret))
		for _, v := range w.Headers {
			out = append(out, string(v))
		}
		out = append(out, urlSecrets(string(w.URL))...)
	case c.Slack != nil:
		out = append(out, urlSecrets(string(c.Slack.URL))...)
	case c.Discord != nil:
		out = append(out, urlSecrets(string(c.Discord.URL))...)
	case c.Email != nil:
		out = append(out, string(c.Email.Password))
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// urlSecrets are the parts of a URL that may be credentials, longest
// first so a redaction replaces the whole URL before its parts.
func urlSecrets(raw string) []string {
	out := []string{raw}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	if p, ok := u.User.Password(); ok {
		out = append(out, p, url.QueryEscape(p))
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if len(seg) >= 8 {
			out = append(out, seg)
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 6 {
				out = append(out, v, url.QueryEscape(v))
			}
		}
	}
	return out
}

// masked returns c with every secret replaced by Mask.
func (c Config) masked() Config {
	var m Config
	switch {
	case c.Webhook != nil:
		w := *c.Webhook
		w.URL = URL(MaskURL(string(w.URL), false))
		w.AuthToken, w.SigningSecret = maskSecret(w.AuthToken), maskSecret(w.SigningSecret)
		if w.Headers != nil {
			h := make(map[string]Secret, len(w.Headers))
			for k, v := range w.Headers {
				h[k] = maskSecret(v)
			}
			w.Headers = h
		}
		m.Webhook = &w
	case c.Slack != nil:
		m.Slack = &ChatConfig{URL: HookURL(MaskURL(string(c.Slack.URL), true))}
	case c.Discord != nil:
		m.Discord = &ChatConfig{URL: HookURL(MaskURL(string(c.Discord.URL), true))}
	case c.Email != nil:
		e := *c.Email
		e.To = slices.Clone(e.To)
		e.Password = maskSecret(e.Password)
		m.Email = &e
	}
	return m
}

func maskSecret(s Secret) Secret {
	if s == "" {
		return ""
	}
	return Mask
}

// clone returns a deep copy of c.
func (c Config) clone() Config {
	var n Config
	switch {
	case c.Webhook != nil:
		w := *c.Webhook
		if w.Headers != nil {
			w.Headers = make(map[string]Secret, len(c.Webhook.Headers))
			for k, v := range c.Webhook.Headers {
				w.Headers[k] = v
			}
		}
		n.Webhook = &w
	case c.Slack != nil:
		s := *c.Slack
		n.Slack = &s
	case c.Discord != nil:
		d := *c.Discord
		n.Discord = &d
	case c.Email != nil:
		e := *c.Email
		e.To = slices.Clone(e.To)
		n.Email = &e
	}
	return n
}

// restoreMasked puts old's secrets back where next holds Mask (or the
// masked form of old's URL): a client that read the masked channel and
// sends its config back unchanged keeps the secrets.
func restoreMasked(next *Config, old Config) {
	switch {
	case next.Webhook != nil && old.Webhook != nil:
		n, o := next.Webhook, old.Webhook
		if string(n.URL) == MaskURL(string(o.URL), false) {
			n.URL = o.URL
		}
		if n.AuthToken == Mask {
			n.AuthToken = o.AuthToken
		}
		if n.SigningSecret == Mask {
			n.SigningSecret = o.SigningSecret
		}
		for k, v := range n.Headers {
			if v != Mask {
				continue
			}
			for ok, ov := range o.Headers {
				if strings.EqualFold(ok, k) {
					n.Headers[k] = ov
				}
			}
		}
	case next.Slack != nil && old.Slack != nil:
		if string(next.Slack.URL) == MaskURL(string(old.Slack.URL), true) {
			next.Slack.URL = old.Slack.URL
		}
	case next.Discord != nil && old.Discord != nil:
		if string(next.Discord.URL) == MaskURL(string(old.Discord.URL), true) {
			next.Discord.URL = old.Discord.URL
		}
	case next.Email != nil && old.Email != nil:
		if next.Email.Password == Mask {
			next.Email.Password = old.Email.Password
		}
	}
}

// decodeConfig decodes raw strictly as t's config; field errors are keyed
// "config.<field>". It does not validate values: validate does.
func decodeConfig(t ChannelType, raw json.RawMessage) (Config, FieldErrors) {
	var c Config
	var target any
	switch t {
	case TypeWebhook:
		c.Webhook = &WebhookConfig{}
		target = c.Webhook
	case TypeSlack:
		c.Slack = &ChatConfig{}
		target = c.Slack
	case TypeDiscord:
		c.Discord = &ChatConfig{}
		target = c.Discord
	case TypeEmail:
		c.Email = &EmailConfig{}
		target = c.Email
	default:
		return Config{}, nil
	}
	if fe := decodeStrict(raw, target, "config"); len(fe) > 0 {
		return Config{}, fe
	}
	return c, nil
}

// validate checks c and normalizes it in place (upper-case enums,
// defaults, trimmed names). Messages never quote a secret.
func (c *Config) validate(self Self, fe *FieldErrors) {
	switch {
	case c.Webhook != nil:
		c.Webhook.validate(self, fe)
	case c.Slack != nil:
		c.Slack.validate(TypeSlack, self, fe)
	case c.Discord != nil:
		c.Discord.validate(TypeDiscord, self, fe)
	case c.Email != nil:
		c.Email.validate(fe)
	}
}

func checkURL(field, raw string, self Self, fe *FieldErrors) *url.URL {
	switch {
	case strings.TrimSpace(raw) == "":
		fe.Add(field, "url is required")
		return nil
	case len(raw) > MaxURLLen:
		fe.Add(field, fmt.Sprintf("url must be at most %d characters", MaxURLLen))
		return nil
	case strings.ContainsAny(raw, " \t\r\n\x00"):
		fe.Add(field, "url must not contain spaces or control characters")
		return nil
	}
	if err := self.CheckURL(raw); err != nil {
		fe.Add(field, err.Error())
		return nil
	}
	u, _ := url.Parse(raw) // CheckURL parsed it
	return u
}

func (w *WebhookConfig) validate(self Self, fe *FieldErrors) {
	checkURL("config.url", string(w.URL), self, fe)
	w.Method = strings.ToUpper(strings.TrimSpace(w.Method))
	switch w.Method {
	case "":
		w.Method = "POST"
	case "POST", "PUT", "PATCH":
	default:
		fe.Add("config.method", "method must be POST, PUT or PATCH")
	}
	if len(w.Headers) == 0 {
		w.Headers = nil // as the journal's JSON (omitempty) gives it back
	}
	if len(w.Headers) > MaxHeaders {
		fe.Add("config.headers", fmt.Sprintf("at most %d headers", MaxHeaders))
	}
	seen := make(map[string]int, len(w.Headers))
	for name := range w.Headers {
		seen[strings.ToLower(name)]++
	}
	for name, v := range w.Headers {
		field := "config.headers." + clip(name)
		lower := strings.ToLower(name)
		switch {
		case !validHeaderName(name):
			fe.Add(field, "not a valid header name")
		case seen[lower] > 1:
			fe.Add(field, "header names are case-insensitive: this one is given twice")
		case slices.Contains(reservedHeaders, lower) || strings.HasPrefix(lower, "x-eventara-"):
			fe.Add(field, "set by Eventara; cannot be configured")
		case lower == "authorization" && w.AuthToken != "":
			fe.Add(field, "use either authToken or an Authorization header, not both")
		case len(v) > MaxHeaderValueLen:
			fe.Add(field, fmt.Sprintf("value must be at most %d bytes", MaxHeaderValueLen))
		case strings.ContainsAny(string(v), "\r\n\x00") || !utf8.ValidString(string(v)):
			fe.Add(field, "value must be one line of text")
		}
	}
	if t := string(w.AuthToken); t != "" && (len(t) > MaxTokenLen || !printableNoSpace(t)) {
		fe.Add("config.authToken", fmt.Sprintf("authToken must be at most %d printable ASCII characters without spaces", MaxTokenLen))
	}
	if s := w.SigningSecret; s != "" && (len(s) < MinSigningSecret || len(s) > MaxSigningSecret || !utf8.ValidString(string(s))) {
		fe.Add("config.signingSecret", fmt.Sprintf("signingSecret must be %d to %d bytes of text", MinSigningSecret, MaxSigningSecret))
	}
}

// reservedHeaders are set by the sender (lower case).
var reservedHeaders = []string{"host", "content-type", "content-length", "transfer-encoding", "connection", "idempotency-key", "te", "upgrade"}

var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")

func validHeaderName(s string) bool { return headerName.MatchString(s) }

func printableNoSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func (c *ChatConfig) validate(t ChannelType, self Self, fe *FieldErrors) {
	u := checkURL("config.url", string(c.URL), self, fe)
	if u == nil {
		return
	}
	if u.User != nil {
		fe.Add("config.url", "url must not carry user information")
		return
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	switch {
	case t == TypeSlack && hostIn(host, slackHosts):
		if u.Scheme != "https" || !slackPath.MatchString(u.Path) {
			fe.Add("config.url", "a Slack incoming-webhook URL is https://hooks.slack.com/services/T…/B…/…")
		}
	case t == TypeDiscord && hostIn(host, discordHosts):
		if u.Scheme != "https" || !discordPath.MatchString(u.Path) {
			fe.Add("config.url", "a Discord webhook URL is https://discord.com/api/webhooks/<id>/<token>")
		}
	case t == TypeSlack && hostIn(host, discordHosts), t == TypeDiscord && hostIn(host, slackHosts):
		fe.Add("config.url", "this is the other chat service's webhook URL: use channelType "+string(otherChat(t)))
	}
}

func otherChat(t ChannelType) ChannelType {
	if t == TypeSlack {
		return TypeDiscord
	}
	return TypeSlack
}

var (
	slackPath   = regexp.MustCompile(`^/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+$`)
	discordPath = regexp.MustCompile(`^/api/(v[0-9]+/)?webhooks/[0-9]+/[A-Za-z0-9_-]+$`)
)

func (e *EmailConfig) validate(fe *FieldErrors) {
	e.Host = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(e.Host), "."))
	switch {
	case e.Host == "":
		fe.Add("config.host", "host is required")
	case len(e.Host) > MaxHostLen || strings.ContainsAny(e.Host, " /:@\t\r\n\x00") && !isIPv6(e.Host):
		fe.Add("config.host", "host must be a host name or an IP address, without a port")
	}
	if e.Port == 0 {
		e.Port = 587
		if e.ImplicitTLS {
			e.Port = 465
		}
	}
	if e.Port < 1 || e.Port > 65535 {
		fe.Add("config.port", "port must be from 1 to 65535")
	}
	e.StartTLS = StartTLS(strings.ToUpper(strings.TrimSpace(string(e.StartTLS))))
	switch e.StartTLS {
	case "":
		e.StartTLS = StartTLSRequired
	case StartTLSRequired, StartTLSOpportunistic, StartTLSNone:
	default:
		fe.Add("config.starttls", "starttls must be REQUIRED, OPPORTUNISTIC or NONE")
	}
	if e.ImplicitTLS && e.StartTLS != StartTLSRequired {
		fe.Add("config.starttls", "with implicitTls the connection is TLS from the start: leave starttls unset")
	}
	if len(e.Username) > MaxCredentialLen || strings.ContainsAny(e.Username, "\r\n\x00") {
		fe.Add("config.username", fmt.Sprintf("username must be one line of at most %d bytes", MaxCredentialLen))
	}
	if len(e.Password) > MaxCredentialLen || strings.ContainsAny(string(e.Password), "\r\n\x00") {
		fe.Add("config.password", fmt.Sprintf("password must be one line of at most %d bytes", MaxCredentialLen))
	}
	if (e.Username == "") != (e.Password == "") {
		fe.Add("config.password", "username and password go together")
	}
	if e.Password != "" && !e.ImplicitTLS && e.StartTLS != StartTLSRequired {
		fe.Add("config.starttls", "with a password, starttls must be REQUIRED (or use implicitTls): credentials never cross the network in clear")
	}
	e.From = strings.TrimSpace(e.From)
	if e.From == "" {
		fe.Add("config.from", "from is required")
	} else if msg := checkAddress(e.From); msg != "" {
		fe.Add("config.from", msg)
	}
	switch {
	case len(e.To) == 0:
		fe.Add("config.to", "at least one recipient is required")
	case len(e.To) > MaxRecipients:
		fe.Add("config.to", fmt.Sprintf("at most %d recipients", MaxRecipients))
	}
	for i, a := range e.To {
		e.To[i] = strings.TrimSpace(a)
		if msg := checkAddress(e.To[i]); msg != "" {
			fe.Add(fmt.Sprintf("config.to[%d]", i), msg)
		}
	}
	if len(e.To) <= MaxRecipients {
		e.To = slices.Compact(e.To)
	}
	if utf8.RuneCountInString(e.SubjectTemplate) > MaxSubjectTemplate || !utf8.ValidString(e.SubjectTemplate) ||
		strings.ContainsAny(e.SubjectTemplate, "\r\n") {
		fe.Add("config.subjectTemplate", fmt.Sprintf("subjectTemplate must be one line of at most %d characters", MaxSubjectTemplate))
	}
}

func isIPv6(h string) bool { return strings.Count(h, ":") >= 2 && !strings.ContainsAny(h, " /@[]") }

// checkAddress returns what is wrong with an e-mail address ("" if
// nothing): one addr-spec, optionally with a display name.
func checkAddress(a string) string {
	if a == "" || len(a) > MaxAddressLen || strings.ContainsAny(a, "\r\n\x00") {
		return fmt.Sprintf("must be an e-mail address of at most %d characters", MaxAddressLen)
	}
	p, err := mail.ParseAddress(a)
	if err != nil || !strings.Contains(p.Address, "@") {
		return "must be an e-mail address such as alerts@example.com"
	}
	return ""
}
