// Package event defines the ingested event: its JSON shape, validation with
// field errors, sortable unique IDs, and the journal's binary record.
//
// Besides the standard library it uses two modules without dependencies of
// their own, each behind this package's API: github.com/oklog/ulid/v2 for
// the IDs, and github.com/go-json-experiment/json/jsontext, the JSON
// tokenizer of encoding/json/v2, which Go 1.26 ships only as an experiment
// (json.go says why not encoding/json).
package event
