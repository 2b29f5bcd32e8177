package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gwcdev/gwc/compiler"
	"github.com/gwcdev/gwc/internal/testcorpus"
	"github.com/gwcdev/gwc/internal/testspec"
)

// TestInputMatchesItsSchema keeps docs/policy-input.schema.json true of what
// compiler.Model.PolicyInput gives, on the shared shop spec (every kind of
// gateway setting the input carries) and the corpus.
func TestInputMatchesItsSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	schema, err := c.Compile(filepath.Join("..", "..", "docs", "policy-input.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	specs := []string{testspec.Path(t, testspec.Shop)}
	if testcorpus.Dir() != "" {
		specs = append(specs, testcorpus.Path(t, testcorpus.OpenAI), testcorpus.Path(t, testcorpus.TwilioAPI))
	}
	for _, spec := range specs {
		a, ds, err := compiler.Analyze(context.Background(), compiler.Options{Spec: spec})
		if err != nil || ds.HasErrors() {
			t.Fatalf("%s: %v %v", spec, err, ds.Err())
		}
		data, err := json.Marshal(a.Model.PolicyInput())
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("%s: the policy input does not match docs/policy-input.schema.json: %v", spec, err)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	testcorpus.Cleanup()
	os.Exit(code)
}
