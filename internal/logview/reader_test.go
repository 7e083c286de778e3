package logview

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t *testing.T, r io.Reader, max int) []Line {
	t.Helper()
	lr := NewLineReader(r, max)
	var lines []Line
	for {
		l, err := lr.Next()
		if err == io.EOF {
			return lines
		}
		if err != nil {
			t.Fatal(err)
		}
		l.Text = append([]byte(nil), l.Text...)
		lines = append(lines, l)
	}
}

func TestLineReader(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100)
	for _, c := range []struct {
		name, in string
		max      int
		want     []Line
	}{
		{name: "empty", in: ""},
		{name: "lines", in: "a\nbb\n", want: []Line{{N: 1, Text: []byte("a")}, {N: 2, Text: []byte("bb")}}},
		{name: "crlf and blank", in: "a\r\n\nb\n", want: []Line{{N: 1, Text: []byte("a")}, {N: 2, Text: []byte{}}, {N: 3, Text: []byte("b")}}},
		{name: "unterminated", in: "a\n{\"x\":", want: []Line{{N: 1, Text: []byte("a")}, {N: 2, Text: []byte(`{"x":`), Unterminated: true}}},
		{name: "too long, then more", in: long + "\nok\n", max: 10, want: []Line{{N: 1, TooLong: true}, {N: 2, Text: []byte("ok")}}},
		{name: "too long at the end", in: "ok\n" + long, max: 10, want: []Line{{N: 1, Text: []byte("ok")}, {N: 2, TooLong: true, Unterminated: true}}},
		{name: "exactly the limit", in: "0123456789\n", max: 10, want: []Line{{N: 1, Text: []byte("0123456789")}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// One byte at a time too: a line split across reads is one line.
			for _, r := range []io.Reader{strings.NewReader(c.in), iotest.OneByteReader(strings.NewReader(c.in))} {
				got := readAll(t, r, c.max)
				if len(got) != len(c.want) {
					t.Fatalf("got %d lines %+v, want %+v", len(got), got, c.want)
				}
				for i := range got {
					g, w := got[i], c.want[i]
					if g.N != w.N || string(g.Text) != string(w.Text) || g.TooLong != w.TooLong || g.Unterminated != w.Unterminated {
						t.Errorf("line %d: got %+v (%q), want %+v (%q)", i, g, g.Text, w, w.Text)
					}
				}
			}
		})
	}
}

func TestLineReaderPassesOnReadErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	lr := NewLineReader(io.MultiReader(strings.NewReader("a\n"), iotest.ErrReader(boom)), 0)
	if l, err := lr.Next(); err != nil || string(l.Text) != "a" {
		t.Fatalf("first line: %q %v", l.Text, err)
	}
	if _, err := lr.Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the input's error", err)
	}
	if _, err := lr.Next(); err != io.EOF {
		t.Fatalf("after an error: %v, want EOF", err)
	}
}
