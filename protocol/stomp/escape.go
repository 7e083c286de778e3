package stomp

import "strings"

// validEscapes reports whether every backslash in b starts an escape that
// version v defines: \n \c \\ for 1.1, plus \r for 1.2.
func validEscapes(b []byte, v Version) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++
		if i == len(b) {
			return false
		}
		switch b[i] {
		case 'n', 'c', '\\':
		case 'r':
			if v < V12 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// unescape decodes an already validated escaped header name or value.
func unescape(s string, v Version) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 'c':
				c = ':'
			case '\\':
				c = '\\'
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// AppendEscaped appends s escaped as a header name or value for version v:
// 1.2 escapes CR, LF, colon and backslash; 1.1 the same but CR, which it
// cannot express. 1.0 has no escaping, so CR and LF, which would end the
// header, become spaces.
func AppendEscaped(dst []byte, s string, v Version) []byte {
	if v == V10 {
		return appendSanitized(dst, s)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\n':
			dst = append(dst, '\\', 'n')
		case ':':
			dst = append(dst, '\\', 'c')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\r':
			if v >= V12 {
				dst = append(dst, '\\', 'r')
			} else {
				dst = append(dst, ' ')
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendSanitized appends s with CR and LF replaced by spaces: the form for
// STOMP 1.0 and for CONNECT/CONNECTED frames, which have no escaping.
func appendSanitized(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\n' || c == '\r' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}
