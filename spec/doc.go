// Package spec holds Eventara's contracts as files, embedded so that the
// binary serves what the repository says: openapi.json, the OpenAPI 3.1
// document of the HTTP API, and metrics.schema.json, the JSON Schema of the
// metrics snapshot (metrics.md explains it).
//
// openapi.json refers to metrics.schema.json instead of repeating it;
// OpenAPI bundles the two into the one self-contained document that
// GET /api/v1/openapi.json serves. Stdlib and jsontext only.
package spec
