package sockjs

import (
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeMessages decodes what a client sends: a JSON array of strings
// (xhr_send, jsonp_send and SockJS websocket frames: ["m1","m2"]) or a
// single JSON string ("m1"). White space around the JSON is allowed.
// An empty payload (only white space) gives ErrPayloadExpected; anything
// else that is not one of those two forms gives ErrBrokenJSON. "[]" gives
// no messages and no error.
//
// The messages are copied into one new buffer, so the caller may reuse p;
// each message has its own capacity limit, so appending to one never
// overwrites another. Escaped surrogate pairs are joined; a lone surrogate
// becomes U+FFFD. It never panics, whatever p holds.
func DecodeMessages(p []byte) ([][]byte, error) {
	i := skipSpace(p, 0)
	if i == len(p) {
		return nil, ErrPayloadExpected
	}
	d := decoder{in: p, out: make([]byte, 0, len(p))}
	var msgs [][]byte
	switch p[i] {
	case '"':
		m, next, ok := d.str(i)
		if !ok {
			return nil, ErrBrokenJSON
		}
		msgs = append(msgs, m)
		i = next
	case '[':
		i = skipSpace(p, i+1)
		if i < len(p) && p[i] == ']' {
			i++
			break
		}
		for {
			if i >= len(p) || p[i] != '"' {
				return nil, ErrBrokenJSON
			}
			m, next, ok := d.str(i)
			if !ok {
				return nil, ErrBrokenJSON
			}
			msgs = append(msgs, m)
			i = skipSpace(p, next)
			if i >= len(p) {
				return nil, ErrBrokenJSON
			}
			if p[i] == ']' {
				i++
				break
			}
			if p[i] != ',' {
				return nil, ErrBrokenJSON
			}
			i = skipSpace(p, i+1)
		}
	default:
		return nil, ErrBrokenJSON
	}
	if skipSpace(p, i) != len(p) {
		return nil, ErrBrokenJSON
	}
	return msgs, nil
}

func skipSpace(p []byte, i int) int {
	for i < len(p) {
		switch p[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// decoder unescapes JSON strings of in into out. out never grows past its
// initial capacity (an escape is never shorter decoded than written), so
// the messages cut from it stay valid.
type decoder struct {
	in  []byte
	out []byte
}

// str decodes the JSON string whose opening quote is at in[i]. It returns
// the message, the index after the closing quote, and false if the string
// is malformed.
func (d *decoder) str(i int) ([]byte, int, bool) {
	start := len(d.out)
	i++ // opening quote
	for {
		if i >= len(d.in) {
			return nil, 0, false
		}
		c := d.in[i]
		switch {
		case c == '"':
			end := len(d.out)
			return d.out[start:end:end], i + 1, true
		case c < 0x20:
			return nil, 0, false
		case c != '\\':
			// Copy the run of plain bytes at once.
			j := i + 1
			for j < len(d.in) && d.in[j] != '"' && d.in[j] != '\\' && d.in[j] >= 0x20 {
				j++
			}
			d.out = append(d.out, d.in[i:j]...)
			i = j
			continue
		}
		// An escape.
		if i+1 >= len(d.in) {
			return nil, 0, false
		}
		e := d.in[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			d.out = append(d.out, e)
		case 'b':
			d.out = append(d.out, '\b')
		case 'f':
			d.out = append(d.out, '\f')
		case 'n':
			d.out = append(d.out, '\n')
		case 'r':
			d.out = append(d.out, '\r')
		case 't':
			d.out = append(d.out, '\t')
		case 'u':
			r, ok := hex4(d.in, i)
			if !ok {
				return nil, 0, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A high surrogate followed by an escaped low one is one
				// code point; anything else is a lone surrogate.
				if r < 0xdc00 && i+6 <= len(d.in) && d.in[i] == '\\' && d.in[i+1] == 'u' {
					if r2, ok := hex4(d.in, i+2); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
						r = utf16.DecodeRune(r, r2)
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			d.out = utf8.AppendRune(d.out, r)
		default:
			return nil, 0, false
		}
	}
}

func hex4(p []byte, i int) (rune, bool) {
	if i+4 > len(p) {
		return 0, false
	}
	var r rune
	for _, c := range p[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
