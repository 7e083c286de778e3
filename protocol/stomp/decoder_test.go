package stomp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// event is one thing Next returned: a frame or a heart-beat.
type event struct {
	frame *Frame
	hb    bool
}

// decodeAll feeds the chunks one by one and collects every event until
// the decoder needs more or fails.
func decodeAll(d *Decoder, chunks ...[]byte) ([]event, error) {
	var evs []event
	for _, c := range chunks {
		d.Feed(c)
		for {
			f, hb, err := d.Next()
			if err != nil {
				return evs, err
			}
			if f == nil && !hb {
				break
			}
			evs = append(evs, event{f, hb})
		}
	}
	return evs, nil
}

func hdrs(kv ...string) []Header {
	var h []Header
	for i := 0; i < len(kv); i += 2 {
		h = append(h, Header{kv[i], kv[i+1]})
	}
	return h
}

func frameEv(cmd Command, body string, kv ...string) event {
	f := &Frame{Command: cmd, Headers: hdrs(kv...)}
	if body != "" {
		f.Body = []byte(body)
	}
	return event{frame: f}
}

var hbEv = event{hb: true}

func TestDecoderGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []event
		err  error
	}{
		{"stompjs_connect.stomp", []event{frameEv(CmdConnect, "", "accept-version", "1.2,1.1,1.0", "heart-beat", "4000,4000")}, nil},
		{"stompjs_subscribe.stomp", []event{frameEv(CmdSubscribe, "", "destination", "/topic/metrics", "id", "sub-0")}, nil},
		{"stompjs_send.stomp", []event{frameEv(CmdSend, `{"action":"subscribe"}`, "destination", "/app/subscribe", "content-length", "22")}, nil},
		{"stompjs_disconnect.stomp", []event{frameEv(CmdDisconnect, "", "receipt", "close-1")}, nil},
		{"stompjs_unsubscribe.stomp", []event{frameEv(CmdUnsubscribe, "", "id", "sub-0")}, nil},
		{"heartbeat_lf.stomp", []event{hbEv}, nil},
		{"heartbeat_crlf.stomp", []event{hbEv}, nil},
		{"crlf_stomp.stomp", []event{frameEv(CmdStomp, "", "accept-version", "1.2", "host", "localhost"), hbEv}, nil},
		{"nul_body.stomp", []event{frameEv(CmdSend, "a\x00b\x00c", "destination", "/app/subscribe", "content-length", "5")}, nil},
		{"escaped_headers.stomp", []event{frameEv(CmdSend, "", "destination", "/a:b\nc\\d\re")}, nil},
		{"repeated_header.stomp", []event{frameEv(CmdSend, "", "destination", "/first", "destination", "/second")}, nil},
		{"connect_no_escape.stomp", []event{frameEv(CmdConnect, "", "login", `a\cb`)}, nil},
		{"joined.stomp", []event{
			frameEv(CmdSubscribe, "", "id", "0", "destination", "/topic/metrics"), hbEv,
			frameEv(CmdSubscribe, "", "id", "1", "destination", "/topic/metrics", "receipt", "r1"), hbEv, hbEv,
		}, nil},
		{"connected.stomp", []event{frameEv(CmdConnected, "", "version", "1.2", "heart-beat", "10000,10000", "session", "s1", "server", "Eventara/dev")}, nil},
		{"message.stomp", []event{frameEv(CmdMessage, "{}", "subscription", "sub-0", "message-id", "s1-1-1", "destination", "/topic/metrics",
			"content-type", "application/json", "timestamp", "1700000000000", "content-length", "2")}, nil},
		{"bad_escape.stomp", nil, ErrMalformed},
		{"bad_no_colon.stomp", nil, ErrMalformed},
		{"bad_content_length.stomp", nil, ErrMalformed},
		{"bad_content_length_value.stomp", nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			in, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			// Whole, then one byte at a time: the result must not depend
			// on how the bytes arrive.
			var single [][]byte
			for i := range in {
				single = append(single, in[i:i+1])
			}
			for _, chunks := range [][][]byte{{in}, single} {
				got, err := decodeAll(NewDecoder(Limits{}), chunks...)
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if tt.err != nil {
					var pe *ProtocolError
					if !errors.As(err, &pe) || pe.Message() == "" {
						t.Fatalf("err %v is not a *ProtocolError with a message", err)
					}
					continue
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %s, want %s", dump(got), dump(tt.want))
				}
			}
		})
	}
}

func dump(evs []event) string {
	var b bytes.Buffer
	for _, e := range evs {
		if e.hb {
			b.WriteString("[HB] ")
			continue
		}
		b.WriteString("[" + string(e.frame.Command))
		for _, h := range e.frame.Headers {
			b.WriteString(" " + h.Key + "=" + h.Value)
		}
		b.WriteString(" body=" + string(e.frame.Body) + "] ")
	}
	return b.String()
}

