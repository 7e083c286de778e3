package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// valid is a typical event, used as the base of the table tests.
const valid = `{"eventType":"page_view","source":"web","timestamp":"2026-11-28T14:48:12Z",` +
	`"userId":"u-1","sessionId":"s-1","severity":"warning","tags":{"env":"prod","region":"eu"},` +
	`"metadata":{"latency": 42.5, "path":"/a b", "nested":{"x":[1,2,{"y":null}]}}}`

func TestDecodeValid(t *testing.T) {
	t.Parallel()
	ev, fe := Decode([]byte(valid))
	if len(fe) != 0 {
		t.Fatalf("unexpected errors: %v", fe)
	}
	want := Event{
		Type: "page_view", Source: "web", UserID: "u-1", SessionID: "s-1",
		Severity:    SeverityWarning,
		Timestamp:   time.Date(2026, 11, 28, 14, 48, 12, 0, time.UTC),
		MetaLatency: 42.5, HasMetaLatency: true,
		Tags:     map[string]string{"env": "prod", "region": "eu"},
		Metadata: json.RawMessage(`{"latency":42.5,"path":"/a b","nested":{"x":[1,2,{"y":null}]}}`),
	}
	if !eventsEqual(ev, want) {
		t.Fatalf("got  %+v\nwant %+v", ev, want)
	}
}

