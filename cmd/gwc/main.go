// Command gwc compiles OpenAPI specs with their x-gateway extension into
// gateway bundles, lints them, and serves the bundles.
package main

import (
	"os"

	"github.com/gwcdev/gwc/cmd/gwc/internal/cli"
)

func main() { os.Exit(cli.Main()) }
