package lint

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gwcdev/gwc/compiler/diag"
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

// TestCorpusRanges lints the corpus specs with the policies and checks every
// finding's range: it ends after it starts, on a line of the file, at most
// just past that line's last character; and no policy names a node the spec
// does not have.
func TestCorpusRanges(t *testing.T) {
	set := builtinPolicies(t)
	for _, name := range []string{testcorpus.OpenAI, testcorpus.TwilioAPI, testcorpus.DigitalOcean} {
		t.Run(name, func(t *testing.T) {
			spec := testcorpus.Path(t, name)
			ds, err := Run(context.Background(), spec, Options{NoConfig: true, Policies: set})
			if err != nil {
				t.Fatal(err)
			}
			lines := map[string][]string{}
			ranged, policies := 0, 0
			for _, d := range ds {
				if d.Code == CodePolicies && d.Severity == diag.Warning {
					t.Errorf("%s", d)
				}
				if strings.HasPrefix(d.Code, "policy/") {
					policies++
				}
				if !d.End.IsValid() {
					continue
				}
				ranged++
				src, ok := lines[d.Pos.File]
				if !ok {
					data, err := os.ReadFile(d.Pos.File)
					if err != nil {
						t.Fatal(err)
					}
					src = strings.Split(string(data), "\n")
					lines[d.Pos.File] = src
				}
				switch {
				case d.End.Line < d.Pos.Line || d.End.Line == d.Pos.Line && d.End.Col <= d.Pos.Col:
					t.Errorf("%s: ends at %d:%d, before it starts", d, d.End.Line, d.End.Col)
				case d.End.Line > len(src):
					t.Errorf("%s: ends at line %d of %d", d, d.End.Line, len(src))
				case d.End.Col > utf8.RuneCountInString(src[d.End.Line-1])+1:
					t.Errorf("%s: ends at %d:%d, past the line %q", d, d.End.Line, d.End.Col, src[d.End.Line-1])
				}
			}
			t.Logf("%d findings, %d of policies, %d with a range", len(ds), policies, ranged)
			if ranged == 0 || policies == 0 {
				t.Errorf("no finding with a range, or no policy finding")
			}
		})
	}
}
