package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// loadOpenAPI loads and validates an OpenAPI 3.1 document with kin-openapi,
// the validator the black-box tests use.
func loadOpenAPI(t *testing.T, doc []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	d, err := loader.LoadFromData(doc)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if d.OpenAPIMajorMinor() != "3.1" {
		t.Fatalf("openapi %q: want 3.1", d.OpenAPI)
	}
	if err := d.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return d
}

func TestOpenAPIBundles(t *testing.T) {
	t.Parallel()
	b, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"`+metricsSchemaFile+`"`)) {
		t.Fatalf("the bundled document still refers to %s", metricsSchemaFile)
	}
	doc := loadOpenAPI(t, b)
	s := doc.Components.Schemas["MetricsSnapshot"]
	if s == nil || s.Value == nil || len(s.Value.Required) == 0 {
		t.Fatalf("MetricsSnapshot not bundled: %+v", s)
	}
	if !strings.Contains(string(b), `"$ref": "#/components/schemas/MetricsSnapshot/$defs/num"`) {
		t.Fatal("the schema's own references were not rewritten under its component")
	}
}

// TestBundledMetricsSchemaIsTheFile checks that the bundled component
// judges snapshots as spec/metrics.schema.json does: the same schema, moved.
func TestBundledMetricsSchemaIsTheFile(t *testing.T) {
	t.Parallel()
	b, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var file any
	if err := json.Unmarshal(MetricsSchema(), &file); err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("doc.json", doc); err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("metrics.schema.json", file); err != nil {
		t.Fatal(err)
	}
	bundled, err := c.Compile("doc.json#" + metricsPointer)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := c.Compile("metrics.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, snapshot string
		valid          bool
	}{
		{"empty object", `{}`, false},
		{"wrong latency", `{"latencyMetrics":{"avgLatency":-1}}`, false},
		{"fixture", string(fixtureSnapshot(t)), true},
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.snapshot))
		if err != nil {
			t.Fatal(err)
		}
		errB, errO := bundled.Validate(v), orig.Validate(v)
		if (errB == nil) != tc.valid || (errO == nil) != tc.valid {
			t.Errorf("%s: bundled says %v, the file says %v; want valid=%v", tc.name, errB, errO, tc.valid)
		}
	}
}

func TestBundleRefusesWhatWouldNotResolve(t *testing.T) {
	t.Parallel()
	schema := []byte(`{"$id":"x","$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"n":{"type":"number"}},"properties":{"a":{"$ref":"#/$defs/n"}}}`)
	good := `{"openapi":"3.1.1","components":{"schemas":{"MetricsSnapshot":{"$ref":"metrics.schema.json"}}}}`
	out, err := Bundle([]byte(good), schema)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Components struct{ Schemas map[string]map[string]any }
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	m := got.Components.Schemas["MetricsSnapshot"]
	if _, ok := m["$id"]; ok {
		t.Error("$id kept: it would change the base URI of the rewritten references")
	}
	if _, ok := m["$schema"]; ok {
		t.Error("$schema kept in a subschema")
	}
	if ref := m["properties"].(map[string]any)["a"].(map[string]any)["$ref"]; ref != "#/components/schemas/MetricsSnapshot/$defs/n" {
		t.Errorf("$ref = %v", ref)
	}

	for _, tc := range []struct{ name, doc, schema, want string }{
		{"no placeholder", `{"openapi":"3.1.1"}`, string(schema), "no /components/schemas/MetricsSnapshot"},
		{"other placeholder", `{"components":{"schemas":{"MetricsSnapshot":{"type":"object"}}}}`, string(schema), "want {\"$ref\""},
		{"another external ref", `{"paths":{"/x":{"$ref":"other.json"}},"components":{"schemas":{"MetricsSnapshot":{"$ref":"metrics.schema.json"}}}}`, string(schema), "only /components/schemas/MetricsSnapshot may refer"},
		{"schema refers outside", good, `{"$ref":"other.json#/x"}`, "does not point into the schema"},
		{"broken JSON", `{"openapi":`, string(schema), "bundle openapi.json"},
	} {
		_, err := Bundle([]byte(tc.doc), []byte(tc.schema))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// fixtureSnapshot is the dashboard's busy fixture, a snapshot valid against
// metrics.schema.json (web/src/fixtures, checked there by the web tests).
func fixtureSnapshot(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../web/src/fixtures/snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
