package format

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gwcdev/gwc/lint"
)

func report(t *testing.T) *Report {
	t.Helper()
	spec := filepath.Join("testdata", "spec.yaml")
	ds, err := lint.Run(context.Background(), spec, lint.Options{NoConfig: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) < 3 {
		t.Fatalf("the golden spec should have an error, a warning and related places; got %v", ds)
	}
	return &Report{Files: []string{spec}, Diagnostics: ds, Rules: lint.All(), Version: "test"}
}

// TestSARIFGolden compares the SARIF output of testdata/spec.yaml with
// testdata/golden.sarif (UPDATE_GOLDEN=1 rewrites it) and validates it
// against the SARIF 2.1.0 JSON Schema in ../shared/schemas.
func TestSARIFGolden(t *testing.T) {
	var b bytes.Buffer
	if err := SARIF(&b, report(t)); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden.sarif")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("SARIF differs from %s (UPDATE_GOLDEN=1 rewrites it):\n%s", golden, b.String())
	}

	schemaPath := filepath.Join("..", "..", "..", "shared", "schemas", "sarif-schema-2.1.0.json")
	if _, err := os.Stat(schemaPath); err != nil {
		t.Skipf("the SARIF schema is not beside the project (%s): the golden was compared but not validated", schemaPath)
	}
	c := jsonschema.NewCompiler()
	s, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatalf("compiling the SARIF schema: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("golden.sarif is not valid SARIF 2.1.0: %v", err)
	}
}

func TestSARIFResultsPointAtRules(t *testing.T) {
	var b bytes.Buffer
	if err := SARIF(&b, report(t)); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	rules := log.Runs[0].Tool.Driver.Rules
	for _, r := range log.Runs[0].Results {
		if r.RuleIndex == nil || rules[*r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s has rule index %v", r.RuleID, r.RuleIndex)
		}
		if reg := r.Locations[0].PhysicalLocation.Region; reg == nil || reg.StartLine < 1 {
			t.Errorf("result %s has no line", r.RuleID)
		}
	}
}

func TestGitHubEscapes(t *testing.T) {
	if got := ghData("50% done\nnext"); got != "50%25 done%0Anext" {
		t.Errorf("ghData: %q", got)
	}
	if got := ghProperty("a,b:c"); got != "a%2Cb%3Ac" {
		t.Errorf("ghProperty: %q", got)
	}
}

func TestURI(t *testing.T) {
	if got := uri(filepath.Join("specs", "my api", "a#b.yaml")); got != "specs/my%20api/a%23b.yaml" {
		t.Errorf("uri: %q", got)
	}
}

// TestFingerprints checks that JSON and SARIF carry every finding's
// lint.Fingerprint, and that a JSON output reads back as a baseline that
// knows all of its findings.
func TestFingerprints(t *testing.T) {
	r := report(t)
	var js, sarif bytes.Buffer
	if err := JSON(&js, r); err != nil {
		t.Fatal(err)
	}
	if err := SARIF(&sarif, r); err != nil {
		t.Fatal(err)
	}
	var out jsonReport
	if err := json.Unmarshal(js.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(sarif.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	for i, d := range r.Diagnostics {
		want := lint.Fingerprint(d)
		if got := out.Diagnostics[i].Fingerprint; got != want {
			t.Errorf("JSON diagnostics[%d].fingerprint = %q, want %q", i, got, want)
		}
		if got := log.Runs[0].Results[i].PartialFingerprints[lint.FingerprintKey]; got != want {
			t.Errorf("SARIF results[%d].partialFingerprints = %q, want %q", i, got, want)
		}
	}
	base, err := lint.ParseBaseline("out.json", js.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if fresh, known := base.Filter(r.Diagnostics); len(fresh) != 0 || known != len(r.Diagnostics) {
		t.Errorf("the JSON output as a baseline: %d new, %d known; want 0 and %d", len(fresh), known, len(r.Diagnostics))
	}
}

func TestTextBaselined(t *testing.T) {
	r := report(t)
	r.Diagnostics, r.Baselined = r.Diagnostics[:1], len(r.Diagnostics)-1
	var b bytes.Buffer
	if err := Text(&b, r, Styler{}); err != nil {
		t.Fatal(err)
	}
	want := plural(r.Baselined, "finding") + " in the baseline not shown\n"
	if !bytes.HasSuffix(b.Bytes(), []byte(want)) {
		t.Errorf("text output ends %q, want %q", b.String(), want)
	}
	b.Reset()
	r.Baselined = 0
	if err := Text(&b, r, Styler{}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte("baseline")) {
		t.Errorf("without a baseline the text names one:\n%s", b.String())
	}
}
