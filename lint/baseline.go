package lint

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// FingerprintKey names the fingerprint's scheme, as SARIF's
// partialFingerprints key: a change to what Fingerprint hashes gets a new
// version, so that an old baseline never half-matches.
const FingerprintKey = "gwcFingerprint/v1"

// Fingerprint identifies a finding across edits that only move it: the hex
// SHA-256 (first 128 bits) of the rule id, the file's path (cleaned, with
// forward slashes, relative to the working directory when given absolute),
// the JSON pointer of the node the finding is about, and the message with
// line and column numbers replaced by '#'. Inserting lines above a finding
// keeps its fingerprint; renaming the property it is about, or anything in
// its message other than a position, changes it. The severity is left out,
// so that making a rule stricter does not make its old findings new.
func Fingerprint(d diag.Diagnostic) string {
	h := sha256.New()
	for _, part := range []string{FingerprintKey, d.Code, fingerprintPath(d.Pos.File), d.Pointer, NormalizeMessage(d.Message)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

var workDir = sync.OnceValue(func() string {
	wd, _ := os.Getwd()
	return wd
})

func fingerprintPath(p string) string {
	if p == "" {
		return ""
	}
	if filepath.IsAbs(p) {
		if rel, err := filepath.Rel(workDir(), p); err == nil && workDir() != "" {
			p = rel
		}
	}
	return filepath.ToSlash(filepath.Clean(p))
}

var (
	// "line 12", "lines 3 and 4", "column 7": positions a message names.
	linesRE = regexp.MustCompile(`(?i)\b(lines?|columns?|col)\s+\d+`)
	// "api.yaml:12:3", "(policy.rego:8)": a file's position.
	filePosRE = regexp.MustCompile(`(\.(?:ya?ml|json|rego)):\d+(?::\d+)?\b`)
	// A second number after "lines 3": "and 4", "to 9", "-9".
	moreLinesRE = regexp.MustCompile(`(?i)\b(lines #)(\s*(?:,|and|to|-|–)\s*)\d+`)
)

// NormalizeMessage replaces the line and column numbers a message mentions
// with '#', so that a finding whose message names another place ("duplicate
// key "a" (first at line 3)") keeps its fingerprint when lines move.
func NormalizeMessage(msg string) string {
	msg = linesRE.ReplaceAllString(msg, "$1 #")
	msg = moreLinesRE.ReplaceAllString(msg, "$1$2#")
	return filePosRE.ReplaceAllString(msg, "$1:#")
}

// setPointers gives every finding without a Pointer the JSON pointer, in
// its file, of the node at its position: the member whose key or value is
// there, else the last node that starts before it. Where a block mapping
// starts at its first key, the key wins: rules and the compiler report most
// findings at a member's key (`get:` for "GET /a has no operationId", which
// is often the first key of its path item), so the key's member is the
// finding's node far more often than the mapping.
// A finding about a whole file (no line) keeps none.
// index is pointerIndexes(doc), when it was built already.
func setPointers(ds diag.Diagnostics, doc *spec.Document, index map[string]*pointerIndex) {
	if doc == nil {
		return
	}
	for i := range ds {
		d := &ds[i]
		if d.Pointer != "" || !d.Pos.IsValid() {
			continue
		}
		if index == nil {
			index = pointerIndexes(doc)
		}
		if ix := index[d.Pos.File]; ix != nil {
			d.Pointer = ix.at(int32(d.Pos.Line), int32(d.Pos.Col))
		}
	}
}

// pointerIndexes indexes every file of doc by its path.
func pointerIndexes(doc *spec.Document) map[string]*pointerIndex {
	index := map[string]*pointerIndex{}
	for _, f := range doc.Files {
		if f.Root != nil {
			if _, dup := index[f.Path]; !dup {
				index[f.Path] = newPointerIndex(f.Root)
			}
		}
	}
	return index
}

// pointerIndex is the JSON pointer of every node and key of a file, by
// position. Pointers are kept as a tree of tokens and joined only for the
// findings that ask, since a large spec has hundreds of thousands of nodes.
type pointerIndex struct {
	nodes []placed // sorted by position; at one position, the innermost last
	ptrs  []ptrStep
}

type placed struct {
	line, col int32
	ptr       int32 // index in ptrs; -1 for the root
}

// ptrStep is one reference token of a pointer below the pointer up.
type ptrStep struct {
	up  int32
	tok string
}

func newPointerIndex(root *spec.Node) *pointerIndex {
	ix := &pointerIndex{}
	seen := spec.Visited{}
	// Nodes are visited parents first, so that at one position the last
	// entry is the innermost; recursion depth is bounded by the parser's.
	var walk func(n *spec.Node, ptr int32)
	walk = func(n *spec.Node, ptr int32) {
		if n == nil || !seen.First(n) { // an alias's node: named where it is first reached
			return
		}
		ix.nodes = append(ix.nodes, placed{n.Line, n.Col, ptr})
		for i, e := range n.Elems {
			ix.ptrs = append(ix.ptrs, ptrStep{ptr, strconv.Itoa(i)})
			walk(e, int32(len(ix.ptrs)-1))
		}
		for _, p := range n.Pairs {
			ix.ptrs = append(ix.ptrs, ptrStep{ptr, p.Key.Value})
			child := int32(len(ix.ptrs) - 1)
			ix.nodes = append(ix.nodes, placed{p.Key.Line, p.Key.Col, child})
			walk(p.Value, child)
		}
	}
	walk(root, -1)
	// A stable sort keeps the visiting order among entries at one position.
	slices.SortStableFunc(ix.nodes, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.col, b.col))
	})
	return ix
}