func TestDecoderRepeatedHeaderFirstWins(t *testing.T) {
	t.Parallel()
	evs, err := decodeAll(NewDecoder(Limits{}), []byte("SEND\ncontent-length:1\ncontent-length:3\n\nx\x00"))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || string(evs[0].frame.Body) != "x" || evs[0].frame.Header(HdrContentLength) != "1" {
		t.Fatalf("got %s", dump(evs))
	}
}

func TestDecoderVersionEscaping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    Version
		in   string
		want string
		err  error
	}{
		{"1.0 keeps backslashes", V10, "SEND\nd:a\\cb\\t\n\n\x00", `a\cb\t`, nil},
		{"1.1 unescapes", V11, "SEND\nd:a\\cb\\n\\\\\n\n\x00", "a:b\n\\", nil},
		{"1.1 has no \\r", V11, "SEND\nd:a\\r\n\n\x00", "", ErrMalformed},
		{"1.2 \\r", V12, "SEND\nd:a\\r\n\n\x00", "a\r", nil},
		{"1.2 trailing backslash", V12, "SEND\nd:a\\\n\n\x00", "", ErrMalformed},
		{"escaped key", V12, "SEND\nd:x\n\n\x00", "x", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := NewDecoder(Limits{})
			d.SetVersion(tt.v)
			evs, err := decodeAll(d, []byte(tt.in))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && evs[0].frame.Header("d") != tt.want {
				t.Fatalf("d = %q, want %q", evs[0].frame.Header("d"), tt.want)
			}
		})
	}
}

func TestDecoderLimits(t *testing.T) {
	t.Parallel()
	long := bytes.Repeat([]byte("x"), 200)
	tests := []struct {
		name string
		lim  Limits
		in   []byte
		err  error
	}{
		{"line too long, no EOL yet", Limits{MaxLineSize: 100}, append([]byte("SEND\nd:"), long...), ErrLineTooLong},
		{"command too long", Limits{MaxLineSize: 100}, long, ErrLineTooLong},
		{"too many headers", Limits{MaxHeaders: 2}, []byte("SEND\na:1\nb:2\nc:3\n\n\x00"), ErrTooManyHeaders},
		{"content-length over body limit", Limits{MaxBodySize: 10}, []byte("SEND\ncontent-length:11\n\n"), ErrBodyTooLarge},
		{"body without NUL over body limit", Limits{MaxBodySize: 10}, append([]byte("SEND\n\n"), long...), ErrBodyTooLarge},
		{"frame too large by headers", Limits{MaxFrameSize: 50}, []byte("SEND\na:1234567890\nb:1234567890\nc:1234567890\nd:1234567890\n"), ErrFrameTooLarge},
		{"frame too large by content-length", Limits{MaxFrameSize: 50}, []byte("SEND\ncontent-length:45\n\n"), ErrFrameTooLarge},
		{"frame too large by body", Limits{MaxFrameSize: 50, MaxBodySize: 1000}, append([]byte("SEND\n\n"), long...), ErrFrameTooLarge},
		{"CR without LF between frames", Limits{}, []byte("\rX"), ErrMalformed},
		{"NUL command", Limits{}, []byte("\x00\n"), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := NewDecoder(tt.lim)
			_, err := decodeAll(d, tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			// The error sticks.
			d.Feed([]byte("\n"))
			if _, _, err2 := d.Next(); err2 != err {
				t.Fatalf("second Next = %v, want %v", err2, err)
			}
		})
	}
}

func TestDecoderNeedsMore(t *testing.T) {
	t.Parallel()
	d := NewDecoder(Limits{})
	for _, part := range []string{"SE", "ND\ncontent-le", "ngth:4\n\nab", "\x00d"} {
		d.Feed([]byte(part))
		if f, hb, err := d.Next(); f != nil || hb || err != nil {
			t.Fatalf("after %q: %v %v %v", part, f, hb, err)
		}
	}
	d.Feed([]byte("\x00\r"))
	f, _, err := d.Next()
	if err != nil || string(f.Body) != "ab\x00d" {
		t.Fatalf("got %v %v", f, err)
	}
	if f, hb, err := d.Next(); f != nil || hb || err != nil {
		t.Fatalf("after a lone CR: %v %v %v", f, hb, err)
	}
	d.Feed([]byte("\n"))
	if _, hb, _ := d.Next(); !hb {
		t.Fatal("want the CRLF heart-beat")
	}
	if d.Buffered() != 0 {
		t.Fatalf("Buffered = %d", d.Buffered())
	}
}
