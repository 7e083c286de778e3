package stomp

import (
	"bytes"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"
)

func TestAppendFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		f    Frame
		v    Version
		want string
	}{
		{"error with body", Frame{Command: CmdError, Headers: hdrs("message", "bad: frame\nx"), Body: []byte("oops")}, V12,
			"ERROR\nmessage:bad\\c frame\\nx\ncontent-length:4\n\noops\x00"},
		{"1.1 has no \\r", Frame{Command: CmdReceipt, Headers: hdrs("receipt-id", "a\rb\\")}, V11,
			"RECEIPT\nreceipt-id:a b\\\\\n\n\x00"},
		{"1.2 \\r", Frame{Command: CmdReceipt, Headers: hdrs("receipt-id", "a\rb")}, V12,
			"RECEIPT\nreceipt-id:a\\rb\n\n\x00"},
		{"1.0 no escaping, EOLs neutralised", Frame{Command: CmdError, Headers: hdrs("message", "a:b\nc\\")}, V10,
			"ERROR\nmessage:a:b c\\\n\n\x00"},
		{"CONNECTED never escaped", Frame{Command: CmdConnected, Headers: hdrs("version", "1.2", "server", "Eventara/1:2")}, V12,
			"CONNECTED\nversion:1.2\nserver:Eventara/1:2\n\n\x00"},
		{"explicit content-length kept", Frame{Command: CmdSend, Headers: hdrs("content-length", "3"), Body: []byte("abc")}, V12,
			"SEND\ncontent-length:3\n\nabc\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(AppendFrame(nil, &tt.f, tt.v)); got != tt.want {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestAppendMessageHead(t *testing.T) {
	t.Parallel()
	got := string(AppendMessageHead([]byte("x"), V12, "sub:0", "s1-2-", 42))
	if want := "xMESSAGE\nsubscription:sub\\c0\nmessage-id:s1-2-42\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// The head plus a shared tail decodes as one MESSAGE.
	frame := AppendMessageHead(nil, V12, "sub-0", "m", 1)
	frame = append(frame, "destination:/topic/metrics\ncontent-length:2\n\n{}\x00"...)
	evs, err := decodeAll(NewDecoder(Limits{}), frame)
	if err != nil || len(evs) != 1 || evs[0].frame.Header(HdrSubscription) != "sub-0" || string(evs[0].frame.Body) != "{}" {
		t.Fatalf("got %s, %v", dump(evs), err)
	}
}

// randFrame is a frame whose headers may hold any byte but NUL, for the
// round-trip property (NUL cannot appear in a header).
type randFrame struct{ f Frame }

func (randFrame) Generate(r *rand.Rand, size int) reflect.Value {
	cmds := []Command{CmdSend, CmdSubscribe, CmdMessage, CmdError, CmdReceipt, "CUSTOM"}
	alphabet := []byte("ab:\\\n\r -/\xff")
	str := func() string {
		b := make([]byte, r.Intn(8))
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		return string(b)
	}
	f := Frame{Command: cmds[r.Intn(len(cmds))]}
	for range r.Intn(5) {
		k := str()
		if k == HdrContentLength {
			continue
		}
		f.Headers = append(f.Headers, Header{k, str()})
	}
	if n := r.Intn(20); n > 0 {
		f.Body = make([]byte, n)
		for i := range f.Body {
			f.Body[i] = byte(r.Intn(256))
		}
	}
	return reflect.ValueOf(randFrame{f})
}

// TestRoundTrip: decode(AppendFrame(f)) is f plus its content-length, for
// 1.2, whatever the header bytes and however the bytes are split.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	prop := func(rf randFrame, split uint8) bool {
		enc := AppendFrame(nil, &rf.f, V12)
		cut := int(split) % (len(enc) + 1)
		evs, err := decodeAll(NewDecoder(Limits{}), enc[:cut], enc[cut:])
		if err != nil || len(evs) != 1 {
			t.Logf("encoded %q: %v %s", enc, err, dump(evs))
			return false
		}
		got := evs[0].frame
		want := rf.f
		if len(want.Body) > 0 {
			want.Headers = append(append([]Header(nil), want.Headers...), Header{HdrContentLength, itoa(len(want.Body))})
		}
		if !reflect.DeepEqual(*got, want) {
			t.Logf("encoded %q\ngot  %s\nwant %s", enc, dump(evs), dump([]event{{frame: &want}}))
			return false
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 2000}); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return string(bytesItoa(n)) }

func bytesItoa(n int) []byte {
	if n == 0 {
		return []byte("0")
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return b
}

func TestEncodeDecodeSteadyHeaders(t *testing.T) {
	t.Parallel()
	// Re-encoding a decoded frame gives the same bytes.
	in := []byte("MESSAGE\nsubscription:a\\cb\nmessage-id:1\ncontent-length:3\n\nx\x00y\x00")
	evs, err := decodeAll(NewDecoder(Limits{}), in)
	if err != nil {
		t.Fatal(err)
	}
	if out := AppendFrame(nil, evs[0].frame, V12); !bytes.Equal(out, in) {
		t.Fatalf("got %q, want %q", out, in)
	}
}
