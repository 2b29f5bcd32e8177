// Package docs holds gwc's published reference files that the binary needs at
// run time, embedded so that gwc works without them on disk.
package docs

import _ "embed"

// XGatewaySchema is the JSON Schema (2020-12) of the x-gateway extension,
// x-gateway.schema.json: the compiler validates every x-gateway with it, and
// editors use the same file through yaml-language-server.
//
//go:embed x-gateway.schema.json
var XGatewaySchema []byte
