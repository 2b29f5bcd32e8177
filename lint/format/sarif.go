package format

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strings"

	"github.com/gwcdev/gwc/compiler/diag"
	"github.com/gwcdev/gwc/lint"
)

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/), the subset
// GitHub code scanning reads: the tool's rules with their descriptions, help
// and default level, and one result a finding with its location.

const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
	gwcURI       = "https://github.com/gwcdev/gwc"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	HelpURI              string            `json:"helpUri"`
	Help                 sarifText         `json:"help"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           map[string]string `json:"properties,omitempty"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID           string                 `json:"ruleId"`
	RuleIndex        *int                   `json:"ruleIndex,omitempty"`
	Level            string                 `json:"level"`
	Message          sarifText              `json:"message"`
	Locations        []sarifLocation        `json:"locations"`
	RelatedLocations []sarifRelatedLocation `json:"relatedLocations,omitempty"`

	// PartialFingerprints holds lint.Fingerprint under lint.FingerprintKey,
	// so that code scanning tracks a finding across moved lines.
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifRelatedLocation struct {
	ID               int           `json:"id"`
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
	Message          sarifText     `json:"message"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
	EndLine     int `json:"endLine,omitempty"`
	EndColumn   int `json:"endColumn,omitempty"`
}

// level is SARIF's name for a severity.
func level(s diag.Severity) string {
	switch s {
	case diag.Error:
		return "error"
	case diag.Warning:
		return "warning"
	}
	return "note"
}

// SARIF writes the report as a SARIF 2.1.0 log with one run.
func SARIF(w io.Writer, r *Report) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "gwc", Version: r.Version, InformationURI: gwcURI}},
		Results: []sarifResult{}}
	index := map[string]int{}
	for i, rule := range r.Rules {
		index[rule.ID] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: rule.ID, Name: ruleName(rule.ID),
			ShortDescription:     sarifText{rule.Title},
			FullDescription:      sarifText{rule.Description},
			HelpURI:              rule.HelpURI(),
			Help:                 sarifText{rule.Description + " See " + rule.HelpURI()},
			DefaultConfiguration: sarifRuleConfig{level(rule.Severity)},
			Properties:           map[string]string{"category": rule.Category},
		})
	}
	if run.Tool.Driver.Rules == nil {
		run.Tool.Driver.Rules = []sarifRule{}
	}
	for _, d := range r.Diagnostics {
		res := sarifResult{RuleID: d.Code, Level: level(d.Severity), Message: sarifText{d.Message},
			Locations: []sarifLocation{{PhysicalLocation: physicalRange(d.Pos, d.End)}}}
		res.PartialFingerprints = map[string]string{lint.FingerprintKey: lint.Fingerprint(d)}
		if i, ok := index[d.Code]; ok {
			res.RuleIndex = &i
		}
		for i, rel := range d.Related {
			res.RelatedLocations = append(res.RelatedLocations, sarifRelatedLocation{ID: i + 1,
				PhysicalLocation: physical(rel.Pos), Message: sarifText{rel.Message}})
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

func physical(p diag.Pos) sarifPhysical { return physicalRange(p, diag.Pos{}) }

// physicalRange is a location from p to end (just past the node, as SARIF's
// endColumn is); end may be the zero Pos.
func physicalRange(p, end diag.Pos) sarifPhysical {
	ph := sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri(p.File)}}
	if p.Line > 0 {
		ph.Region = &sarifRegion{StartLine: p.Line, StartColumn: p.Col}
		if end.IsValid() {
			ph.Region.EndLine, ph.Region.EndColumn = end.Line, end.Col
		}
	}
	return ph
}

// uri is a file path as a relative URI reference: forward slashes, each
// segment percent-encoded where URIs need it, so that code scanning finds the
// file in the repository.
func uri(path string) string {
	segs := strings.Split(filepath.ToSlash(path), "/")
	for i, s := range segs {
		segs[i] = escapeSegment(s)
	}
	return strings.Join(segs, "/")
}

func escapeSegment(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// ruleName is the id in UpperCamelCase, SARIF's convention for rule names.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
