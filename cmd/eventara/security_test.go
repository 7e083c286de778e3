package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestSecurityFlags(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Security
	if s.AllowedOrigins != "*" || s.MaxConnections != 0 || s.MaxConnectionsPerIP != 0 || s.IngestRate != 0 ||
		s.ReadHeaderTimeout != 10*time.Second || s.MaxSubscriptions != 16 || s.ConnectTimeout != 30*time.Second ||
		s.MaxFrameSize != 64<<10 || s.MaxMessageSize != 64<<10 || s.AuthTokens != "" {
		t.Fatalf("defaults changed: %+v", s)
	}
	env := map[string]string{"EVENTARA_AUTH_TOKENS": "t1 read;t2 ingest", "EVENTARA_INGEST_RATE": "2.5"}
	cfg, err = parseConfig([]string{"--max-connections-per-ip", "7"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Security.AuthTokens == "" || cfg.Security.IngestRate != 2.5 || cfg.Security.MaxConnectionsPerIP != 7 {
		t.Fatalf("%+v", cfg.Security)
	}
	sec, err := newSecurity(cfg.Security, zerolog.Nop())
	if err != nil || sec.tokens.Len() != 2 {
		t.Fatalf("newSecurity: %v", err)
	}
}

func TestSecurityConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "tokens")
	if err := os.WriteFile(bad, []byte("secret-value nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		cfg     securityConfig
		wantErr string
	}{
		{"cert without key", securityConfig{TLSCert: "c.pem"}, "go together"},
		{"negative limit", securityConfig{MaxConnections: -1}, "--max-connections"},
		{"missing file", securityConfig{AuthTokensFile: filepath.Join(dir, "none")}, "--auth-tokens-file"},
		{"bad role", securityConfig{AuthTokensFile: bad}, "unknown role"},
		{"bad origin", securityConfig{AllowedOrigins: "example.com"}, "--allowed-origins"},
		{"empty tokens", securityConfig{AuthTokens: "# nothing"}, "no token"},
		{"missing cert", securityConfig{TLSCert: "nope.pem", TLSKey: "nope.key"}, "--tls-cert"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := newSecurity(c.cfg, zerolog.Nop())
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err %v, want %q", err, c.wantErr)
			}
			if strings.Contains(err.Error(), "secret-value") {
				t.Fatalf("error quotes a token: %v", err)
			}
		})
	}
}
