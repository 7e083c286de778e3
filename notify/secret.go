package notify

import (
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Mask stands in for a secret wherever a channel is shown: Masked, every
// error and log string of this package, and fmt of a Secret or a URL.
const Mask = "********"

// Secret is a credential in a channel's config: a password, a bearer
// token, a signing secret, a header value. Its JSON is the secret itself,
// because the journal must keep it; serve channels with Channel.Masked.
// With fmt it prints Mask whatever the verb (%v, %+v, %#v, %s, %q, %x…),
// so a channel or config that reaches a log line by accident shows no
// secret.
type Secret string

// Format prints Mask for a non-empty secret, nothing for an empty one.
func (s Secret) Format(f fmt.State, _ rune) {
	if s != "" {
		_, _ = io.WriteString(f, Mask)
	}
}

// URL is a generic webhook URL. Its secrets are the password of its
// userinfo and its query values; when it points at a known chat webhook
// host (Slack, Discord) its path is a secret too (MaskURL). fmt prints it
// masked.
type URL string

// Format prints the URL masked.
func (u URL) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, MaskURL(string(u), false)) }

// HookURL is a Slack or Discord incoming-webhook URL: the URL is the
// credential, so its path after the fixed prefix is a secret (MaskURL).
// fmt prints it masked.
type HookURL string

// Format prints the URL masked.
func (u HookURL) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, MaskURL(string(u), true)) }

// Known incoming-webhook hosts whose URL path is a credential.
var (
	slackHosts   = []string{"hooks.slack.com"}
	discordHosts = []string{"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"}
)

// MaskURL returns raw with its secrets replaced by Mask: the userinfo
// password, every query value, and the secret part of the path of a
// known chat webhook (hooks.slack.com/services/…, discord.com/api/
// webhooks/<id>/<token>). hook says the whole URL is a credential (a
// SLACK or DISCORD channel): then an unknown host's whole path is
// masked too. A generic webhook's path is shown: secrets belong in
// authToken, headers or signingSecret, not in its path. A URL that does
// not parse is masked whole.
func MaskURL(raw string, hook bool) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Mask
	}
	m := *u
	m.Fragment, m.RawFragment = "", ""
	if u.User != nil {
		if _, has := u.User.Password(); has {
			m.User = url.UserPassword(u.User.Username(), Mask)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = Mask
			}
			q[k] = vs
		}
		m.RawQuery = q.Encode()
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	switch {
	case hostIn(host, slackHosts) && strings.HasPrefix(u.Path, "/services/"):
		m.Path = "/services/" + Mask
	case hostIn(host, discordHosts) && strings.Contains(u.Path, "/webhooks/"):
		i := strings.Index(u.Path, "/webhooks/") + len("/webhooks/")
		id, _, _ := strings.Cut(u.Path[i:], "/")
		m.Path = u.Path[:i] + id + "/" + Mask
	case hook || hostIn(host, slackHosts) || hostIn(host, discordHosts):
		m.Path = "/" + Mask
	default:
		return unescapeMask(m.String())
	}
	m.RawPath = ""
	return unescapeMask(m.String())
}

// unescapeMask undoes the percent-encoding url.URL.String gives the mask's
// asterisks in some positions, so every masked URL shows the same Mask.
func unescapeMask(s string) string {
	return strings.ReplaceAll(s, strings.Repeat("%2A", len(Mask)), Mask)
}

func hostIn(host string, list []string) bool {
	for _, h := range list {
		if host == h {
			return true
		}
	}
	return false
}

// redact replaces every non-empty secret in s by Mask: the last defence
// for strings this package did not write itself (a library's error, a
// receiver's answer that echoes a header).
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return s
}