func eventsEqual(a, b Event) bool {
	if a.ID != b.ID || !a.ReceivedAt.Equal(b.ReceivedAt) || !a.Timestamp.Equal(b.Timestamp) ||
		a.Type != b.Type || a.Source != b.Source || a.UserID != b.UserID || a.SessionID != b.SessionID ||
		a.Severity != b.Severity || a.HasMetaLatency != b.HasMetaLatency || a.MetaLatency != b.MetaLatency ||
		string(a.Metadata) != string(b.Metadata) || len(a.Tags) != len(b.Tags) {
		return false
	}
	for k, v := range a.Tags {
		if w, ok := b.Tags[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// ev builds an event body from the minimal valid one plus extra members.
func ev(extra string) string {
	if extra == "" {
		return `{"eventType":"t","source":"s"}`
	}
	return `{"eventType":"t","source":"s",` + extra + `}`
}

func TestDecodeValidation(t *testing.T) {
	t.Parallel()
	long := func(n int, r string) string { return strings.Repeat(r, n) }
	manyTags := func(n int) string {
		var b strings.Builder
		b.WriteString(`"tags":{`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"k` + strings.Repeat("x", i) + `":"v"`)
		}
		b.WriteString(`}`)
		return b.String()
	}
	tests := []struct {
		name  string
		body  string
		field string // "" means valid
		check func(t *testing.T, e Event)
	}{
		// body
		{"empty body", ``, "body", nil},
		{"whitespace body", " \n", "body", nil},
		{"not an object", `[1]`, "body", nil},
		{"string body", `"x"`, "body", nil},
		{"truncated", `{"eventType":"t"`, "body", nil},
		{"trailing comma", `{"eventType":"t","source":"s",}`, "body", nil},
		{"trailing data", ev("") + `{}`, "body", nil},
		{"single quotes", `{'eventType':'t'}`, "body", nil},
		{"bad escape", `{"eventType":"a\x","source":"s"}`, "body", nil},
		{"control char", "{\"eventType\":\"a\nb\",\"source\":\"s\"}", "body", nil},
		{"bad number", ev(`"metadata":{"a":01}`), "body", nil},
		{"deep nesting", ev(`"metadata":` + strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat(`}`, 10001)), "body", nil},
		{"nesting 300", ev(`"metadata":` + strings.Repeat(`{"a":`, 300) + `1` + strings.Repeat(`}`, 300)), "", nil},
		// required names
		{"minimal", ev(""), "", func(t *testing.T, e Event) {
			if e.Severity != SeverityInfo || !e.Timestamp.IsZero() || e.Tags != nil || e.Metadata != nil {
				t.Errorf("defaults wrong: %+v", e)
			}
		}},
		{"missing eventType", `{"source":"s"}`, "eventType", nil},
		{"missing source", `{"eventType":"t"}`, "source", nil},
		{"null eventType", `{"eventType":null,"source":"s"}`, "eventType", nil},
		{"blank eventType", `{"eventType":"   ","source":"s"}`, "eventType", nil},
		{"escaped NUL in eventType", `{"eventType":"a\u0000b","source":"s"}`, "eventType", nil},
		{"escaped newline in source", `{"eventType":"t","source":"a\nb"}`, "source", nil},
		{"tab in userId", `{"eventType":"t","source":"s","userId":"u\t1"}`, "userId", nil},
		{"empty source", `{"eventType":"t","source":""}`, "source", nil},
		{"eventType number", `{"eventType":1,"source":"s"}`, "eventType", nil},
		{"source object", `{"eventType":"t","source":{}}`, "source", nil},
		{"eventType 100 runes", `{"eventType":"` + long(100, "é") + `","source":"s"}`, "", nil},
		{"eventType 101 chars", `{"eventType":"` + long(101, "a") + `","source":"s"}`, "eventType", nil},
		{"source 101 chars", `{"eventType":"t","source":"` + long(101, "a") + `"}`, "source", nil},
		{"eventType invalid utf8", "{\"eventType\":\"\xff\",\"source\":\"s\"}", "eventType", nil},
		{"escaped eventType", `{"eventType":"a\u00e9\/","source":"s"}`, "", func(t *testing.T, e Event) {
			if e.Type != "aé/" {
				t.Errorf("type %q", e.Type)
			}
		}},
		{"escaped key", `{"event\u0054ype":"t","source":"s"}`, "", nil},
		{"surrogate pair", `{"eventType":"\ud83d\ude00","source":"s"}`, "", func(t *testing.T, e Event) {
			if e.Type != "😀" {
				t.Errorf("type %q", e.Type)
			}
		}},
		{"lone surrogate", `{"eventType":"\ud83d","source":"s"}`, "", func(t *testing.T, e Event) {
			if e.Type != "\uFFFD" {
				t.Errorf("type %q", e.Type)
			}
		}},
		// unknown and duplicate fields
		{"unknown field", ev(`"color":"red"`), "color", nil},
		{"case differs", `{"eventtype":"t","eventType":"t","source":"s"}`, "eventtype", nil},
		{"server field", ev(`"eventId":"x"`), "eventId", nil},
		{"duplicate field", ev(`"source":"s2"`), "source", nil},
		// userId, sessionId
		{"userId 200", ev(`"userId":"` + long(200, "u") + `"`), "", nil},
		{"userId 201", ev(`"userId":"` + long(201, "u") + `"`), "userId", nil},
		{"sessionId 201", ev(`"sessionId":"` + long(201, "u") + `"`), "sessionId", nil},
		{"userId number", ev(`"userId":42`), "userId", nil},
		{"userId null", ev(`"userId":null`), "", nil},
		// timestamp
		{"timestamp seconds", ev(`"timestamp":"2026-11-28T14:48:12Z"`), "", func(t *testing.T, e Event) {
			if !e.Timestamp.Equal(time.Date(2026, 11, 28, 14, 48, 12, 0, time.UTC)) {
				t.Errorf("ts %v", e.Timestamp)
			}
		}},
		{"timestamp fraction offset", ev(`"timestamp":"2026-11-28T16:48:12.123456+02:00"`), "", func(t *testing.T, e Event) {
			if !e.Timestamp.Equal(time.Date(2026, 11, 28, 14, 48, 12, 123456000, time.UTC)) {
				t.Errorf("ts %v", e.Timestamp)
			}
		}},
		{"timestamp null", ev(`"timestamp":null`), "", nil},
		{"timestamp no zone", ev(`"timestamp":"2026-11-28T14:48:12"`), "timestamp", nil},
		{"timestamp date only", ev(`"timestamp":"2026-11-28"`), "timestamp", nil},
		{"timestamp garbage", ev(`"timestamp":"yesterday"`), "timestamp", nil},
		{"timestamp bad month", ev(`"timestamp":"2026-13-28T14:48:12Z"`), "timestamp", nil},
		{"timestamp number", ev(`"timestamp":1764341292000`), "timestamp", nil},
		// severity
		{"severity lower", ev(`"severity":"critical"`), "", func(t *testing.T, e Event) {
			if e.Severity != SeverityCritical {
				t.Errorf("sev %v", e.Severity)
			}
		}},
		{"severity mixed", ev(`"severity":"Error"`), "", func(t *testing.T, e Event) {
			if e.Severity != SeverityError {
				t.Errorf("sev %v", e.Severity)
			}
		}},
		{"severity null", ev(`"severity":null`), "", func(t *testing.T, e Event) {
			if e.Severity != SeverityInfo {
				t.Errorf("sev %v", e.Severity)
			}
		}},
		{"severity unknown", ev(`"severity":"FATAL"`), "severity", nil},
		{"severity empty", ev(`"severity":""`), "severity", nil},
		{"severity number", ev(`"severity":3`), "severity", nil},
		// tags
		{"tags ok", ev(`"tags":{"a":"1","b":""}`), "", func(t *testing.T, e Event) {
			if len(e.Tags) != 2 || e.Tags["a"] != "1" {
				t.Errorf("tags %v", e.Tags)
			}
		}},
		{"tags empty", ev(`"tags":{}`), "", nil},
		{"tags null", ev(`"tags":null`), "", nil},
		{"tags array", ev(`"tags":["a"]`), "tags", nil},
		{"tags number value", ev(`"tags":{"a":1}`), "tags.a", nil},
		{"tags null value", ev(`"tags":{"a":null}`), "tags.a", nil},
		{"tags 64", ev(manyTags(64)), "", nil},
		{"tags 65", ev(manyTags(65)), "tags", nil},
		{"tags key 101", ev(`"tags":{"` + long(101, "k") + `":"v"}`), "tags", nil},
		{"tags value 1000", ev(`"tags":{"k":"` + long(1000, "v") + `"}`), "", nil},
		{"tags value 1001", ev(`"tags":{"k":"` + long(1001, "v") + `"}`), "tags.k", nil},
		{"tags value bad utf8", ev("\"tags\":{\"k\":\"\xc3\"}"), "tags.k", nil},
		// metadata
		{"metadata array", ev(`"metadata":[1]`), "metadata", nil},
		{"metadata string", ev(`"metadata":"{}"`), "metadata", nil},
		{"metadata null", ev(`"metadata":null`), "", func(t *testing.T, e Event) {
			if e.Metadata != nil {
				t.Errorf("metadata %s", e.Metadata)
			}
		}},
		{"metadata compacted", ev("\"metadata\":{ \"a\" : [ 1 , \"x y\" ] ,\n\"b\":{} }"), "", func(t *testing.T, e Event) {
			if string(e.Metadata) != `{"a":[1,"x y"],"b":{}}` {
				t.Errorf("metadata %s", e.Metadata)
			}
		}},
		{"metadata escapes kept", ev(`"metadata":{ "a\u0041" : "\u00e9\n\"/" }`), "", func(t *testing.T, e Event) {
			if string(e.Metadata) != `{"a\u0041":"\u00e9\n\"/"}` {
				t.Errorf("metadata %s", e.Metadata)
			}
		}},
		{"metadata duplicate names", ev(`"metadata":{"a":1,"a":2}`), "", func(t *testing.T, e Event) {
			if string(e.Metadata) != `{"a":1,"a":2}` {
				t.Errorf("metadata %s", e.Metadata)
			}
		}},
		{"latency last wins", ev(`"metadata":{"latency":1,"latency":"2"}`), "", latency(2, true)},
		{"latency case differs", ev(`"metadata":{"Latency":1}`), "", latency(0, false)},
		{"tags key bad utf8", ev("\"tags\":{\"k\xff\":\"v\"}"), "tags", nil},
		{"tags duplicate key", ev(`"tags":{"a":"1","a":"2"}`), "", func(t *testing.T, e Event) {
			if e.Tags["a"] != "2" {
				t.Errorf("tags %v", e.Tags)
			}
		}},
		{"metadata too big", ev(`"metadata":{"a":"` + long(MaxMetadataBytes, "x") + `"}`), "metadata", nil},
		{"metadata bad utf8", ev("\"metadata\":{\"a\":\"\xff\"}"), "metadata", nil},
		{"latency number", ev(`"metadata":{"latency":12}`), "", latency(12, true)},
		{"latency exp", ev(`"metadata":{"latency":1.5e2}`), "", latency(150, true)},
		{"latency string", ev(`"metadata":{"latency":" 7.25 "}`), "", latency(7.25, true)},
		{"latency negative", ev(`"metadata":{"latency":-3}`), "", latency(-3, true)},
		{"latency bool ignored", ev(`"metadata":{"latency":true}`), "", latency(0, false)},
		{"latency object ignored", ev(`"metadata":{"latency":{"v":1}}`), "", latency(0, false)},
		{"latency text ignored", ev(`"metadata":{"latency":"fast"}`), "", latency(0, false)},
		{"latency NaN ignored", ev(`"metadata":{"latency":"NaN"}`), "", latency(0, false)},
		{"latency Inf ignored", ev(`"metadata":{"latency":"+Inf"}`), "", latency(0, false)},
		{"latency huge ignored", ev(`"metadata":{"latency":1e999}`), "", latency(0, false)},
		{"latency nested ignored", ev(`"metadata":{"a":{"latency":5}}`), "", latency(0, false)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, fe := Decode([]byte(tc.body))
			if tc.field == "" {
				if len(fe) != 0 {
					t.Fatalf("unexpected errors: %v", fe)
				}
			} else {
				if _, ok := fe[tc.field]; !ok {
					t.Fatalf("want an error on %q, got %v", tc.field, fe)
				}
				if !eventsEqual(e, Event{}) {
					t.Fatalf("invalid input gave a non-zero event %+v", e)
				}
			}
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

func latency(v float64, has bool) func(*testing.T, Event) {
	return func(t *testing.T, e Event) {
		t.Helper()
		if e.HasMetaLatency != has || e.MetaLatency != v {
			t.Errorf("latency = %v, %v; want %v, %v", e.MetaLatency, e.HasMetaLatency, v, has)
		}
	}
}

// TestDecodeSyntaxMessages pins the "body" message of malformed JSON: the
// offset and jsontext's words for what is wrong, with where (a JSON
// pointer, cut to its last 100 bytes).
func TestDecodeSyntaxMessages(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, want string }{
		{`{"eventType":`, `malformed JSON at offset 13: unexpected end of input within "/eventType"`},
		{`{"eventType":"t","source":"s"}{}`, `malformed JSON at offset 30: unexpected data after the object`},
		{`{"eventType":"t","source":"s","metadata":{"a":[1,2}}`,
			`malformed JSON at offset 50: invalid character '}' after array element (expecting ',' or ']') within "/metadata/a"`},
		{`{1:1}`, `malformed JSON at offset 1: object member name must be a string`},
		{`nulll`, `malformed JSON at offset 4: unexpected data after the value`},
	}
	for _, tc := range tests {
		if _, fe := Decode([]byte(tc.body)); fe[BodyField] != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.body, fe[BodyField], tc.want)
		}
	}
	deep := ev(`"metadata":` + strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001))
	_, fe := Decode([]byte(deep))
	if msg := fe[BodyField]; !strings.HasPrefix(msg, "malformed JSON at offset 10040: exceeded max depth within \"…") || len(msg) > 200 {
		t.Errorf("deep nesting: %q", msg)
	}
	if _, err := DecodeBatch([]byte(`[{"a":}]`)); err == nil ||
		err.Error() != `malformed JSON at offset 6: invalid character '}' at start of value within "/0/a"` {
		t.Errorf("batch: %v", err)
	}
}

func TestDecodeCollectsAllFieldErrors(t *testing.T) {
	t.Parallel()
	_, fe := Decode([]byte(`{"eventType":"","severity":"x","timestamp":"no","bogus":1,"tags":{"a":2}}`))
	for _, f := range []string{"eventType", "source", "severity", "timestamp", "bogus", "tags.a"} {
		if _, ok := fe[f]; !ok {
			t.Errorf("missing error on %q in %v", f, fe)
		}
	}
}

func TestDecodeCapsFieldErrors(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{`)
	for i := 0; i < 1000; i++ {
		b.WriteString(`"f` + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + `":1,`)
	}
	b.WriteString(`"eventType":"t","source":"s"}`)
	_, fe := Decode([]byte(b.String()))
	if len(fe) == 0 || len(fe) > MaxFieldErrors {
		t.Fatalf("got %d field errors", len(fe))
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	t.Parallel()
	buf := []byte(valid)
	e, fe := Decode(buf)
	if len(fe) != 0 {
		t.Fatal(fe)
	}
	for i := range buf {
		buf[i] = 'X'
	}
	if e.Type != "page_view" || e.Tags["env"] != "prod" || string(e.Metadata)[:11] != `{"latency":` {
		t.Fatalf("event aliases its input: %+v", e)
	}
}

func TestDecodeBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		err     bool
		invalid []int // indexes with errors
		n       int
	}{
		{"empty array", `[]`, false, nil, 0},
		{"spaces", " [ " + ev("") + " , " + ev("") + " ] ", false, nil, 2},
		{"mixed", `[` + ev("") + `,{"source":"s"},1,null,` + ev(`"severity":"x"`) + `]`, false, []int{1, 2, 3, 4}, 5},
		{"object body", ev(""), true, nil, 0},
		{"empty body", ``, true, nil, 0},
		{"malformed element", `[` + ev("") + `,{"a":}]`, true, nil, 0},
		{"unterminated", `[` + ev(""), true, nil, 0},
		{"trailing comma", `[` + ev("") + `,]`, true, nil, 0},
		{"trailing data", `[]x`, true, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			items, err := DecodeBatch([]byte(tc.body))
			if tc.err {
				if err == nil {
					t.Fatalf("want an error, got %d items", len(items))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != tc.n {
				t.Fatalf("got %d items, want %d", len(items), tc.n)
			}
			bad := map[int]bool{}
			for _, i := range tc.invalid {
				bad[i] = true
			}
			for i, it := range items {
				if bad[i] != (len(it.Errors) > 0) {
					t.Errorf("item %d: errors %v, want invalid=%v", i, it.Errors, bad[i])
				}
				if !bad[i] && it.Event.Type != "t" {
					t.Errorf("item %d: event %+v", i, it.Event)
				}
			}
		})
	}
}

func TestDecodeBatchLimit(t *testing.T) {
	t.Parallel()
	body := func(n int) []byte {
		return []byte("[" + strings.TrimSuffix(strings.Repeat(ev("")+",", n), ",") + "]")
	}
	items, err := DecodeBatch(body(MaxBatch))
	if err != nil || len(items) != MaxBatch {
		t.Fatalf("%d items: %d, %v", MaxBatch, len(items), err)
	}
	if _, err := DecodeBatch(body(MaxBatch + 1)); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("%d items: %v", MaxBatch+1, err)
	}
	if _, err := DecodeBatch([]byte(`{"a":1}`)); !errors.Is(err, ErrNotArray) {
		t.Fatalf("object: %v", err)
	}
	var se *SyntaxError
	if _, err := DecodeBatch([]byte(`[{]`)); !errors.As(err, &se) {
		t.Fatalf("malformed: %v", err)
	}
}

// TestDecodeMatchesEncodingJSON checks that Decode refuses as malformed
// exactly the JSON that encoding/json refuses, on tricky inputs in metadata.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	inputs := []string{
		`1`, `-0`, `-`, `01`, `1.`, `.5`, `1e`, `1e+`, `1E-7`, `-1.5e+10`, `"\u00"`, `"\uZZZZ"`, `"\/"`,
		`[1,]`, `[,1]`, `{"a" 1}`, `{"a":1,}`, `{1:1}`, `tru`, `nulll`, `[true,false,null]`, "\"\x7f\"",
		`{"a":[{"b":[[]]}]}`, `""`, `"\ud800\udc00"`, `[`, `]`, `{`, `}`, ` `, `"abc`, `[1 2]`,
	}
	for _, in := range inputs {
		_, fe := Decode([]byte(ev(`"metadata":{"a":` + in + `}`)))
		_, malformed := fe[BodyField]
		if want := !json.Valid([]byte(in)); malformed != want {
			t.Errorf("%q: malformed %v, encoding/json %v (%v)", in, malformed, want, fe)
		}
	}
}
