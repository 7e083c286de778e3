package test

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// validateSnapshot checks a snapshot's JSON against spec/metrics.schema.json.
func validateSnapshot(t testing.TB, body []byte) {
	t.Helper()
	schemaOnce.Do(func() {
		p, err := filepath.Abs("../spec/metrics.schema.json")
		if err != nil {
			schemaErr = err
			return
		}
		schema, schemaErr = jsonschema.NewCompiler().Compile(p)
	})
	if schemaErr != nil {
		t.Fatalf("compile schema: %v", schemaErr)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("snapshot is not JSON: %v", err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("snapshot does not match the schema: %v\n%s", err, body)
	}
}
