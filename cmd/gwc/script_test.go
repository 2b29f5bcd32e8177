package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

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
//     unless it exits with CODE, to pin gwc's exit codes.
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
			"exits": cmdExits,
		},
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") != "",
	})
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
