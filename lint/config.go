package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/compiler/spec"
)

// ConfigName is the configuration file lint looks for, from a spec's
// directory upwards.
const ConfigName = ".gwc.yaml"

// Config is a .gwc.yaml:
//
//	rules:                              # a rule's severity, or off
//	  gwc-operation-id: error
//	  gwc-unused-component: off
//	ignore:                             # findings not to report
//	  - rule: gwc-example-schema        #   of this rule (every rule when absent)
//	    pointer: /paths/~1legacy        #   at or below this node of the entry file
//	  - files: ["vendor/**"]            #   in files matching a glob, relative to the config file
//	policies: [policies/]               # directories of Rego policies (gwc lint --policy)
//	policy-timeout: 10s                 # the policies' time budget per spec (default 5s)
type Config struct {
	// Path is the file the configuration was read from; "" for defaults.
	Path     string
	Rules    map[string]string
	Ignore   []Ignore
	Policies []string
	// PolicyTimeout is policy-timeout; 0 when not set.
	PolicyTimeout time.Duration

	severities map[string]severitySetting
	// rulePos is where each rule id of rules is written.
	rulePos map[string]diag.Pos
	// problems are what LoadConfig found wrong; CheckRules reports them
	// with the rule ids no rule has, all in one error.
	problems []ConfigProblem
}

// Ignore drops the findings it matches: of Rule (every rule when empty), at
// or below Pointer in the entry file (anywhere when empty), in Files
// (anywhere when empty). At least one of the three is set.
type Ignore struct {
	Rule    string
	Pointer string
	Files   []string

	rulePos diag.Pos
	index   int // in the file's ignore list
}

type severitySetting struct {
	off bool
	sev diag.Severity
}

// MaxPolicyTimeout is the longest policy-timeout a configuration may set.
const MaxPolicyTimeout = 10 * time.Minute

// ConfigError is a configuration file gwc cannot use; commands exit 2. Err
// is a file that cannot be read; Problems are everything wrong in one that
// can, each at its place.
type ConfigError struct {
	Path     string
	Err      error
	Problems []ConfigProblem
}

// ConfigProblem is one mistake in a configuration file.
type ConfigProblem struct {
	Pos diag.Pos
	Msg string
}

func (p ConfigProblem) String() string { return p.Pos.String() + ": " + p.Msg }

func (e *ConfigError) Error() string {
	if len(e.Problems) == 0 {
		return e.Path + ": " + e.Err.Error()
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (e *ConfigError) Unwrap() error { return e.Err }

// FindConfig looks for ConfigName in dir and its parents. It returns nil,
// nil when there is none.
func FindConfig(dir string) (*Config, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for d := abs; ; d = filepath.Dir(d) {
		p := filepath.Join(d, ConfigName)
		if _, err := os.Stat(p); err == nil {
			return LoadConfig(display(p))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, &ConfigError{Path: p, Err: err}
		}
		if filepath.Dir(d) == d {
			return nil, nil
		}
	}
}

// display is an absolute path as errors show it: relative to the working
// directory when it is below it.
func display(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return rel
}

// LoadConfig reads a configuration file. A file that cannot be read or is not
// YAML is an error; the mistakes in one that is (unknown keys, values of the
// wrong kind, unknown severities) are kept for CheckRules to report together
// with the unknown rule ids, which are known only once the policies the
// configuration names are loaded. The entries without mistakes apply.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Path: path, Err: err}
	}
	return ParseConfig(path, data)
}

