package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gwcdev/gwc/cmd/gwc/internal/cli"
)

// TestMain lets the test binary stand in for gwc: scripts that `exec gwc` run
// this binary again with cli.Main, so they test the code in this tree without
// a separate go build.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"gwc": func() { os.Exit(cli.Main()) },
	})
}

// TestScripts runs testdata/script/*.txtar. Set UPDATE_SCRIPTS=1 to rewrite
// the files that `cmp` compares against with gwc's current output.
//
// Scripts see:
//   - $REPO, the module root, to use the project's own files
//     (exec gwc build $REPO/examples/petstore.yaml -o petstore.gwb);
//   - `exits CODE PROGRAM [ARGS...]`, which runs PROGRAM like exec and fails
//     unless it exits with CODE, to pin gwc's exit codes;
//   - `redis NAME`, a redis-server on a free loopback port ($NAME is its
//     redis:// URL), stopped when the script ends; `redis -stop NAME` stops
//     it earlier and `redis -start NAME` starts it again on the same port;
//   - `opa NAME FILE.rego`, OPA's data API on 127.0.0.1 ($NAME is its URL):
//     POST /v1/data/a/b with {"input": …} answers {"result": data.a.b},
//     evaluated by OPA's rego package with the policy in FILE;
//   - `issuer NAME`, a JWKS server on 127.0.0.1 ($NAME is its URL, the key
//     set at $NAME/jwks), and `token VAR NAME CLAIMS`, which sets $VAR to a
//     token NAME signs (RS256) with the JSON CLAIMS; "exp": "+1h" is an hour
//     from now.
func TestScripts(t *testing.T) {
	repo, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			// Colour depends on the terminal; scripts compare plain text.
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":    cmdExits,
			"freeport": cmdFreeport,
			"http":     cmdHTTP,
			"issuer":   cmdIssuer,
			"opa":      cmdOPA,
			"redis":    cmdRedis,
			"token":    cmdToken,
			"subst":    cmdSubst,
			"upstream": cmdUpstream,
		},
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") != "",
	})
}

// cmdFreeport implements `freeport NAME...`: it sets each environment
// variable NAME to a TCP port free on 127.0.0.1, for `gwc serve --listen`.
func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: freeport NAME...")
	}
	for _, name := range args {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			ts.Fatalf("freeport: %v", err)
		}
		ts.Setenv(name, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		ln.Close()
	}
}

// cmdSubst implements `subst FILE...`: it replaces $NAME and ${NAME} in
// each file with the script's environment variables, so that a spec can
// name the address of an `upstream`.
func cmdSubst(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: subst FILE...")
	}
	for _, f := range args {
		data, err := os.ReadFile(ts.MkAbs(f))
		if err != nil {
			ts.Fatalf("subst: %v", err)
		}
		if err := os.WriteFile(ts.MkAbs(f), []byte(os.Expand(string(data), ts.Getenv)), 0o644); err != nil {
			ts.Fatalf("subst: %v", err)
		}
	}
}

// cmdHTTP implements `http [-H 'Name: value']... [-d BODY | -e BODY]
// [-until REGEXP] METHOD URL`: it sends one request (-e: a body with Go
// escapes such as \r\n), retrying for up to 10 s while nothing
// listens (a server started in the background may still be starting), and
// writes the answer to stdout as "HTTP STATUS", the header lines sorted, a
// blank line and the body, so that scripts match it with stdout. With
// -until it sends the request again until the answer matches REGEXP (a
// reload taking effect), for up to 10 s.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! http; match the status instead")
	}
	var hdr [][2]string
	var body io.Reader
	var until *regexp.Regexp
	for len(args) > 2 {
		switch args[0] {
		case "-H":
			k, v, ok := strings.Cut(args[1], ":")
			if !ok {
				ts.Fatalf("http: -H %q is not Name: value", args[1])
			}
			hdr = append(hdr, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		case "-d":
			body = strings.NewReader(args[1])
		case "-e":
			// A body with Go escapes (\r\n), for multipart.
			u, err := strconv.Unquote(`"` + strings.ReplaceAll(args[1], `"`, `\"`) + `"`)
			if err != nil {
				ts.Fatalf("http: -e %q: %v", args[1], err)
			}
			body = strings.NewReader(u)
		case "-until":
			until = regexp.MustCompile(args[1])
		default:
			ts.Fatalf("http: unknown option %q", args[0])
		}
		args = args[2:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: http [-H 'Name: value']... [-d BODY | -e BODY] [-until REGEXP] METHOD URL")
	}
	var data []byte
	if body != nil {
		data, _ = io.ReadAll(body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequest(args[0], args[1], bytes.NewReader(data))
		if err != nil {
			ts.Fatalf("http: %v", err)
		}
		if data == nil {
			req.Body = nil
		}
		for _, kv := range hdr {
			if strings.EqualFold(kv[0], "Host") {
				req.Host = kv[1]
				continue
			}
			req.Header.Add(kv[0], kv[1])
		}
		resp, err := scriptClient.Do(req)
		if err != nil {
			if time.Now().Before(deadline) && errors.Is(err, syscall.ECONNREFUSED) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			ts.Fatalf("http: %v", err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			ts.Fatalf("http: reading the body: %v", err)
		}
		var out strings.Builder
		fmt.Fprintf(&out, "HTTP %d\n", resp.StatusCode)
		var lines []string
		for k, vs := range resp.Header {
			for _, v := range vs {
				lines = append(lines, k+": "+v)
			}
		}
		sort.Strings(lines)
		out.WriteString(strings.Join(lines, "\n"))
		out.WriteString("\n\n")
		out.Write(b)
		if until != nil && !until.MatchString(out.String()) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		ts.Stdout().Write([]byte(out.String())) //nolint:errcheck
		return
	}
}

var scriptClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// cmdUpstream implements `upstream NAME`: it starts an HTTP server on
// 127.0.0.1 for the rest of the script and sets $NAME to its URL. It
// answers every request with a JSON echo of what it received: method, URI,
// Host, the X-Forwarded-* headers and the body.
func cmdUpstream(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: upstream NAME")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{ //nolint:errcheck
			"method": r.Method, "uri": r.RequestURI, "host": r.Host, "body": string(b),
			"xff": r.Header.Get("X-Forwarded-For"), "request_id": r.Header.Get("X-Request-Id"),
			"x_api_key": r.Header.Get("X-API-Key"), "authorization": r.Header.Get("Authorization"),
		})
	}))
	ts.Defer(srv.Close)
	ts.Setenv(args[0], srv.URL)
}

