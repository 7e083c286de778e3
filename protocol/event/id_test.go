package event

import (
	"encoding/json"
	"testing"
	"time"
)

func TestIDRoundTrip(t *testing.T) {
	t.Parallel()
	g := NewGenerator()
	now := time.Date(2026, 11, 28, 14, 48, 12, 345_000_000, time.UTC)
	for i := 0; i < 1000; i++ {
		id := g.New(now)
		s := id.String()
		if len(s) != 26 {
			t.Fatalf("len(%q) = %d", s, len(s))
		}
		back, err := ParseID(s)
		if err != nil || back != id {
			t.Fatalf("ParseID(%q) = %v, %v; want %v", s, back, err, id)
		}
		if !id.Time().Equal(now) {
			t.Fatalf("Time() = %v, want %v", id.Time(), now)
		}
	}
	// Known vector from the ULID spec: all ones.
	var max ID
	for i := range max {
		max[i] = 0xFF
	}
	if got := max.String(); got != "7ZZZZZZZZZZZZZZZZZZZZZZZZZ" {
		t.Fatalf("max = %s", got)
	}
	if (ID{}).String() != "00000000000000000000000000" {
		t.Fatal("zero id text")
	}
}

func TestParseIDRejects(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "0", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01ARZ3NDEKTSV4RRFFQ69G5FAU", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAVV"} {
		if _, err := ParseID(s); err == nil {
			t.Errorf("ParseID(%q) accepted", s)
		}
	}
	a, err := ParseID("01aryz6s41tsv4rrffq69g5fav")
	if err != nil {
		t.Fatal(err)
	}
	if a.String() != "01ARYZ6S41TSV4RRFFQ69G5FAV" {
		t.Fatalf("lower case parse: %s", a)
	}
	if a.Ms() != 1469918176385 {
		t.Fatalf("ms = %d", a.Ms())
	}
}

func TestIDJSONText(t *testing.T) {
	t.Parallel()
	id := NewGenerator().New(time.Now())
	b, err := json.Marshal(struct{ ID ID }{id})
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ ID ID }
	if err := json.Unmarshal(b, &back); err != nil || back.ID != id {
		t.Fatalf("%s: %v %v", b, back.ID, err)
	}
	if err := json.Unmarshal([]byte(`{"ID":"nope"}`), &back); err == nil {
		t.Fatal("bad text accepted")
	}
}

func TestGeneratorMonotonic(t *testing.T) {
	t.Parallel()
	var g Generator // zero value is usable
	base := time.UnixMilli(1_800_000_000_000)
	steps := []time.Duration{0, 0, 0, time.Millisecond, 0, -time.Second, -time.Hour, 0, time.Second, 2 * time.Second, -time.Millisecond}
	prev := ID{}
	now := base
	for i := 0; i < 10000; i++ {
		now = now.Add(steps[i%len(steps)])
		id := g.New(now)
		if id.Compare(prev) <= 0 {
			t.Fatalf("step %d: %s not after %s", i, id, prev)
		}
		if id.Time().Before(now.Truncate(time.Millisecond)) {
			t.Fatalf("step %d: id time %v before now %v", i, id.Time(), now)
		}
		prev = id
	}
}

func TestGeneratorOverflow(t *testing.T) {
	t.Parallel()
	// Entropy of all ones: the first ID of a millisecond has no room left,
	// so the next one must move to the next millisecond.
	var g Generator
	g.seed(onesReader{})
	now := time.UnixMilli(5000)
	a := g.New(now)
	b := g.New(now)
	if b.Compare(a) <= 0 || a.Ms() != 5000 || b.Ms() != 5001 {
		t.Fatalf("overflow: %s after %s (ms %d)", b, a, b.Ms())
	}
	if c := g.New(now); c.Compare(b) <= 0 || c.Ms() != 5002 {
		t.Fatalf("overflow again: %s after %s", c, b)
	}
}

// onesReader reads as all one bits.
type onesReader struct{}

func (onesReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xFF
	}
	return len(p), nil
}

func TestGeneratorZeroEntropy(t *testing.T) {
	t.Parallel()
	// All-zero randomness at the epoch would give the zero ID, and makes
	// ulid's monotonic entropy start again within the millisecond.
	var g Generator
	g.seed(zeroReader{})
	prev := ID{}
	for i := 0; i < 5; i++ {
		id := g.New(time.UnixMilli(0))
		if id.Compare(prev) <= 0 {
			t.Fatalf("step %d: %s not after %s", i, id, prev)
		}
		prev = id
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestGeneratorUnique(t *testing.T) {
	t.Parallel()
	// Two generators at the same millisecond must not collide.
	a, b := NewGenerator(), NewGenerator()
	now := time.Now()
	seen := map[ID]bool{}
	for i := 0; i < 1000; i++ {
		for _, id := range []ID{a.New(now), b.New(now)} {
			if seen[id] {
				t.Fatalf("duplicate %s", id)
			}
			seen[id] = true
		}
	}
}

func TestMinMaxID(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	id := NewGenerator().New(now)
	lo, hi := MinID(now), MaxID(now)
	if lo.Compare(id) > 0 || hi.Compare(id) < 0 {
		t.Fatalf("%s not in [%s, %s]", id, lo, hi)
	}
	if MinID(now.Add(time.Millisecond)).Compare(id) <= 0 {
		t.Fatal("MinID of the next ms is not after the id")
	}
	if !MinID(time.Unix(-5, 0)).IsZero() {
		t.Fatal("MinID before epoch is not zero")
	}
}

func TestSeverity(t *testing.T) {
	t.Parallel()
	for _, s := range Severities {
		for _, name := range []string{s.String(), lower(s.String())} {
			got, ok := ParseSeverity(name)
			if !ok || got != s {
				t.Errorf("ParseSeverity(%q) = %v, %v", name, got, ok)
			}
		}
	}
	for _, bad := range []string{"", "WARN", "FATAL", "INFO ", "debugging"} {
		if _, ok := ParseSeverity(bad); ok {
			t.Errorf("ParseSeverity(%q) accepted", bad)
		}
	}
	if !SeverityError.IsError() || !SeverityCritical.IsError() || SeverityWarning.IsError() {
		t.Error("IsError")
	}
	if Severity(0).String() != "Severity(0)" {
		t.Error(Severity(0).String())
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestGeneratorStepsByOne(t *testing.T) {
	t.Parallel()
	// Within a millisecond the random part grows by one, as the journal's
	// IDs always have.
	g := NewGenerator()
	now := time.UnixMilli(1_800_000_000_000)
	a := g.New(now)
	if b := g.New(now); b != a.next() {
		t.Fatalf("%s then %s: not one apart", a, b)
	}
}
