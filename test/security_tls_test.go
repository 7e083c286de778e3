package test

// TLS: HTTPS and wss:// on the same port, with a certificate made here.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/internal/testutil"
)

// selfSigned writes a certificate for 127.0.0.1 and localhost and its key
// into dir, and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "eventara test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestSecurityTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: testutil.Patience}

	s := startServerWith(t, "https", client, "--tls-cert", certFile, "--tls-key", keyFile)
	addr, base := s.addr, s.url("")

	// HTTPS: ingest, then read it back.
	resp, err := client.Post(base+"/api/v1/events", "application/json", strings.NewReader(`{"eventType":"tls.test","source":"tls"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || resp.TLS == nil {
		t.Fatalf("POST over https: %d, tls %v", resp.StatusCode, resp.TLS != nil)
	}

	// Plain HTTP on the TLS port gets no service.
	if resp, err := http.Get("http://" + addr + "/api/v1/events/health"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("plain HTTP served on the TLS port: %q", b)
		}
	}

	// wss://: plain WebSocket and SockJS, STOMP through to a MESSAGE.
	ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.Patience)
	defer cancel()
	for _, path := range []string{"/ws", "/ws/000/tls1/websocket"} {
		conn, _, err := websocket.Dial(ctx, "wss://"+addr+path, &websocket.DialOptions{HTTPClient: client})
		if err != nil {
			t.Fatalf("wss %s: %v", path, err)
		}
		c := &pushClient{kind: "ws", conn: conn}
		if strings.HasSuffix(path, "/websocket") {
			c.kind = "sockjs-ws"
			if _, b, err := conn.Read(ctx); err != nil || string(b) != "o" {
				t.Fatalf("sockjs open over wss: %q %v", b, err)
			}
		}
		conn.SetReadLimit(1 << 22)
		if err := c.sendRaw(ctx, connectFrame()); err != nil {
			t.Fatal(err)
		}
		if f, err := c.next(ctx); err != nil || f.command != "CONNECTED" {
			t.Fatalf("wss %s: want CONNECTED, got %v %v", path, f, err)
		}
		if err := c.sendRaw(ctx, stompFrame("SUBSCRIBE", "id", "0", "destination", "/topic/metrics")); err != nil {
			t.Fatal(err)
		}
		for {
			f, err := c.next(ctx)
			if err != nil {
				t.Fatalf("wss %s: %v", path, err)
			}
			if f.command == "MESSAGE" {
				break
			}
		}
		c.close()
	}
}