// ParseConfig is LoadConfig of data read from path.
func ParseConfig(path string, data []byte) (*Config, error) {
	c := &Config{Path: path, severities: map[string]severitySetting{}, rulePos: map[string]diag.Pos{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		pos := diag.Pos{File: path}
		msg := err.Error()
		var le *yaml.LoadError
		if errors.As(err, &le) {
			pos.Line, pos.Col, msg = le.Mark.Line, le.Mark.Column, le.Message
		}
		return nil, &ConfigError{Path: path, Err: err, Problems: []ConfigProblem{{pos, "not YAML: " + msg}}}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return c, nil // an empty file is an empty configuration
	}
	c.decode(doc.Content[0])
	return c, nil
}

// configKeys are the keys of a configuration, ignoreKeys those of an ignore
// entry.
var (
	configKeys = []string{"rules", "ignore", "policies", "policy-timeout"}
	ignoreKeys = []string{"rule", "pointer", "files"}
	severities = []string{"error", "warning", "info", "hint", "off"}
)

func (c *Config) pos(n *yaml.Node) diag.Pos {
	return diag.Pos{File: c.Path, Line: n.Line, Col: n.Column}
}

func (c *Config) problem(n *yaml.Node, format string, args ...any) {
	c.problems = append(c.problems, ConfigProblem{c.pos(n), fmt.Sprintf(format, args...)})
}

// kindName names a node as the problems say it: its kind, or its value.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.ShortTag() == "!!null" {
		return "empty"
	}
	return fmt.Sprintf("%q", n.Value)
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// members walks a mapping's keys and values, reporting keys that are not
// strings, that are not in known (with the closest as a suggestion) or that
// come twice.
func (c *Config) members(m *yaml.Node, where string, known []string, f func(k, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), resolve(m.Content[i+1])
		switch {
		case k.Kind != yaml.ScalarNode:
			c.problem(k, "%s: a key must be a name, not %s", where, kindName(k))
		case seen[k.Value]:
			c.problem(k, "%s%s is given twice", prefix(where), k.Value)
		case known != nil && !slices.Contains(known, k.Value):
			c.problem(k, "%sunknown key %q%s (known: %s)", prefix(where), k.Value, didYouMean(k.Value, known), strings.Join(known, ", "))
		default:
			seen[k.Value] = true
			f(k, v)
		}
	}
}

func prefix(where string) string {
	if where == "" {
		return ""
	}
	return where + ": "
}

func didYouMean(s string, candidates []string) string {
	if best := spec.Suggest(s, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

func (c *Config) decode(root *yaml.Node) {
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		c.problem(root, "a configuration is a mapping of %s, not %s", strings.Join(configKeys, ", "), kindName(root))
		return
	}
	c.members(root, "", configKeys, func(k, v *yaml.Node) {
		if isNull(v) {
			return // "rules:" with nothing under it sets nothing
		}
		switch k.Value {
		case "rules":
			c.decodeRules(v)
		case "ignore":
			if v.Kind != yaml.SequenceNode {
				c.problem(v, "ignore must be a list of entries with rule, pointer or files, not %s", kindName(v))
				return
			}
			for i, e := range v.Content {
				c.decodeIgnore(i, resolve(e))
			}
		case "policies":
			c.Policies = c.policyDirs(v)
		case "policy-timeout":
			d, err := time.ParseDuration(v.Value)
			switch {
			case v.Kind != yaml.ScalarNode || err != nil:
				c.problem(v, "policy-timeout must be a duration such as 10s or 1m, not %s", kindName(v))
			case d <= 0 || d > MaxPolicyTimeout:
				c.problem(v, "policy-timeout must be more than 0 and at most %s, not %s", MaxPolicyTimeout, v.Value)
			default:
				c.PolicyTimeout = d
			}
		}
	})
}

func (c *Config) decodeRules(v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		c.problem(v, "rules must be a mapping of rule ids to a severity (%s), not %s", strings.Join(severities, ", "), kindName(v))
		return
	}
	c.Rules = map[string]string{}
	c.members(v, "rules", nil, func(k, v *yaml.Node) {
		c.rulePos[k.Value] = c.pos(k)
		if v.Kind != yaml.ScalarNode || isNull(v) {
			c.problem(v, "rules: %s: the severity must be one of %s, not %s", k.Value, strings.Join(severities, ", "), kindName(v))
			return
		}
		c.Rules[k.Value] = v.Value
		if v.Value == "off" {
			c.severities[k.Value] = severitySetting{off: true}
			return
		}
		sev, ok := diag.ParseSeverity(v.Value)
		if !ok {
			c.problem(v, "rules: %s: the severity must be one of %s, not %q%s", k.Value, strings.Join(severities, ", "), v.Value, didYouMean(v.Value, severities))
			return
		}
		c.severities[k.Value] = severitySetting{sev: sev}
	})
}

