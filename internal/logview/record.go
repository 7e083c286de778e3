package logview

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Level is a log line's level, ordered as zerolog orders them.
type Level int8

// Levels.
const (
	LevelUnknown Level = iota
	LevelTrace
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelFatal
	LevelPanic
)

var levelNames = []string{"", "trace", "debug", "info", "warn", "error", "fatal", "panic"}

func (l Level) String() string {
	if int(l) >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return ""
}

// ParseLevel reads a level name as zerolog writes it (and "warning");
// LevelUnknown when it is none.
func ParseLevel(s string) Level {
	switch s = strings.ToLower(strings.TrimSpace(s)); s {
	case "warning":
		return LevelWarn
	case "":
		return LevelUnknown
	}
	for i, n := range levelNames {
		if n == s {
			return Level(i)
		}
	}
	return LevelUnknown
}

// Record is what one Eventara log line says, in the fields this package
// reads. Fields a line lacks are zero.
type Record struct {
	Source string // the input's name
	Line   int    // the line's number in it
	Time   time.Time
	Level  Level
	Msg    string
	Node   string // the line's "node" field, when it has one

	Actor  string // the actor's path
	Parent string // its parent's path, as logged
	Kind   string

	// The fields of a supervision decision (Reason is also a session
	// close's reason).
	Reason    string
	Directive string
	Failure   int // the "restarts" field: the failure's number within its policy's window
	Backoff   time.Duration
	MsgType   string
	Stack     string
	Code      int // a session close's code

	Version string // the process's version ("eventara listening")

	// Protoactor: the line is protoactor's own (library=protoactor).
	Protoactor bool
}

// Message texts with a meaning for the tree. They are Eventara's own log
// messages (actors/*.go); a change there is a change here.
const (
	msgDecision      = "supervision decision" // actors/supervision.go
	msgStarted       = "actor started"        // actors/introspect.go: every (re)start
	msgRecovered     = "state recovered"      // actors/checkpoint.go: with an actor, a restart's recovery; without, a process start
	msgSessionClosed = "session closed"       // actors/connection.go, and "session closed: server shutting down"
	msgClientGone    = "client went away"     // actors/connection.go
	msgListening     = "eventara listening"   // cmd/eventara
	msgShuttingDown  = "shutting down"        // cmd/eventara
	msgStopped       = "stopped"              // cmd/eventara: the last line of a clean shutdown
	msgSystemStarted = "actor system started" // protoactor's, at every process start
)

// skip is why a line was not read as a record.
type skip int

const (
	skipNone skip = iota
	skipNotJSON
	skipOtherJSON
	skipNoTime
	skipProtoactor
	skipTruncated
	skipTooLong
	skipOldDecision
	skipBadActor
	numSkips
)

var skipNames = [numSkips]string{
	skipNotJSON:     "not JSON",
	skipOtherJSON:   "JSON of another program (no time or no level)",
	skipNoTime:      "no time that could be read",
	skipProtoactor:  "protoactor's own (the supervision decisions say more: the tree, the directive, the stack)",
	skipTruncated:   "the last line, cut short (the writer stopped mid-line)",
	skipTooLong:     "too long to be Eventara's",
	skipOldDecision: "supervision decision without an actor or a directive (an older or foreign format)",
	skipBadActor:    "an actor that cannot be a path (empty segments, too deep, control characters)",
}

// note is something about a line's format that was read though it is not
// today's.
type note int

const (
	noteMessageKey note = iota
	noteNumericTime
	notePIDActor
	noteBackoffText
	noteDerivedParent
	noteInferredKind
	notePrefixed
	numNotes
)

var noteNames = [numNotes]string{
	noteMessageKey:    `message under "message", not "msg"`,
	noteNumericTime:   "numeric (Unix) time",
	notePIDActor:      "actor as a protoactor PID object",
	noteBackoffText:   "backoff as text",
	noteDerivedParent: "supervision decision without a parent (taken from the actor's path)",
	noteInferredKind:  "supervision decision without a kind (taken from the actor's name)",
	notePrefixed:      "JSON after a prefix (journalctl, docker, ...)",
}

