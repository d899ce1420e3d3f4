module github.com/ota-gateway/ota-gateway/stubs/examples/go

go 1.26.0

require (
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1
	google.golang.org/grpc v1.85.0
)

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

// The client module itself is not listed here: stubs/tests/test_live_stubs.py adds it the way a
// service does, `go get corp.example/ota-gateway/client@vX.Y.Z` from the company's Go proxy, then
// `go mod tidy`.
