package logview

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// humanDuration formats a duration for people: two or three significant
// figures and a unit ("850 µs", "9.8 ms", "46 ms", "2.6 s", "2m03s", "1m",
// "3h05m", "2d04h").
func humanDuration(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	var s string
	switch {
	case d == 0:
		return "0"
	case d < time.Microsecond:
		s = strconv.FormatInt(int64(d), 10) + " ns"
	case d < time.Millisecond:
		s = decimal(float64(d)/float64(time.Microsecond)) + " µs"
	case d < time.Second:
		s = decimal(float64(d)/float64(time.Millisecond)) + " ms"
	case d < time.Minute:
		s = decimal(float64(d)/float64(time.Second)) + " s"
	case d < time.Hour:
		s = unitPair(d.Round(time.Second), time.Minute, "m", time.Second, "s")
	case d < 24*time.Hour:
		s = unitPair(d.Round(time.Minute), time.Hour, "h", time.Minute, "m")
	default:
		s = unitPair(d.Round(time.Hour), 24*time.Hour, "d", time.Hour, "h")
	}
	return neg + s
}

// decimal shows one decimal under 10 and none from 10 on: 9.8, 46, 120
// (so a figure reads at a glance).
func decimal(x float64) string {
	if x < 9.95 {
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 0, 64)
}

// unitPair is d in a unit and the next smaller one: "2m03s", or "1m" when
// the smaller part is zero.
func unitPair(d, big time.Duration, bigName string, small time.Duration, smallName string) string {
	s := strconv.FormatInt(int64(d/big), 10) + bigName
	if rest := d % big / small; rest > 0 {
		s += twoDigits(int(rest)) + smallName
	}
	return s
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// count formats a count with thousands separators: 12,345.
func count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// plural is a count and its noun, the noun in the plural unless the count
// is 1: "1 failure", "6 failures", "2 escalations".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return count(n) + " " + noun + "s"
}

// shorten cuts s to at most n runes, ending it with "…" when cut.
func shorten(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// clean makes text from a log safe to print on one line of a terminal:
// a multi-line reason's lines are joined with " ⏎ ", and control
// characters (a log line may carry escape sequences) become "�".
func clean(s string) string {
	ok := true
	for _, c := range s {
		if c < ' ' || (c >= 0x7f && c < 0xa0) || c == utf8.RuneError {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, c := range strings.TrimRight(s, "\n") {
		switch {
		case c == '\n':
			b.WriteString(" ⏎ ")
		case c == '\t':
			b.WriteByte(' ')
		case c < ' ' || (c >= 0x7f && c < 0xa0):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// pad fills s with spaces to width runes.
func pad(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}
