// Package event defines the ingested event: its JSON shape, validation with
// field errors, sortable unique IDs, and the journal's binary record. Besides
// the standard library it uses github.com/oklog/ulid/v2 for its IDs (a module
// without dependencies of its own), behind its own ID type.
package event
