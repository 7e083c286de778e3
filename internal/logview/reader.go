package logview

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxLine is the longest line LineReader returns whole. An
// Eventara line is a few hundred bytes, a supervision decision with its
// stack a few kilobytes; anything near this is not one of ours.
const DefaultMaxLine = 1 << 20

// Line is one line of a log.
type Line struct {
	// N is the line's number in its input, from 1.
	N int
	// Text is the line without its end (\n or \r\n). It is valid until the
	// next call of Next.
	Text []byte
	// TooLong: the line was longer than the reader's limit; Text is empty
	// and the rest of the line was read and dropped.
	TooLong bool
	// Unterminated: the input ended inside this line (no newline after
	// it), as when the writer was killed mid-write.
	Unterminated bool
}

// LineReader splits an input into lines with bounded memory: a line longer
// than its limit is dropped (and said so), never buffered whole, and a
// last line without its newline is returned and marked.
type LineReader struct {
	br   *bufio.Reader
	max  int
	n    int
	buf  []byte
	done bool
}

// NewLineReader reads lines from r; maxLine (DefaultMaxLine when zero or
// negative) bounds the length of the lines it returns.
func NewLineReader(r io.Reader, maxLine int) *LineReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	return &LineReader{br: bufio.NewReaderSize(r, min(maxLine, 64<<10)), max: maxLine}
}

// Next returns the next line, or io.EOF after the last. Any other error is
// the input's.
func (r *LineReader) Next() (Line, error) {
	if r.done {
		return Line{}, io.EOF
	}
	r.buf = r.buf[:0]
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.buf)+len(chunk) > r.max+2 { // room for \r\n
				tooLong, r.buf = true, r.buf[:0]
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		switch {
		case err == nil:
			r.n++
			return r.line(tooLong, false), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			r.done = true
			if len(r.buf) == 0 && !tooLong {
				return Line{}, io.EOF
			}
			r.n++
			return r.line(tooLong, true), nil
		default:
			r.done = true
			return Line{}, err
		}
	}
}

func (r *LineReader) line(tooLong, unterminated bool) Line {
	if tooLong {
		return Line{N: r.n, TooLong: true, Unterminated: unterminated}
	}
	text := bytes.TrimSuffix(r.buf, []byte("\n"))
	text = bytes.TrimSuffix(text, []byte("\r"))
	if len(text) > r.max {
		return Line{N: r.n, TooLong: true, Unterminated: unterminated}
	}
	return Line{N: r.n, Text: text, Unterminated: unterminated}
}
