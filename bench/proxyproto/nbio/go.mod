module github.com/gwcdev/gwc/bench/proxyproto/nbio

go 1.26.8

require github.com/lesismal/nbio v1.6.8

require (
	github.com/lesismal/llib v1.2.2 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
