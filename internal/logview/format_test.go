package logview

import (
	"errors"
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0:                             "0",
		850 * time.Nanosecond:         "850 ns",
		850 * time.Microsecond:        "850 µs",
		9812 * time.Microsecond:       "9.8 ms",
		46120 * time.Microsecond:      "46 ms",
		2600 * time.Millisecond:       "2.6 s",
		time.Minute:                   "1m",
		2*time.Minute + 3*time.Second: "2m03s",
		3*time.Hour + 5*time.Minute:   "3h05m",
		50 * time.Hour:                "2d02h",
		-1500 * time.Millisecond:      "-1.5 s",
		59*time.Minute + 59*time.Second + 600*time.Millisecond: "60m", // rounds within its unit
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCountsAndText(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{count(0), "0"}, {count(999), "999"}, {count(12345), "12,345"}, {count(-1234567), "-1,234,567"},
		{plural(1, "failure"), "1 failure"}, {plural(6, "failure"), "6 failures"}, {plural(1000, "line"), "1,000 lines"},
		{shorten("abcdef", 4), "abc…"}, {shorten("abc", 4), "abc"},
		{clean("a\nb\tc"), "a ⏎ b c"}, {clean("red \x1b[31m"), "red �[31m"}, {clean("ok"), "ok"},
	} {
		if c[0] != c[1] {
			t.Errorf("got %q, want %q", c[0], c[1])
		}
	}
}

func TestTimeSpec(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 12, 7, 23, 50, 0, 0, time.UTC)
	last := first.Add(40 * time.Minute)
	for in, want := range map[string]time.Time{
		"":                            {},
		"2026-12-07T20:42:45.5+01:00": time.Date(2026, 12, 7, 19, 42, 45, 5e8, time.UTC),
		"2026-12-07 23:55:00":         first.Add(5 * time.Minute),
		"2026-12-07T23:55:00.25":      first.Add(5*time.Minute + 250*time.Millisecond),
		"23:55":                       first.Add(5 * time.Minute),
		"00:10":                       first.Add(20 * time.Minute), // past midnight: the next day
		"23:49:59.5":                  first.Add(-500 * time.Millisecond),
		"+30s":                        first.Add(30 * time.Second),
		"-2m":                         last.Add(-2 * time.Minute),
	} {
		ts, err := ParseTimeSpec(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := ts.resolve(first, last); !got.Equal(want) {
			t.Errorf("%q resolves to %v, want %v", in, got, want)
		}
	}
	for _, bad := range []string{"yesterday", "+-3s", "25:00", "2026-13-01"} {
		if _, err := ParseTimeSpec(bad); !errors.Is(err, ErrTimeSpec) {
			t.Errorf("%q: %v, want ErrTimeSpec", bad, err)
		}
	}
}
