package main

// Temporary: pins the chosen dependencies in go.mod while the packages that use them are written.
import (
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/go-ldap/ldap/v3"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/robfig/cron/v3"
	_ "go.uber.org/zap"
	_ "golang.org/x/time/rate"
	_ "gopkg.in/yaml.v3"
)
