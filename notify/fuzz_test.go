package notify

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// addSeeds adds every file in testdata/<dir> to f's seed corpus.
func addSeeds(f *testing.F, dir string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds in testdata/%s: %v", dir, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// The channel decoder and validator never panic and answer bad input with
// bounded field errors; an accepted channel masks every secret field,
// survives its JSON (the journal) unchanged, validates again to itself,
// and a client sending back its masked config keeps the secrets.
func FuzzDecodeChannel(f *testing.F) {
	addSeeds(f, "channels")
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeCreate(data)
		var ve *ValidationError
		if err != nil {
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("decode error %v is no field error", err)
			}
			return
		}
		ch, err := NewChannel(req, "id", t0, testSelf)
		if err != nil {
			if !errors.As(err, &ve) || len(ve.Fields) == 0 || len(ve.Fields) > MaxFieldErrors {
				t.Fatalf("NewChannel error %v", err)
			}
			return
		}
		if !ch.ChannelType.Valid() || ch.Name == "" {
			t.Fatalf("bad channel %+v", ch)
		}
		set := 0
		for _, p := range []bool{ch.Config.Webhook != nil, ch.Config.Slack != nil, ch.Config.Discord != nil, ch.Config.Email != nil} {
			if p {
				set++
			}
		}
		if set != 1 {
			t.Fatalf("%d configs set", set)
		}
		m := ch.Masked().Config
		isMasked := func(s Secret) bool { return s == "" || s == Mask }
		switch {
		case m.Webhook != nil:
			for _, v := range m.Webhook.Headers {
				if !isMasked(v) {
					t.Fatalf("header not masked: %v", m.Webhook.Headers)
				}
			}
			if !isMasked(m.Webhook.AuthToken) || !isMasked(m.Webhook.SigningSecret) {
				t.Fatal("token not masked")
			}
		case m.Email != nil:
			if !isMasked(m.Email.Password) {
				t.Fatal("password not masked")
			}
		}
		b, err := json.Marshal(ch)
		if err != nil {
			t.Fatal(err)
		}
		var back Channel
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("journaled channel does not decode: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(&back, ch) {
			t.Fatalf("journal round trip:\n%s\n%s", mustJSON(&back), b)
		}
		mj, _ := json.Marshal(m)
		up, err := ch.Update(&UpdateChannelRequest{Config: mj}, t0, testSelf)
		if err != nil {
			t.Fatalf("masked config does not validate: %v\n%s", err, mj)
		}
		if !reflect.DeepEqual(up.Config, ch.Config) {
			t.Fatalf("masked config did not restore the secrets:\n%s\n%s", mustJSON(up.Config), mustJSON(ch.Config))
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