func (c *Config) decodeIgnore(i int, e *yaml.Node) {
	where := fmt.Sprintf("ignore[%d]", i)
	if e.Kind != yaml.MappingNode {
		c.problem(e, "%s must be a mapping with rule, pointer or files, not %s", where, kindName(e))
		return
	}
	ig := Ignore{index: i}
	before := len(c.problems)
	c.members(e, where, ignoreKeys, func(k, v *yaml.Node) {
		if k.Value == "files" {
			ig.Files = c.strings(v, where+": files", "a list of globs")
			for _, g := range ig.Files {
				if _, err := filepath.Match(g, ""); err != nil {
					c.problem(v, "%s: files: %q is not a glob: %v", where, g, err)
				}
			}
			return
		}
		if v.Kind != yaml.ScalarNode || isNull(v) {
			c.problem(v, "%s: %s must be a string, not %s", where, k.Value, kindName(v))
			return
		}
		switch k.Value {
		case "rule":
			ig.Rule, ig.rulePos = v.Value, c.pos(v)
		case "pointer":
			if !strings.HasPrefix(v.Value, "/") {
				c.problem(v, "%s: pointer %q is not a JSON pointer (it starts with /)", where, v.Value)
				return
			}
			ig.Pointer = v.Value
		}
	})
	switch {
	case len(c.problems) > before:
		// An entry with a mistake ignores nothing: without its misspelt
		// pointer, it would ignore more than it says.
	case ig.Rule == "" && ig.Pointer == "" && len(ig.Files) == 0:
		c.problem(e, "%s: give a rule, a pointer or files", where)
	default:
		c.Ignore = append(c.Ignore, ig)
	}
}

// strings reads a list of strings (what describes it in problems).
func (c *Config) strings(v *yaml.Node, where, what string) []string {
	if v.Kind != yaml.SequenceNode {
		c.problem(v, "%s must be %s, not %s", where, what, kindName(v))
		return nil
	}
	var out []string
	for _, e := range v.Content {
		e = resolve(e)
		if e.Kind != yaml.ScalarNode || isNull(e) {
			c.problem(e, "%s must be %s, not one that is %s", where, what, kindName(e))
			continue
		}
		out = append(out, e.Value)
	}
	return out
}

// policyDirs reads the policies key: folders, relative to the
// configuration's, inside its repository (the nearest folder above it with
// a .git), or inside its own folder when it is in none. A .gwc.yaml comes
// with the pull request gwc lint checks, so it may not point gwc at files
// elsewhere on the machine (an absolute path, too many "..", or a symbolic
// link that leads out); --policy, which the workflow sets, may.
func (c *Config) policyDirs(v *yaml.Node) []string {
	if v.Kind != yaml.SequenceNode {
		c.problem(v, "policies must be a list of directories, not %s", kindName(v))
		return nil
	}
	base := "."
	if c.Path != "" {
		base = filepath.Dir(c.Path)
	}
	bound := repoRoot(base)
	var out []string
	for _, e := range v.Content {
		e = resolve(e)
		if e.Kind != yaml.ScalarNode || isNull(e) {
			c.problem(e, "policies must be a list of directories, not one that is %s", kindName(e))
			continue
		}
		d := filepath.Join(base, filepath.FromSlash(e.Value))
		if filepath.IsAbs(e.Value) || !within(bound, d) {
			c.problem(e, "policies: %q is not a folder inside %s: a .gwc.yaml may name only folders of its repository (use --policy DIR for policies from elsewhere)", e.Value, bound)
			continue
		}
		if real, err := filepath.EvalSymlinks(d); err == nil {
			if realBound, err := filepath.EvalSymlinks(bound); err != nil || !within(realBound, real) {
				c.problem(e, "policies: %q leads outside %s through a symbolic link (use --policy DIR for policies from elsewhere)", e.Value, bound)
				continue
			}
		}
		out = append(out, e.Value)
	}
	return out
}

// repoRoot is the nearest folder at or above dir that holds a .git (a
// folder, or a file in a worktree), else dir itself.
func repoRoot(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	for d := abs; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return relToWD(d)
		}
		up := filepath.Dir(d)
		if up == d {
			return dir
		}
		d = up
	}
}

// relToWD says an absolute folder as the configuration's path is said:
// relative to the working directory where it is below it.
func relToWD(abs string) string {
	wd, err := os.Getwd()
	if err != nil {
		return abs
	}
	if rel, err := filepath.Rel(wd, abs); err == nil && (rel == "." || filepath.IsLocal(rel)) {
		return rel
	}
	return abs
}