// at returns the pointer of the innermost node at line:col, else of the
// last one before it; "" (the whole file) before the first.
func (ix *pointerIndex) at(line, col int32) string {
	i, _ := slices.BinarySearchFunc(ix.nodes, placed{line: line, col: col + 1}, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.col, b.col))
	})
	// ix.nodes[i-1] is the last entry at or before line:col.
	if i == 0 {
		return ""
	}
	var toks []string
	for p := ix.nodes[i-1].ptr; p >= 0; p = ix.ptrs[p].up {
		toks = append(toks, ix.ptrs[p].tok)
	}
	slices.Reverse(toks)
	return spec.Pointer(toks...)
}

// Baseline is the findings a spec already had: its fingerprints, each with
// how many findings have it.
type Baseline struct {
	counts map[string]int
}

// NewBaseline is the baseline of the findings ds (their Pointers set, as Run
// returns them).
func NewBaseline(ds diag.Diagnostics) *Baseline {
	b := &Baseline{counts: map[string]int{}}
	b.Add(ds)
	return b
}

// Add adds findings to the baseline.
func (b *Baseline) Add(ds diag.Diagnostics) {
	for _, d := range ds {
		b.counts[Fingerprint(d)]++
	}
}

// Len is the number of findings in the baseline.
func (b *Baseline) Len() int {
	n := 0
	for _, c := range b.counts {
		n += c
	}
	return n
}

// Filter returns the findings of ds that are new relative to the baseline,
// in their order, and how many were left out as known. Findings sharing a
// fingerprint are matched by count: with two in the baseline and three now,
// the first two (in ds's order) are known and the third is new.
func (b *Baseline) Filter(ds diag.Diagnostics) (fresh diag.Diagnostics, known int) {
	left := make(map[string]int, len(b.counts))
	for fp, c := range b.counts {
		left[fp] = c
	}
	for _, d := range ds {
		fp := Fingerprint(d)
		if left[fp] > 0 {
			left[fp]--
			known++
			continue
		}
		fresh = append(fresh, d)
	}
	return fresh, known
}

// MaxBaselineSize bounds a baseline file: the JSON of a hundred thousand
// findings is some 50 MB.
const MaxBaselineSize = 256 << 20

// ReadBaseline reads a baseline from the output of `gwc lint --format json`.
// The error names the file and, for a file that is not that output, where
// and what is wrong.
func ReadBaseline(path string) (*Baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBaselineSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxBaselineSize {
		return nil, fmt.Errorf("%s: larger than %d MiB: want the output of gwc lint --format json", path, MaxBaselineSize>>20)
	}
	return ParseBaseline(path, data)
}

// ParseBaseline reads a baseline from data, the content of the file path
// (named in errors).
func ParseBaseline(path string, data []byte) (*Baseline, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, baselineJSONError(path, data, err)
	}
	const want = "want the output of gwc lint --format json"
	if _, ok := top["runs"]; ok {
		return nil, fmt.Errorf("%s: a SARIF log, not gwc's JSON: %s", path, want)
	}
	var version int
	if err := json.Unmarshal(top["version"], &version); err != nil || version != 1 {
		return nil, fmt.Errorf("%s: \"version\" is %s, not 1: %s", path, orNothing(top["version"]), want)
	}
	var ds []json.RawMessage
	if err := json.Unmarshal(top["diagnostics"], &ds); err != nil || top["diagnostics"] == nil || string(top["diagnostics"]) == "null" {
		return nil, fmt.Errorf("%s: \"diagnostics\" is %s, not an array: %s", path, orNothing(top["diagnostics"]), want)
	}
	b := &Baseline{counts: map[string]int{}}
	for i, raw := range ds {
		var d struct {
			Fingerprint *string `json:"fingerprint"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("%s: diagnostics[%d] is %s, not a finding: %s", path, i, describeJSON(raw), want)
		}
		if d.Fingerprint == nil || *d.Fingerprint == "" {
			return nil, fmt.Errorf("%s: diagnostics[%d] has no \"fingerprint\": make the baseline with a gwc that writes them", path, i)
		}
		b.counts[*d.Fingerprint]++
	}
	return b, nil
}

func orNothing(raw json.RawMessage) string {
	if raw == nil {
		return "absent"
	}
	return describeJSON(raw)
}

// describeJSON is a short description of a JSON value for messages.
func describeJSON(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "":
		return "absent"
	case s[0] == '{':
		return "an object"
	case s[0] == '[':
		return "an array"
	case len(s) > 40:
		return s[:37] + "..."
	}
	return s
}

// baselineJSONError places a JSON syntax error at its line and column.
func baselineJSONError(path string, data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(min(max(se.Offset-1, 0), int64(len(data)))) // the offending byte
		line := 1 + bytes.Count(data[:off], []byte("\n"))
		col := off - bytes.LastIndexByte(data[:off], '\n')
		return fmt.Errorf("%s:%d:%d: not JSON (%v): want the output of gwc lint --format json", path, line, col, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: a JSON %s, not an object: want the output of gwc lint --format json", path, te.Value)
	}
	return fmt.Errorf("%s: %w", path, err)
}
