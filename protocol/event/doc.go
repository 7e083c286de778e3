// Package event defines the ingested event: its JSON shape, validation with
// field errors, sortable unique IDs, and the journal's binary record. It
// depends on the standard library only.
package event