type notes uint32

func (n *notes) add(x note)         { *n |= 1 << x }
func (n notes) has(x note) bool     { return n&(1<<x) != 0 }
func (n notes) each(f func(x note)) { eachBit(uint32(n), int(numNotes), func(i int) { f(note(i)) }) }

func eachBit(bits uint32, n int, f func(int)) {
	for i := 0; i < n; i++ {
		if bits&(1<<i) != 0 {
			f(i)
		}
	}
}

// Limits on an actor path: Eventara's deepest is three segments.
const (
	maxPathLen   = 512
	maxPathDepth = 32
)

// parseLine reads one line. A line that is no record says why (skip); a
// record says what of an older format it had to read (notes).
func parseLine(text []byte, intern func(string) string) (Record, skip, notes) {
	var ns notes
	text = bytes.TrimSpace(text)
	if len(text) == 0 || text[0] != '{' {
		i := bytes.Index(text, []byte(`{"`))
		if i < 0 {
			return Record{}, skipNotJSON, 0
		}
		text = text[i:]
		ns.add(notePrefixed)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(text, &m); err != nil {
		return Record{}, skipNotJSON, 0
	}
	f := fields(m)
	var r Record
	r.Level = ParseLevel(f.str("level"))
	r.Msg = f.str("msg")
	if r.Msg == "" {
		if s, ok := f.string("message"); ok {
			r.Msg = s
			ns.add(noteMessageKey)
		}
	}
	if f.str("library") == "protoactor" {
		return r, skipProtoactor, 0
	}
	if f.str("component") == "protoactor" { // older versions
		return r, skipProtoactor, 0
	}
	var numeric bool
	r.Time, numeric = f.time()
	if numeric {
		ns.add(noteNumericTime)
	}
	actor, pid := f.path("actor")
	if pid {
		ns.add(notePIDActor)
	}
	switch {
	case r.Time.IsZero() && r.Level != LevelUnknown && (r.Msg != "" || actor != ""):
		return r, skipNoTime, ns
	case r.Time.IsZero() || r.Level == LevelUnknown:
		return r, skipOtherJSON, 0
	}
	if actor != "" && !validPath(actor) {
		return r, skipBadActor, ns
	}
	r.Actor = intern(actor)
	r.Node = intern(f.str("node"))
	r.Msg = intern(r.Msg)
	r.Parent = intern(f.str("parent"))
	r.Kind = intern(f.str("kind"))
	r.Reason = f.text("reason")
	r.Code = f.int("code")
	if r.Msg == msgListening {
		r.Version = f.str("version")
	}
	if r.Msg != msgDecision {
		return r, skipNone, ns
	}

	r.Directive = intern(strings.ToLower(f.str("directive")))
	if r.Actor == "" || r.Directive == "" {
		return r, skipOldDecision, ns
	}
	if r.Parent == "" {
		r.Parent = intern(parentOf(r.Actor))
		ns.add(noteDerivedParent)
	}
	if r.Kind == "" {
		r.Kind = intern(inferKind(r.Actor))
		ns.add(noteInferredKind)
	}
	r.Failure = f.int("restarts")
	var text2 bool
	r.Backoff, text2 = f.duration("backoff")
	if text2 {
		ns.add(noteBackoffText)
	}
	r.MsgType = intern(f.str("msg_type"))
	r.Stack = f.str("stack")
	return r, skipNone, ns
}

// fields reads a line's values whatever JSON type they were written as.
type fields map[string]json.RawMessage

// string is the value of key when it is a JSON string.
func (f fields) string(key string) (string, bool) {
	raw, ok := f[key]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func (f fields) str(key string) string {
	s, _ := f.string(key)
	return s
}

// text is a string value as is, any other value as its JSON text.
func (f fields) text(key string) string {
	if s, ok := f.string(key); ok {
		return s
	}
	if raw, ok := f[key]; ok && string(raw) != "null" {
		return string(raw)
	}
	return ""
}

func (f fields) number(key string) (float64, bool) {
	raw, ok := f[key]
	if !ok {
		return 0, false
	}
	var x float64
	if json.Unmarshal(raw, &x) != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

func (f fields) int(key string) int {
	x, ok := f.number(key)
	if !ok || x < math.MinInt32 || x > math.MaxInt32 {
		return 0
	}
	return int(x)
}

// time reads the line's time: RFC 3339 text (Eventara's) or a Unix time
// in seconds, milliseconds, microseconds or nanoseconds (zerolog's other
// formats), under "time" or another usual key.
func (f fields) time() (t time.Time, numeric bool) {
	for _, key := range []string{"time", "ts", "timestamp", "@timestamp"} {
		if s, ok := f.string(key); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t, false
			}
			continue
		}
		if x, ok := f.number(key); ok && x > 0 {
			var sec float64
			switch {
			case x < 1e11:
				sec = x
			case x < 1e14:
				sec = x / 1e3
			case x < 1e17:
				sec = x / 1e6
			default:
				sec = x / 1e9
			}
			if sec >= 1<<33 { // past the year 2200: not a time
				continue
			}
			whole := math.Floor(sec)
			return time.Unix(int64(whole), int64((sec-whole)*1e9)).UTC(), true
		}
	}
	return time.Time{}, false
}

// path reads an actor path: a string, or a protoactor PID object
// ({"Address":…,"Id":…}) as protoactor's own lines and old versions wrote it.
func (f fields) path(key string) (path string, pid bool) {
	if s, ok := f.string(key); ok {
		return s, false
	}
	raw, ok := f[key]
	if !ok || len(raw) == 0 || raw[0] != '{' {
		return "", false
	}
	var p struct {
		ID  string `json:"Id"`
		ID2 string `json:"id"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return "", false
	}
	if p.ID == "" {
		p.ID = p.ID2
	}
	return p.ID, p.ID != ""
}

// duration reads a backoff: zerolog writes milliseconds as a number; text
// ("9.8ms") is read too.
func (f fields) duration(key string) (d time.Duration, text bool) {
	if x, ok := f.number(key); ok {
		if x < 0 || x > float64(math.MaxInt64/int64(time.Millisecond)) {
			return 0, false
		}
		return time.Duration(x * float64(time.Millisecond)), false
	}
	if s, ok := f.string(key); ok {
		if d, err := time.ParseDuration(s); err == nil && d >= 0 {
			return d, true
		}
	}
	return 0, false
}

func validPath(p string) bool {
	if len(p) > maxPathLen || strings.Count(p, "/") >= maxPathDepth {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			return false
		}
	}
	for _, c := range p {
		if c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// parentOf is the path of an actor's supervisor, "root" for a top-level
// actor (as actors.parentOf names it).
func parentOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return rootPath
}

const rootPath = "root"

// inferKind names the kind of an actor from its name, for lines that do
// not say it (actors/*.go spawn each kind under these names).
func inferKind(path string) string {
	name := path[strings.LastIndexByte(path, '/')+1:]
	switch {
	case !strings.Contains(path, "/"):
		switch name {
		case "ingest", "aggregator", "scheduler", "topic", "sessions", "rules", "notifier":
			return name
		case "topic-alerts":
			return "topic"
		}
	case strings.HasPrefix(name, "rule-"):
		return "rule"
	case strings.HasPrefix(name, "channel-"):
		return "channel"
	case strings.HasPrefix(name, "window-"):
		return "window"
	case strings.HasPrefix(name, "conn-"):
		return "connection"
	case strings.HasPrefix(name, "sub-"):
		return "subscription"
	}
	return ""
}

// escalatedFrom is the actor a decision's reason says escalated the
// failure ("escalated from aggregator/window-x: ..."), or "".
func escalatedFrom(reason string) string {
	rest, ok := strings.CutPrefix(reason, "escalated from ")
	if !ok {
		return ""
	}
	from, _, ok := strings.Cut(rest, ": ")
	if !ok || !validPath(from) {
		return ""
	}
	return from
}

// itoa is strconv.Itoa, short.
func itoa(n int) string { return strconv.Itoa(n) }
