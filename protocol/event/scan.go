package event

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a minimal JSON scanner over one input. It validates syntax as
// strictly as encoding/json (RFC 8259) but leaves UTF-8 validation to its
// callers, so that bad UTF-8 becomes a field error rather than a body error.
// Its methods never panic: every index is checked against len(data).
type scanner struct {
	data []byte
	pos  int
	err  *SyntaxError
	// keyBuf and valBuf receive unescaped keys and values; a key stays
	// valid while its value is decoded.
	keyBuf []byte
	valBuf []byte
}

// maxDepth bounds the nesting of arrays and objects (recursion depth).
const maxDepth = 256

// SyntaxError is malformed JSON at a byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "malformed JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func (s *scanner) fail(msg string) bool {
	if s.err == nil {
		s.err = &SyntaxError{Offset: s.pos, Msg: msg}
	}
	return false
}

func (s *scanner) skipWS() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next byte, 0 at the end of input.
func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// expect consumes c after optional whitespace.
func (s *scanner) expect(c byte, msg string) bool {
	s.skipWS()
	if s.peek() != c {
		return s.fail(msg)
	}
	s.pos++
	return true
}

// scanString consumes a string starting at s.pos (which holds '"') and
// returns the bounds of its raw contents and whether it holds escapes.
func (s *scanner) scanString() (start, end int, esc, ok bool) {
	i := s.pos + 1
	start = i
	d := s.data
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return start, i, esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(d) {
				s.pos = i
				return 0, 0, false, s.fail("unterminated string")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex4(d[i+2:i+6]) {
					s.pos = i
					return 0, 0, false, s.fail("invalid \\u escape")
				}
				i += 6
			default:
				s.pos = i
				return 0, 0, false, s.fail("invalid escape in string")
			}
		case c < 0x20:
			s.pos = i
			return 0, 0, false, s.fail("control character in string")
		default:
			i++
		}
	}
	s.pos = i
	return 0, 0, false, s.fail("unterminated string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if hexVal(c) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func hex4(b []byte) rune {
	return hexVal(b[0])<<12 | hexVal(b[1])<<8 | hexVal(b[2])<<4 | hexVal(b[3])
}

// unescape appends the decoded form of raw string contents (already checked
// by scanString) to dst. Like encoding/json, a lone surrogate becomes U+FFFD.
// Bytes that are not escapes are copied as they are.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if i+1 >= len(raw) {
			break
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+6 > len(raw) {
				return dst
			}
			r := hex4(raw[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(raw[i+2:i+6])); r2 != utf8.RuneError {
						i += 6
						r = r2
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

// str consumes a string and returns its decoded bytes, which alias the input
// or buf (returned for reuse).
func (s *scanner) str(buf *[]byte) ([]byte, bool) {
	start, end, esc, ok := s.scanString()
	if !ok {
		return nil, false
	}
	if !esc {
		return s.data[start:end], true
	}
	*buf = unescape((*buf)[:0], s.data[start:end])
	return *buf, true
}

// scanNumber consumes a JSON number and returns its bytes.
func (s *scanner) scanNumber() ([]byte, bool) {
	d := s.data
	i := s.pos
	start := i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return nil, s.fail("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return nil, s.fail("invalid number")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			s.pos = i
			return nil, s.fail("invalid number")
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	s.pos = i
	return d[start:i], true
}

func (s *scanner) literal(lit string) bool {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return s.fail("invalid literal")
	}
	s.pos += len(lit)
	return true
}

// skipValue consumes any JSON value after optional whitespace.
func (s *scanner) skipValue(depth int) bool {
	s.skipWS()
	switch c := s.peek(); {
	case c == '"':
		_, _, _, ok := s.scanString()
		return ok
	case c == '{':
		return s.skipObject(depth + 1)
	case c == '[':
		return s.skipArray(depth + 1)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, ok := s.scanNumber()
		return ok
	case c == 0 && s.pos >= len(s.data):
		return s.fail("unexpected end of input")
	default:
		return s.fail("invalid character " + strconv.QuoteRune(rune(c)))
	}
}

func (s *scanner) skipObject(depth int) bool {
	if depth > maxDepth {
		return s.fail("nesting too deep")
	}
	s.pos++ // '{'
	s.skipWS()
	if s.peek() == '}' {
		s.pos++
		return true
	}
	for {
		s.skipWS()
		if s.peek() != '"' {
			return s.fail("expected field name")
		}
		if _, _, _, ok := s.scanString(); !ok {
			return false
		}
		if !s.expect(':', "expected ':'") || !s.skipValue(depth) {
			return false
		}
		if !s.objectNext() {
			return s.err == nil
		}
	}
}

// objectNext consumes ',' (returns true: another member follows) or '}'
// (returns false with no error). Anything else is a syntax error.
func (s *scanner) objectNext() bool {
	s.skipWS()
	switch s.peek() {
	case ',':
		s.pos++
		return true
	case '}':
		s.pos++
		return false
	}
	return s.fail("expected ',' or '}'")
}

func (s *scanner) skipArray(depth int) bool {
	if depth > maxDepth {
		return s.fail("nesting too deep")
	}
	s.pos++ // '['
	s.skipWS()
	if s.peek() == ']' {
		s.pos++
		return true
	}
	for {
		if !s.skipValue(depth) {
			return false
		}
		s.skipWS()
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return true
		default:
			return s.fail("expected ',' or ']'")
		}
	}
}

// compact appends raw JSON (known to be valid) to dst without insignificant
// whitespace.
func compact(dst, raw []byte) []byte {
	in := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if in {
			dst = append(dst, c)
			switch c {
			case '\\':
				if i+1 < len(raw) {
					i++
					dst = append(dst, raw[i])
				}
			case '"':
				in = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
		case '"':
			in = true
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
