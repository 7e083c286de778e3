package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/textproto"
	"strings"

	mail "github.com/wneessen/go-mail"
)

// sendEmail delivers n as one plain-text mail to every recipient of e,
// with go-mail: STARTTLS (or implicit TLS) verified against the
// configured CAs, SMTP AUTH by the strongest mechanism the server offers
// when a username is set.
func (s *Sender) sendEmail(ctx context.Context, e *EmailConfig, n *Notification, a *Attempt) {
	msg := mail.NewMsg()
	if err := msg.From(e.From); err != nil {
		a.Outcome, a.Error = Permanent, "bad from address"
		return
	}
	if err := msg.To(e.To...); err != nil {
		a.Outcome, a.Error = Permanent, "bad recipient address"
		return
	}
	msg.Subject(EmailSubject(e.SubjectTemplate, &n.Message))
	msg.SetBodyString(mail.TypeTextPlain, EmailText(n))
	msg.SetDateWithValue(s.cfg.Now())
	// The same Message-ID on every attempt lets mail systems that
	// de-duplicate by it drop a resent copy.
	sum := sha256.Sum256([]byte(n.ID))
	msg.SetMessageIDWithValue(hex.EncodeToString(sum[:16]) + "@eventara")
	msg.SetGenHeader(mail.Header(HeaderAlertID), n.Message.AlertID)
	msg.SetGenHeader(mail.Header(HeaderIdempotencyKey), n.IdempotencyKey())
	msg.SetUserAgent(s.cfg.UserAgent)

	opts := []mail.Option{
		mail.WithPort(e.Port),
		mail.WithTimeout(s.cfg.Timeout),
		mail.WithTLSConfig(tlsConfig(s.cfg.TLS, e.Host)),
		mail.WithDialContextFunc(s.dialer.DialContext),
		mail.WithHELO(s.cfg.HELO),
	}
	switch {
	case e.ImplicitTLS:
		opts = append(opts, mail.WithSSL())
	case e.StartTLS == StartTLSOpportunistic:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case e.StartTLS == StartTLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if e.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(e.Username), mail.WithPassword(string(e.Password)))
	}
	client, err := mail.NewClient(e.Host, opts...)
	if err != nil {
		a.Outcome, a.Error = Permanent, "smtp client: "+clipLen(err.Error(), 300)
		return
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		a.Outcome, a.StatusCode = classifySMTP(err)
		a.Error = "smtp: " + clipLen(err.Error(), 300)
		return
	}
	a.Outcome = Success
	a.Response = "accepted by " + e.Host
}

// classifySMTP: an SMTP reply 4xx is retryable, 5xx permanent (bad
// address, authentication refused, message refused); anything without a
// reply (connection, TLS, timeout) is retryable, except a refusal by
// Self or a server that lacks STARTTLS or AUTH, which will not change. A
// certificate the CAs do not trust is retryable: it gets fixed, and the
// outbox gives up in time anyway.
func classifySMTP(err error) (Outcome, int) {
	var te *textproto.Error
	if errors.As(err, &te) {
		if te.Code >= 400 && te.Code < 500 {
			return Retryable, te.Code
		}
		return Permanent, te.Code
	}
	var se *mail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		if se.IsTemp() {
			return Retryable, code
		}
		if code >= 500 {
			return Permanent, code
		}
	}
	msg := err.Error()
	switch {
	case errors.Is(err, errSelf):
		return Permanent, 0
	case strings.Contains(msg, "STARTTLS"), strings.Contains(msg, "does not support SMTP AUTH"),
		strings.Contains(msg, "not supported"):
		return Permanent, 0
	}
	return Retryable, 0
}
