package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/gwcdev/gwc/compiler/diag"
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
type Config struct {
	// Path is the file the configuration was read from; "" for defaults.
	Path     string            `yaml:"-"`
	Rules    map[string]string `yaml:"rules"`
	Ignore   []Ignore          `yaml:"ignore"`
	Policies []string          `yaml:"policies"`

	severities map[string]severitySetting
}

// Ignore drops the findings it matches: of Rule (every rule when empty), at
// or below Pointer in the entry file (anywhere when empty), in Files
// (anywhere when empty). At least one of the three is set.
type Ignore struct {
	Rule    string   `yaml:"rule"`
	Pointer string   `yaml:"pointer"`
	Files   []string `yaml:"files"`
}

type severitySetting struct {
	off bool
	sev diag.Severity
}

// ConfigError is a configuration file gwc cannot use; commands exit 2.
type ConfigError struct {
	Path string
	Err  error
}

func (e *ConfigError) Error() string { return e.Path + ": " + e.Err.Error() }
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
			return LoadConfig(p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, &ConfigError{p, err}
		}
		if filepath.Dir(d) == d {
			return nil, nil
		}
	}
}

// LoadConfig reads and checks a configuration file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{path, err}
	}
	var c Config
	if strings.TrimSpace(string(data)) != "" { // an empty file is an empty configuration
		if err := yaml.Load(data, &c, yaml.WithKnownFields()); err != nil {
			return nil, &ConfigError{path, err}
		}
	}
	c.Path = path
	if err := c.check(); err != nil {
		return nil, &ConfigError{path, err}
	}
	return &c, nil
}

func (c *Config) check() error {
	c.severities = map[string]severitySetting{}
	for id, v := range c.Rules {
		if v == "off" {
			c.severities[id] = severitySetting{off: true}
			continue
		}
		sev, ok := diag.ParseSeverity(v)
		if !ok {
			return fmt.Errorf("rules: %s: %q is not error, warning, info, hint or off", id, v)
		}
		c.severities[id] = severitySetting{sev: sev}
	}
	for i, ig := range c.Ignore {
		if ig.Rule == "" && ig.Pointer == "" && len(ig.Files) == 0 {
			return fmt.Errorf("ignore[%d]: give a rule, a pointer or files", i)
		}

		if ig.Pointer != "" && !strings.HasPrefix(ig.Pointer, "/") {
			return fmt.Errorf("ignore[%d]: pointer %q is not a JSON pointer (it starts with /)", i, ig.Pointer)
		}
		for _, g := range ig.Files {
			if _, err := filepath.Match(g, ""); err != nil {
				return fmt.Errorf("ignore[%d]: files: %q: %v", i, g, err)
			}
		}
	}
	return nil
}

// CheckRules refuses rule ids the configuration names that are not rules:
// the built-in ones and those of the policies in use (known only once the
// policies the configuration names are loaded, hence apart from LoadConfig).
func (c *Config) CheckRules(rules []*Rule) error {
	if c == nil {
		return nil
	}
	known := map[string]bool{}
	for _, r := range rules {
		known[r.ID] = true
	}
	ids := slices.Sorted(maps.Keys(c.Rules))
	for _, id := range ids {
		if !known[id] {
			return &ConfigError{c.Path, fmt.Errorf("rules: no rule %q%s (gwc rules lists them)", id, suggestRule(id, rules))}
		}
	}
	for i, ig := range c.Ignore {
		if ig.Rule != "" && !known[ig.Rule] {
			return &ConfigError{c.Path, fmt.Errorf("ignore[%d]: no rule %q%s", i, ig.Rule, suggestRule(ig.Rule, rules))}
		}
	}
	return nil
}

// suggestRule is " (did you mean X?)" for the closest rule id, or "".
func suggestRule(id string, rules []*Rule) string {
	best, bestD := "", 4
	for _, r := range rules {
		if d := editDistance(id, r.ID); d < bestD {
			best, bestD = r.ID, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

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

// PolicyDirs are the configuration's policy directories, relative to the
// configuration file.
func (c *Config) PolicyDirs() []string {
	if c == nil {
		return nil
	}
	out := make([]string, len(c.Policies))
	for i, d := range c.Policies {
		if filepath.IsAbs(d) || c.Path == "" {
			out[i] = d
		} else {
			out[i] = filepath.Join(filepath.Dir(c.Path), d)
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
	rel, err := filepath.Rel(filepath.Dir(c.Path), abs)
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
