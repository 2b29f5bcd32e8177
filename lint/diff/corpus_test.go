package diff

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gwcdev/gwc/internal/testcorpus"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testcorpus.Cleanup()
	os.Exit(code)
}

// TestCorpusOpenAIVersions compares the corpus's two real OpenAI versions,
// three months apart: the three request media types dropped (which oasdiff
// reports too) must be found, every change must be placed on a line of its
// file, and a spec compared with itself must show nothing.
func TestCorpusOpenAIVersions(t *testing.T) {
	oldPath := testcorpus.Path(t, "openai-3.1-2026-05.yaml.gz")
	newPath := testcorpus.Path(t, testcorpus.OpenAI)
	load := func(p string) *Side {
		s, err := Load(context.Background(), Source{Path: p})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old, new := load(oldPath), load(newPath)
	r := Compare(old, new, Options{})
	var media []string
	for _, c := range r.Changes {
		if c.Kind == KindMediaTypeRemoved {
			media = append(media, c.Operation)
		}
		if !c.Pos.IsValid() || (c.Pos.File != oldPath && c.Pos.File != newPath) {
			t.Errorf("%s %s: placed at %v", c.Kind.ID, c.Message, c.Pos)
		}
	}
	slices.Sort(media)
	want := "POST /v1/responses/compact POST /v1/responses/input_tokens POST /v1/skills/{skill_id}"
	if got := strings.Join(media, " "); got != want {
		t.Errorf("media types removed from %q, want %q", got, want)
	}
	if n, _ := r.Count(Breaking); n < 3 {
		t.Errorf("%d breaking changes, want at least the 3 media types", n)
	}
	if same := Compare(new, new, Options{}); len(same.Changes) != 0 {
		t.Errorf("the new version against itself: %d changes, first %+v", len(same.Changes), same.Changes[0])
	}
}
