package event

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// The JSON tokenizer is jsontext, the syntactic layer of encoding/json/v2.
// Go 1.26 ships it only under GOEXPERIMENT=jsonv2;
// github.com/go-json-experiment/json is the same code as a module, and
// aliases the standard library's when that experiment is on. When the
// project's Go has encoding/json/jsontext without an experiment (1.27), only
// the import path changes.
//
// encoding/json (v1) was tried first and refused on the figures: its only
// member loop is Decoder.Token, which allocates per token and scans each
// value twice. BenchmarkDecode went from 5.6 to 58.7 µs, BenchmarkDecodeMinimal
// from 0.5 to 10.3 µs and BenchmarkDecodeBatch1000 from 5.7 to 73.3 ms; the
// same 1,000-event batch posted through the REST handler and journal took
// 46.4 ms instead of 11.5 (+305%), on this project's loaded 2-core machine
// (see the commit that brought jsontext in). jsontext cost nothing
// measurable there. v1 also folds the case of member names ("eventtype"
// would be eventType), keeps only the last of duplicate names and hides
// invalid UTF-8, all of which the field errors must see.

// readOptions: duplicate names and invalid UTF-8 become field errors here,
// not syntax errors. Nesting is bounded by jsontext's limit of 10,000
// levels, as encoding/json's.
var readOptions = []jsontext.Options{
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
}

// SyntaxError is malformed JSON at a byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "malformed JSON at offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// maxPointer bounds the JSON pointer quoted in a *SyntaxError, so that a
// deeply nested body cannot make its error answer larger than itself.
const maxPointer = 100

// syntaxError turns a jsontext error into a *SyntaxError.
func syntaxError(err error) *SyntaxError {
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return &SyntaxError{Msg: err.Error()} // not reached: the input is in memory
	}
	msg := "syntax error"
	if se.Err != nil {
		msg = se.Err.Error()
		if se.Err == io.ErrUnexpectedEOF {
			msg = "unexpected end of input"
		}
	}
	if p := string(se.JSONPointer); p != "" {
		// A pointer grows with the nesting: keep its end, where the error is.
		if len(p) > maxPointer {
			p = "…" + strings.ToValidUTF8(p[len(p)-maxPointer:], "")
		}
		msg += " within " + strconv.Quote(p)
	}
	return &SyntaxError{Offset: int(se.ByteOffset), Msg: msg}
}

// reader reads one JSON text in memory.
type reader struct {
	data []byte
	src  bytes.Buffer // the decoder reads data from it without copying
	dec  jsontext.Decoder
	// names holds the unquoted names of the members being read, outermost
	// first, so that a loop over a nested object keeps its parent's name.
	names []byte
}

var readers = sync.Pool{New: func() any { return new(reader) }}

// getReader returns a reader of data from the pool; putReader returns it.
func getReader(data []byte) *reader {
	r := readers.Get().(*reader)
	r.data = data
	r.src = *bytes.NewBuffer(data)
	r.dec.Reset(&r.src, readOptions...)
	return r
}

func putReader(r *reader) {
	// Keep nothing of the body alive in the pool.
	r.data = nil
	r.src = bytes.Buffer{}
	r.dec.Reset(&r.src)
	r.names = r.names[:0]
	readers.Put(r)
}

// members reads the object at the reader and calls fn with the name of each
// member, in order, duplicates included; fn reads the value. It is the
// package's one loop over object members: the event's, its tags' and its
// metadata's. name is only valid during the call.
func (r *reader) members(fn func(name []byte) error) error {
	if _, err := r.dec.ReadToken(); err != nil { // '{'
		return err
	}
	mark := len(r.names)
	for r.dec.PeekKind() != '}' {
		raw, err := r.dec.ReadValue()
		if err != nil {
			return err
		}
		r.names = unquote(r.names[:mark], raw)
		if err := fn(r.names[mark:]); err != nil {
			return err
		}
	}
	r.names = r.names[:mark]
	_, err := r.dec.ReadToken() // '}'
	return err
}

// skip reads the next value and forgets it.
func (r *reader) skip() error {
	_, err := r.dec.ReadValue()
	return err
}

// end returns a *SyntaxError if anything but white space follows what the
// reader has read.
func (r *reader) end(what string) error {
	off := int(r.dec.InputOffset())
	if i := skipSpace(r.data[off:]); off+i < len(r.data) {
		return &SyntaxError{Offset: off + i, Msg: "unexpected data after the " + what}
	}
	return nil
}

// unquote appends the JSON string s (valid JSON) unquoted to dst. Invalid
// UTF-8 is kept as it is, for the caller to refuse.
func unquote(dst []byte, s jsontext.Value) []byte {
	inner := s[1 : len(s)-1]
	if bytes.IndexByte(inner, '\\') < 0 || !utf8.Valid(inner) {
		return append(dst, inner...)
	}
	dst, _ = jsontext.AppendUnquote(dst, s)
	return dst
}

// str returns the JSON value v unquoted, or ok false if it is not a string.
func str(v jsontext.Value) (s string, ok bool) {
	if v.Kind() != '"' {
		return "", false
	}
	if inner := v[1 : len(v)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	var buf [64]byte
	return string(unquote(buf[:0], v)), true
}

func skipSpace(b []byte) int {
	for i, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return i
		}
	}
	return len(b)
}