// within reports whether path is bound or below it, both cleaned, made
// absolute, without following links.
func within(bound, path string) bool {
	b, err1 := filepath.Abs(bound)
	p, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(b, p)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// Err is what LoadConfig found wrong, before rule ids are checked: nil, or a
// *ConfigError.
func (c *Config) Err() error {
	if c == nil || len(c.problems) == 0 {
		return nil
	}
	return &ConfigError{Path: c.Path, Err: errors.New("invalid configuration"), Problems: slices.Clone(c.problems)}
}

// CheckRules reports everything wrong with the configuration in one error:
// what LoadConfig found, and the rule ids it names that are not rules (the
// built-in ones and those of the policies in use, known only once the
// policies the configuration names are loaded), with the closest id as a
// suggestion.
func (c *Config) CheckRules(rules []*Rule) error {
	if c == nil {
		return nil
	}
	var ids []string
	known := map[string]bool{}
	for _, r := range rules {
		known[r.ID] = true
		ids = append(ids, r.ID)
	}
	problems := slices.Clone(c.problems)
	for id := range c.Rules {
		if !known[id] {
			problems = append(problems, ConfigProblem{c.rulePos[id], fmt.Sprintf("rules: no rule %q%s (gwc rules lists them)", id, didYouMean(id, ids))})
		}
	}
	for _, ig := range c.Ignore {
		if ig.Rule != "" && !known[ig.Rule] {
			problems = append(problems, ConfigProblem{ig.rulePos, fmt.Sprintf("ignore[%d]: no rule %q%s (gwc rules lists them)", ig.index, ig.Rule, didYouMean(ig.Rule, ids))})
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.SortStableFunc(problems, func(a, b ConfigProblem) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
	return &ConfigError{Path: c.Path, Err: errors.New("invalid configuration"), Problems: problems}
}

// PolicyDirs are the configuration's policy directories, relative to the
// configuration file.
func (c *Config) PolicyDirs() []string {
	if c == nil {
		return nil
	}
	out := make([]string, len(c.Policies))
	for i, d := range c.Policies {
		if c.Path == "" {
			out[i] = d
		} else {
			out[i] = filepath.Join(filepath.Dir(c.Path), filepath.FromSlash(d))
		}
	}
	return out
}

// severity applies the configured severity of rule to a finding: ok is
// false when the rule is off.
func (c *Config) severity(rule string, sev diag.Severity) (diag.Severity, bool) {
	if c == nil {
		return sev, true
	}
	s, set := c.severities[rule]
	switch {
	case !set:
		return sev, true
	case s.off:
		return 0, false
	}
	return s.sev, true
}

// fileIgnored reports whether an ignore entry with files matches file (a
// path as diagnostics give it) for rule.
func (c *Config) fileIgnored(rule, file string) bool {
	if c == nil {
		return false
	}
	for _, ig := range c.Ignore {
		if ig.Pointer != "" || len(ig.Files) == 0 || (ig.Rule != "" && ig.Rule != rule) {
			continue
		}
		if slices.ContainsFunc(ig.Files, func(g string) bool { return globMatch(g, c.relative(file)) }) {
			return true
		}
	}
	return false
}

// relative is file relative to the configuration's directory, with forward
// slashes, as globs are written.
func (c *Config) relative(file string) string {
	abs, err := filepath.Abs(file)
	if err != nil || c.Path == "" {
		return filepath.ToSlash(file)
	}
	dir, err := filepath.Abs(filepath.Dir(c.Path))
	if err != nil {
		return filepath.ToSlash(file)
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		return filepath.ToSlash(file)
	}
	return filepath.ToSlash(rel)
}

// globMatch matches a slash-separated path against a glob in which "**"
// matches any number of directories and the other wildcards are
// filepath.Match's.
func globMatch(glob, path string) bool {
	if !strings.Contains(glob, "**") {
		ok, _ := filepath.Match(glob, path)
		return ok
	}
	gs, ps := strings.Split(glob, "/"), strings.Split(path, "/")
	var match func(gi, pi int) bool
	match = func(gi, pi int) bool {
		for gi < len(gs) {
			if gs[gi] == "**" {
				for k := pi; k <= len(ps); k++ {
					if match(gi+1, k) {
						return true
					}
				}
				return false
			}
			if pi >= len(ps) {
				return false
			}
			if ok, _ := filepath.Match(gs[gi], ps[pi]); !ok {
				return false
			}
			gi, pi = gi+1, pi+1
		}
		return pi == len(ps)
	}
	return match(0, 0)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
