// Package deploytest is the test suite of the deployment files under
// deploy/ (Dockerfile, Kubernetes manifests, systemd units, compose file,
// Grafana dashboard, Prometheus alerts): it checks them against the binary
// they deploy, its subcommands and flags, its configuration schema, the
// metrics it registers. It holds nothing but tests (every other file is a
// _test.go file) and runs in `go test ./...`, so an artefact that drifts
// from the code fails CI instead of failing in someone's cluster.
//
// It lives under cmd/ because cmd/internal/config, the configuration
// loader every example must pass, is internal to cmd/.
//
// Each Check function reads files from a deploy directory and returns the
// first problem found; the tests run them on the real directory and on
// copies with one thing broken, to show each check can fail.
package deploytest