// cmdExits implements `exits CODE PROGRAM [ARGS...]`.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exits; give the exit code expected")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: exit code %q is not a number", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			ts.Fatalf("exits: running %q: %v", args[1], err)
		}
		got = exit.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// moduleRoot returns the directory holding go.mod, from the package's
// directory upwards.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %q", dir)
		}
	}
}

// issuers are the signing keys of the scripts' `issuer` servers, by URL.
var issuers sync.Map // URL → *rsa.PrivateKey

// cmdIssuer implements `issuer NAME`.
func cmdIssuer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: issuer NAME")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		ts.Fatalf("issuer: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "script-key", Use: "sig"}}}) //nolint:errcheck
	}))
	ts.Defer(srv.Close)
	issuers.Store(srv.URL, key)
	ts.Setenv(args[0], srv.URL)
}

// cmdToken implements `token VAR NAME CLAIMS`.
func cmdToken(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: token VAR NAME CLAIMS")
	}
	k, ok := issuers.Load(ts.Getenv(args[1]))
	if !ok {
		ts.Fatalf("token: no issuer %s", args[1])
	}
	var claims map[string]any
	if err := json.Unmarshal([]byte(args[2]), &claims); err != nil {
		ts.Fatalf("token: claims: %v", err)
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		if rel, isStr := claims[name].(string); isStr {
			d, err := time.ParseDuration(rel)
			if err != nil {
				ts.Fatalf("token: %s: %v", name, err)
			}
			claims[name] = time.Now().Add(d).Unix()
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, (&jose.SignerOptions{}).WithHeader("kid", "script-key"))
	if err != nil {
		ts.Fatalf("token: %v", err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		ts.Fatalf("token: %v", err)
	}
	ts.Setenv(args[0], tok)
}

// redisServers are the scripts' redis-servers, by URL.
var redisServers sync.Map // URL → *exec.Cmd

// cmdRedis implements `redis [-stop|-start] NAME`.
func cmdRedis(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: redis [-stop|-start] NAME")
	}
	op, name := "", args[0]
	if len(args) == 2 {
		op, name = args[0], args[1]
	}
	start := func(port string) *exec.Cmd {
		cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", ts.Getenv("WORK"))
		if err := cmd.Start(); err != nil {
			ts.Fatalf("redis: %v", err)
		}
		for range 500 {
			if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
				c.Close()
				return cmd
			}
			time.Sleep(10 * time.Millisecond)
		}
		ts.Fatalf("redis: redis-server did not listen on %s", port)
		return nil
	}
	switch op {
	case "":
		if _, err := exec.LookPath("redis-server"); err != nil {
			ts.Fatalf("redis-server is not installed: scripts/test.sh installs Debian's redis-server (apt-get install redis-server)")
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			ts.Fatalf("redis: %v", err)
		}
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
		url := "redis://127.0.0.1:" + port + "/0"
		redisServers.Store(url, start(port))
		ts.Setenv(name, url)
		ts.Defer(func() {
			if c, ok := redisServers.LoadAndDelete(url); ok && c.(*exec.Cmd) != nil {
				c.(*exec.Cmd).Process.Kill() //nolint:errcheck
				c.(*exec.Cmd).Wait()         //nolint:errcheck
			}
		})
	case "-stop":
		url := ts.Getenv(name)
		if c, ok := redisServers.Load(url); ok && c.(*exec.Cmd) != nil {
			c.(*exec.Cmd).Process.Kill() //nolint:errcheck
			c.(*exec.Cmd).Wait()         //nolint:errcheck
			redisServers.Store(url, (*exec.Cmd)(nil))
		}
	case "-start":
		url := ts.Getenv(name)
		port := url[strings.LastIndexByte(url, ':')+1 : strings.LastIndexByte(url, '/')]
		redisServers.Store(url, start(port))
	default:
		ts.Fatalf("usage: redis [-stop|-start] NAME")
	}
}

// cmdOPA implements `opa NAME FILE.rego`.
func cmdOPA(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: opa NAME FILE.rego")
	}
	src := ts.ReadFile(args[1])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := strings.CutPrefix(r.URL.Path, "/v1/data/")
		if !ok || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var body struct {
			Input any `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rs, err := rego.New(rego.Query("data."+strings.ReplaceAll(path, "/", ".")), rego.Module(args[1], src),
			rego.Input(body.Input)).Eval(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out := map[string]any{}
		if len(rs) > 0 && len(rs[0].Expressions) > 0 {
			out["result"] = rs[0].Expressions[0].Value // an undefined document has no result, as in OPA
		}
		json.NewEncoder(w).Encode(out) //nolint:errcheck
	}))
	ts.Defer(srv.Close)
	ts.Setenv(args[0], srv.URL)
}
