package spec

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

//go:embed openapi.json metrics.schema.json
var files embed.FS

// The files' names, and where the bundled document keeps the metrics schema.
const (
	openAPIFile       = "openapi.json"
	metricsSchemaFile = "metrics.schema.json"
	// metricsPointer is the component whose value in openapi.json is
	// {"$ref": "metrics.schema.json"}: the one place the schema is referred
	// to from outside; every operation refers to the component.
	metricsPointer = "/components/schemas/MetricsSnapshot"
)

// MetricsSchema returns metrics.schema.json as it is in the repository.
func MetricsSchema() []byte {
	b, _ := files.ReadFile(metricsSchemaFile) // embedded: cannot fail
	return b
}

// OpenAPIRaw returns openapi.json as it is in the repository, with its
// reference to metrics.schema.json.
func OpenAPIRaw() []byte {
	b, _ := files.ReadFile(openAPIFile) // embedded: cannot fail
	return b
}

var bundled = sync.OnceValues(func() ([]byte, error) { return Bundle(OpenAPIRaw(), MetricsSchema()) })

// OpenAPI returns the served document: openapi.json with metrics.schema.json
// bundled in (see Bundle). It is built once; an error means the embedded
// files are broken, which TestOpenAPIBundles catches before a release.
func OpenAPI() ([]byte, error) { return bundled() }

// Bundle returns the OpenAPI document doc with the metrics schema put in
// place of the {"$ref": "metrics.schema.json"} at metricsPointer, so that a
// client needs no second file. The schema is embedded as a subschema of the
// document: its $id and $schema go (a subschema takes the document's base
// URI and the OpenAPI 3.1 dialect, a JSON Schema 2020-12 superset), and its
// own references ("#/$defs/num") are rewritten to point under
// metricsPointer. Key order is kept, the output indented by two spaces.
func Bundle(doc, metricsSchema []byte) ([]byte, error) {
	schema, err := rebase(metricsSchema, metricsPointer)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", metricsSchemaFile, err)
	}
	var out bytes.Buffer
	dec := jsontext.NewDecoder(bytes.NewReader(doc))
	enc := jsontext.NewEncoder(&out, jsontext.Multiline(true), jsontext.WithIndent("  "))
	placed := false
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", openAPIFile, err)
		}
		kind, name := tok.Kind(), ""
		if kind == '"' {
			name = tok.String() // now: the next read voids tok
		}
		if err := enc.WriteToken(tok); err != nil {
			return nil, fmt.Errorf("bundle %s: %w", openAPIFile, err)
		}
		if kind != '"' || !isName(dec) {
			continue
		}
		ptr := string(dec.StackPointer())
		if ptr == metricsPointer {
			v, err := dec.ReadValue()
			if err != nil {
				return nil, fmt.Errorf("bundle %s: %w", openAPIFile, err)
			}
			if ref, ok := refOf(v); !ok || ref != metricsSchemaFile {
				return nil, fmt.Errorf("bundle %s: %s is %s, want {\"$ref\": %q}", openAPIFile, metricsPointer, v, metricsSchemaFile)
			}
			if err := enc.WriteValue(schema); err != nil {
				return nil, fmt.Errorf("bundle %s: %w", openAPIFile, err)
			}
			placed = true
			continue
		}
		if name == "$ref" && dec.PeekKind() == '"' {
			v, err := dec.ReadValue()
			if err != nil {
				return nil, fmt.Errorf("bundle %s: %w", openAPIFile, err)
			}
			if s := unquote(v); !strings.HasPrefix(s, "#") {
				return nil, fmt.Errorf("bundle %s: %s refers to %q: only %s may refer to another file", openAPIFile, ptr, s, metricsPointer)
			}
			if err := enc.WriteValue(v); err != nil {
				return nil, fmt.Errorf("bundle %s: %w", openAPIFile, err)
			}
		}
	}
	if !placed {
		return nil, fmt.Errorf("bundle %s: no %s to put %s in", openAPIFile, metricsPointer, metricsSchemaFile)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// rebase returns the JSON Schema schema as a subschema at pointer of
// another document: without its top-level $id and $schema, and with every
// "#…" reference prefixed by pointer. A reference to anything but the
// schema itself is an error: it would not resolve once moved.
func rebase(schema []byte, pointer string) (jsontext.Value, error) {
	var out bytes.Buffer
	dec := jsontext.NewDecoder(bytes.NewReader(schema))
	enc := jsontext.NewEncoder(&out)
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		kind, name := tok.Kind(), ""
		if kind == '"' {
			name = tok.String() // now: the next read voids tok
		}
		if kind != '"' || !isName(dec) {
			if err := enc.WriteToken(tok); err != nil {
				return nil, err
			}
			continue
		}
		if dec.StackDepth() == 1 && (name == "$id" || name == "$schema") {
			if err := dec.SkipValue(); err != nil {
				return nil, err
			}
			continue
		}
		if err := enc.WriteToken(tok); err != nil {
			return nil, err
		}
		if name != "$ref" {
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		ref := unquote(v)
		if v.Kind() != '"' || !strings.HasPrefix(ref, "#") {
			return nil, fmt.Errorf("%s: $ref %s does not point into the schema itself", dec.StackPointer(), v)
		}
		if err := enc.WriteToken(jsontext.String("#" + pointer + ref[1:])); err != nil {
			return nil, err
		}
	}
	return jsontext.Value(out.Bytes()), nil
}

// isName reports whether the string token just read is an object member's
// name rather than a value: inside an object, names and values alternate,
// so a name leaves an odd count of tokens read in it.
func isName(dec *jsontext.Decoder) bool {
	kind, n := dec.StackIndex(dec.StackDepth())
	return kind == '{' && n%2 == 1
}

// refOf returns the $ref of a value that is exactly {"$ref": "…"}.
func refOf(v jsontext.Value) (string, bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(v))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return "", false
	}
	if tok, err := dec.ReadToken(); err != nil || tok.String() != "$ref" {
		return "", false
	}
	tok, err := dec.ReadToken()
	if err != nil || tok.Kind() != '"' {
		return "", false
	}
	ref := tok.String() // before the next read voids tok
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return "", false
	}
	return ref, true
}

// unquote returns the text of a JSON string value ("" for other kinds).
func unquote(v jsontext.Value) string {
	if v.Kind() != '"' {
		return ""
	}
	s, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return ""
	}
	return string(s)
}
