package lint

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/internal/testcorpus"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testcorpus.Cleanup()
	os.Exit(code)
}

// TestCorpusFindingsNameRealLines lints the real OpenAI, Twilio and
// DigitalOcean specs and checks that every finding names a file of the spec
// and a line in it, and, where the finding is about a named thing (a $ref, a
// component, a schema keyword, an operation's method), that the line holds it.
func TestCorpusFindingsNameRealLines(t *testing.T) {
	keyword := regexp.MustCompile(`^(\w+) (must|is not|as an)`)
	component := regexp.MustCompile(`^components\.\w+\.(\S+) is not referenced$`)
	for _, name := range []string{testcorpus.OpenAI, testcorpus.TwilioAPI, testcorpus.DigitalOcean} {
		t.Run(name, func(t *testing.T) {
			spec := testcorpus.Path(t, name)
			ds, err := Run(context.Background(), spec, Options{NoConfig: true})
			if err != nil {
				t.Fatal(err)
			}
			if ds.HasErrors() {
				t.Errorf("the corpus spec has lint errors, so it would fail CI:\n%v", ds.Err())
			}
			lines := map[string][]string{}
			checked := 0
			for _, d := range ds {
				src, ok := lines[d.Pos.File]
				if !ok {
					data, err := os.ReadFile(d.Pos.File)
					if err != nil {
						t.Fatalf("%s names a file that cannot be read: %v", d, err)
					}
					src = strings.Split(string(data), "\n")
					lines[d.Pos.File] = src
				}
				if d.Pos.Line < 1 || d.Pos.Line > len(src) || d.Pos.Col < 1 {
					t.Errorf("%s: no such line or column (the file has %d lines)", d, len(src))
					continue
				}
				line := src[d.Pos.Line-1]
				var want string
				switch d.Code {
				case "gwc-non-standard-ref":
					want = "$ref"
				case "gwc-unused-component":
					if m := component.FindStringSubmatch(d.Message); m != nil {
						want = m[1]
					}
				case "gwc-schema":
					if m := keyword.FindStringSubmatch(d.Message); m != nil {
						want = m[1]
					}
				case "gwc-operation-id":
					want = strings.ToLower(strings.Fields(d.Message)[0]) + ":"
				}
				if want != "" {
					checked++
					if !strings.Contains(line, want) {
						t.Errorf("%s: line %d is %q, which does not hold %q", d, d.Pos.Line, line, want)
					}
				}
			}
			t.Logf("%d findings, %d checked against their line", len(ds), checked)
			if checked == 0 {
				t.Errorf("no finding of %s could be checked against its line", name)
			}
		})
	}
}
