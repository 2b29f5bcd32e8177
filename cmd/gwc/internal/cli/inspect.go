package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gwcdev/gwc/cmd/gwc/internal/iostreams"
	"github.com/gwcdev/gwc/runtime/bundle"
)

// InspectOptions is everything `gwc inspect` needs.
type InspectOptions struct {
	IO   *iostreams.IOStreams
	File string
	// Routes prints the routing table, JSON the whole bundle.
	Routes, JSON bool
	// VerifyKey is a PEM ed25519 public key the bundle must be signed with.
	VerifyKey string
}

// NewCmdInspect returns the inspect command.
func NewCmdInspect(ios *iostreams.IOStreams, runF func(context.Context, *InspectOptions) error) *cobra.Command {
	opts := &InspectOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "inspect BUNDLE",
		Short: "Show what a bundle contains",
		Long: `Read a bundle, check its integrity (and its signature with --verify-key), and
print a summary: the API, the bundle's format, gwc version and digest, and its
operations and upstreams. --routes prints the routing table, one route a line
as METHOD PATH operationId; --json prints the header and the whole bundle.

A bundle that is corrupt, from a newer gwc, or not a bundle at all exits 1.`,
		Example: `  gwc inspect api.gwb
  gwc inspect --routes api.gwb | grep ^POST
  gwc inspect --json api.gwb | jq '.bundle.operations | length'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.Routes && opts.JSON {
				return UsageErrorf("--routes and --json cannot be used together")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return inspectRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Routes, "routes", false, "print the routing table: METHOD PATH operationId, one a line")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the header and the whole bundle as JSON")
	cmd.Flags().StringVar(&opts.VerifyKey, "verify-key", "", "refuse the bundle unless signed with this ed25519 public key (PEM)")
	return cmd
}

func inspectRun(opts *InspectOptions) error {
	var key ed25519.PublicKey
	if opts.VerifyKey != "" {
		k, err := bundle.LoadPublicKey(opts.VerifyKey)
		if err != nil {
			return IOError(err)
		}
		key = k
	}
	data, err := os.ReadFile(opts.File)
	if err != nil {
		return IOError(err)
	}
	b, h, err := bundle.Decode(data, bundle.DecodeOptions{VerifyKey: key})
	if err != nil {
		// The file was read: what is wrong is its content.
		return &ExitError{Code: ExitFindings, Err: fmt.Errorf("%s: %w", opts.File, err)}
	}
	switch {
	case opts.JSON:
		return IOError(inspectJSON(opts.IO.Out, b, h))
	case opts.Routes:
		return IOError(inspectRoutes(opts.IO.Out, b))
	default:
		return IOError(inspectSummary(opts.IO.Out, opts.File, len(data), b, h))
	}
}

func inspectRoutes(w io.Writer, b *bundle.Bundle) error {
	var sb strings.Builder
	for _, r := range b.Routes {
		fmt.Fprintf(&sb, "%s %s %s\n", r.Method, r.Path, b.Operations[r.Operation].ID)
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// headerJSON is the header as --json shows it.
type headerJSON struct {
	Format      string `json:"format"`
	GWCVersion  string `json:"gwcVersion"`
	Encoding    string `json:"encoding"`
	PayloadSize int64  `json:"payloadSize"`
	ContentSize int64  `json:"contentSize"`
	Digest      string `json:"digest"`
	Signed      bool   `json:"signed"`
	Verified    bool   `json:"verified"`
}

func inspectJSON(w io.Writer, b *bundle.Bundle, h *bundle.Header) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Header headerJSON     `json:"header"`
		Bundle *bundle.Bundle `json:"bundle"`
	}{
		Header: headerJSON{
			Format:      fmt.Sprintf("%d.%d", h.FormatMajor, h.FormatMinor),
			GWCVersion:  h.GWCVersion,
			Encoding:    h.Encoding,
			PayloadSize: h.PayloadSize,
			ContentSize: h.ContentSize,
			Digest:      "sha256:" + hex.EncodeToString(h.Digest[:]),
			Signed:      h.Signed,
			Verified:    h.Verified,
		},
		Bundle: b,
	})
}

func inspectSummary(w io.Writer, file string, size int, b *bundle.Bundle, h *bundle.Header) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("API", fmt.Sprintf("%s %s (OpenAPI %s, %s)", b.API.Title, b.API.Version, b.API.OpenAPI, plural(len(b.API.Files), "file")))
	built := ""
	if b.API.BuiltAt != "" {
		built = ", built " + b.API.BuiltAt
	}
	row("Bundle", fmt.Sprintf("%s, %s, format %d.%d, gwc %s%s", file, byteSize(size), h.FormatMajor, h.FormatMinor, h.GWCVersion, built))
	sig := "unsigned"
	switch {
	case h.Verified:
		sig = "signed, signature verified"
	case h.Signed:
		sig = "signed (not verified: pass --verify-key)"
	}
	row("Digest", fmt.Sprintf("sha256:%x (%s)", h.Digest, sig))

	var mocks, secured, limited, cached, cors, authorized, transformed, ipRuled int
	for _, op := range b.Operations {
		if op.Policy.CORS != nil {
			cors++
		}
		if op.Policy.Authorizer != "" {
			authorized++
		}
		if op.Policy.Headers != nil {
			transformed++
		}
		if op.Policy.IP != nil {
			ipRuled++
		}
		if op.Policy.Mock {
			mocks++
		}
		if len(op.Security) > 0 {
			secured++
		}
		if op.Policy.RateLimit != nil {
			limited++
		}
		if op.Policy.Cache != nil {
			cached++
		}
	}
	row("Operations", fmt.Sprintf("%d: %d proxied, %d mocked; %d secured, %d rate limited, %d cached",
		len(b.Operations), len(b.Operations)-mocks, mocks, secured, limited, cached))
	if cors+authorized+transformed+ipRuled > 0 {
		row("", fmt.Sprintf("%d with CORS, %d with an authorizer, %d with header transforms, %d with IP rules",
			cors, authorized, transformed, ipRuled))
	}
	if b.Webhooks > 0 {
		row("Webhooks", fmt.Sprintf("%d (declared, not routed)", b.Webhooks))
	}
	if len(b.Upstreams) == 0 {
		row("Upstreams", "none")
	}
	for i, u := range b.Upstreams {
		k := ""
		if i == 0 {
			k = "Upstreams"
		}
		targets := make([]string, len(u.Targets))
		for j, t := range u.Targets {
			targets[j] = t.URL
		}
		row(k, fmt.Sprintf("%s → %s", u.Name, strings.Join(targets, ", ")))
	}
	for i, sc := range b.SecuritySchemes {
		k := ""
		if i == 0 {
			k = "Security"
		}
		row(k, sc.Name+": "+schemeSummary(&sc))
	}
	for i, a := range b.Authorizers {
		k := ""
		if i == 0 {
			k = "Authorizers"
		}
		onErr := a.OnError
		if onErr == "" {
			onErr = "deny"
		}
		row(k, fmt.Sprintf("%s → %s (on error: %s)", a.Name, a.URL, onErr))
	}
	if b.Store != nil && b.Store.Redis != nil {
		onErr := b.Store.Redis.OnError
		if onErr == "" {
			onErr = "open"
		}
		row("Store", fmt.Sprintf("redis %s (rate limits on error: %s)", b.Store.Redis.URL, onErr))
	}
	if len(b.RateLimits) > 0 {
		names := make([]string, len(b.RateLimits))
		for i, rl := range b.RateLimits {
			names[i] = fmt.Sprintf("%s (%d per %s)", rl.Name, rl.Requests, rl.Per)
		}
		row("Rate limits", strings.Join(names, ", "))
	}
	row("Schemas", fmt.Sprintf("%d shared definitions", len(b.Defs)))
	return tw.Flush()
}

// schemeSummary says what a security scheme is and what gwc serve checks it
// with.
func schemeSummary(sc *bundle.SecurityScheme) string {
	switch {
	case sc.Type == "apiKey":
		with := "no keys configured: not checked"
		if sc.Keys != "" {
			with = "keys " + string(sc.Keys)
		}
		return fmt.Sprintf("apiKey in %s %s, %s", sc.In, sc.ParamName, with)
	case sc.Type == "http" && sc.Scheme == "basic":
		with := "no htpasswd configured: not checked"
		if sc.Htpasswd != "" {
			with = "htpasswd " + string(sc.Htpasswd)
		}
		return "http basic, " + with
	case sc.Type == "mutualTLS":
		return "mutualTLS, checked when gwc serve has --tls-client-ca"
	}
	kind := sc.Type
	if sc.Type == "http" {
		kind = "http " + sc.Scheme
	}
	var parts []string
	switch {
	case sc.JWKSURL != "":
		parts = append(parts, "JWKS "+sc.JWKSURL)
	case sc.OpenIDConnectURL != "":
		parts = append(parts, "discovery "+sc.OpenIDConnectURL)
	default:
		return kind + ", no jwks_url: not checked"
	}
	if sc.Issuer != "" {
		parts = append(parts, "issuer "+sc.Issuer)
	}
	if len(sc.Audiences) > 0 {
		parts = append(parts, "audiences "+strings.Join(sc.Audiences, " "))
	}
	if len(sc.Algorithms) > 0 {
		parts = append(parts, "algorithms "+strings.Join(sc.Algorithms, " "))
	}
	return kind + " (JWT), " + strings.Join(parts, ", ")
}
