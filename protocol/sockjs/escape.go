package sockjs

import (
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// asciiEscape holds, for each ASCII byte, 0 when it is written as is, 1 when
// it needs \u00XX, or the letter of its short escape (\" \\ \b \f \n \r \t).
var asciiEscape = func() (t [utf8.RuneSelf]byte) {
	for i := 0; i < 0x20; i++ {
		t[i] = 1
	}
	t['"'] = '"'
	t['\\'] = '\\'
	t['\b'] = 'b'
	t['\f'] = 'f'
	t['\n'] = 'n'
	t['\r'] = 'r'
	t['\t'] = 't'
	return t
}()

// needsUnicodeEscape reports whether SockJS writes r as \uXXXX even though
// JSON allows it verbatim: browsers mangle these code points on some
// transports (zero-width and bidi marks, line and paragraph separators,
// invisible operators, specials). The ranges are those of sockjs-node's
// escapable set.
func needsUnicodeEscape(r rune) bool {
	switch {
	case r >= 0x200c && r <= 0x200f,
		r >= 0x2028 && r <= 0x202f,
		r >= 0x2060 && r <= 0x206f,
		r >= 0xfff0 && r <= 0xffff:
		return true
	}
	return false
}

// AppendEscaped appends s escaped as the inside of a SockJS JSON string
// (without the quotes) to dst and returns the extended buffer. It escapes
// like JSON.stringify (", \, control characters, with the short forms
// \b \f \n \r \t) and also writes the code points sockjs escapes as
// lowercase \uXXXX. Invalid UTF-8 becomes \ufffd. '/' and '<' are not
// escaped.
func AppendEscaped(dst, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			e := asciiEscape[b]
			if e == 0 {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			if e == 1 {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			} else {
				dst = append(dst, '\\', e)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if needsUnicodeEscape(r) {
			dst = append(dst, s[start:i]...)
			dst = appendUnicodeEscape(dst, r)
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

func appendUnicodeEscape(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u',
		hexDigits[(r>>12)&0xf], hexDigits[(r>>8)&0xf], hexDigits[(r>>4)&0xf], hexDigits[r&0xf])
}

// AppendQuoted appends s as a complete SockJS JSON string, quotes included.
func AppendQuoted(dst, s []byte) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s)
	return append(dst, '"')
}

// EscapeString returns s escaped as the inside of a SockJS JSON string
// (see AppendEscaped).
func EscapeString(s string) string {
	return string(AppendEscaped(make([]byte, 0, len(s)+8), []byte(s)))
}
