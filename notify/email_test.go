package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// selfSigned returns a server certificate for 127.0.0.1 and localhost and
// a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "eventara test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// mailbox is a real SMTP server (go-smtp) that takes mail only after
// STARTTLS and AUTH PLAIN with user/password.
type mailbox struct {
	addr        string
	user, pass  string
	rcptCode    int // when set, RCPT TO is answered with this code
	mu          sync.Mutex
	msgs        []delivered
	authOverTLS []bool
}

type delivered struct {
	from string
	to   []string
	data []byte
}

func (m *mailbox) NewSession(c *smtp.Conn) (smtp.Session, error) { return &session{m: m, c: c}, nil }

type session struct {
	m    *mailbox
	c    *smtp.Conn
	auth bool
	cur  delivered
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		_, tlsOn := s.c.TLSConnectionState()
		s.m.mu.Lock()
		s.m.authOverTLS = append(s.m.authOverTLS, tlsOn)
		s.m.mu.Unlock()
		if user != s.m.user || pass != s.m.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.auth = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.m.rcptCode != 0 {
		return &smtp.SMTPError{Code: s.m.rcptCode, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "try later"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, s.cur)
	s.m.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = delivered{} }
func (s *session) Logout() error { return nil }

func (m *mailbox) messages() []delivered {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]delivered(nil), m.msgs...)
}

// startMailbox starts a mailbox on 127.0.0.1; tlsCert nil offers no STARTTLS.
func startMailbox(t *testing.T, tlsCert *tls.Certificate) *mailbox {
	t.Helper()
	m := &mailbox{user: "alerts", pass: secretPass}
	srv := smtp.NewServer(m)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	if tlsCert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*tlsCert}, MinVersion: tls.VersionTLS12}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = l.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-done; err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Errorf("smtp server: %v", err)
		}
	})
	return m
}

func emailChannel(t *testing.T, m *mailbox, pass, extra string) *Channel {
	_, port, _ := net.SplitHostPort(m.addr)
	return newChannel(t, `{"channelType":"EMAIL","name":"mail","config":{"host":"127.0.0.1","port":`+port+`,
		"username":"alerts","password":"`+pass+`","from":"Eventara <eventara@example.com>",
		"to":["oncall@example.com","lead@example.com"],"subjectTemplate":"{status}: {ruleName} ({severity})"`+extra+`}}`)
}

func TestEmailDeliveredWithStartTLSAndAuth(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	m := startMailbox(t, &cert)
	ch := emailChannel(t, m, secretPass, "")
	s := NewSender(SenderConfig{Self: testSelf, TLS: &tls.Config{RootCAs: pool}, Timeout: 20 * time.Second})
	n := notification(t, ch, firingRecord(60))
	a := s.Send(context.Background(), ch, &n)
	if a.Outcome != Success || a.Error != "" || a.Recipient != "oncall@example.com, lead@example.com" {
		t.Fatalf("attempt %+v", a)
	}
	msgs := m.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	got := msgs[0]
	if got.from != "eventara@example.com" || strings.Join(got.to, ",") != "oncall@example.com,lead@example.com" {
		t.Errorf("envelope %s → %v", got.from, got.to)
	}
	if len(m.authOverTLS) != 1 || !m.authOverTLS[0] {
		t.Errorf("AUTH over TLS: %v", m.authOverTLS)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "FIRING: api errors (CRITICAL)" {
		t.Errorf("subject %q", subject)
	}
	if msg.Header.Get(HeaderAlertID) != "r1-1" || msg.Header.Get(HeaderIdempotencyKey) != "r1-1:firing" ||
		!strings.HasSuffix(msg.Header.Get("Message-Id"), "@eventara>") {
		t.Errorf("headers %v", msg.Header)
	}
	var body []byte
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body, err = io.ReadAll(quotedprintable.NewReader(msg.Body))
	} else {
		body, err = io.ReadAll(msg.Body)
	}
	if err != nil {
		t.Fatal(err)
	}
	if want := EmailText(&n); strings.ReplaceAll(string(body), "\r\n", "\n") != want {
		t.Errorf("body:\n%q\nwant:\n%q", body, want)
	}
	// The same notification again carries the same Message-ID (mail
	// systems that de-duplicate by it drop the copy).
	if a := s.Send(context.Background(), ch, &n); a.Outcome != Success {
		t.Fatalf("second send %+v", a)
	}
	m2, _ := mail.ReadMessage(bytes.NewReader(m.messages()[1].data))
	if m2.Header.Get("Message-Id") != msg.Header.Get("Message-Id") {
		t.Errorf("Message-ID changed: %s %s", m2.Header.Get("Message-Id"), msg.Header.Get("Message-Id"))
	}
}

func TestEmailFailures(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	trusted := &tls.Config{RootCAs: pool}
	cases := []struct {
		name     string
		startTLS bool
		pass     string
		rcptCode int
		tls      *tls.Config
		want     Outcome
		wantCode int
	}{
		{"wrong password", true, "wrong-" + secretPass, 0, trusted, Permanent, 535},
		{"no STARTTLS offered", false, secretPass, 0, trusted, Permanent, 0},
		{"untrusted certificate", true, secretPass, 0, nil, Retryable, 0},
		{"temporary failure", true, secretPass, 451, trusted, Retryable, 451},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var m *mailbox
			if c.startTLS {
				m = startMailbox(t, &cert)
			} else {
				m = startMailbox(t, nil)
			}
			m.rcptCode = c.rcptCode
			ch := emailChannel(t, m, c.pass, "")
			s := NewSender(SenderConfig{Self: testSelf, TLS: c.tls, Timeout: 20 * time.Second})
			n := notification(t, ch, firingRecord(60))
			a := s.Send(context.Background(), ch, &n)
			if a.Outcome != c.want || a.StatusCode != c.wantCode || a.Error == "" {
				t.Fatalf("attempt %+v, want %s %d", a, c.want, c.wantCode)
			}
			if len(m.messages()) != 0 {
				t.Fatal("a message was delivered")
			}
			assertNoSecret(t, "attempt", a.Error+a.Response)
			if c.name != "wrong password" {
				for _, overTLS := range m.authOverTLS {
					if !overTLS {
						t.Error("credentials sent without TLS")
					}
				}
			}
		})
	}
}

func TestEmailRefusesSelf(t *testing.T) {
	t.Parallel()
	m := &mailbox{addr: "127.0.0.1:9"}
	ch := emailChannel(t, m, secretPass, "")
	s := NewSender(SenderConfig{Self: testSelf})
	n := notification(t, ch, firingRecord(60))
	if a := s.Send(context.Background(), ch, &n); a.Outcome != Permanent || !strings.Contains(a.Error, "itself") {
		t.Fatalf("%+v", a)
	}
}
