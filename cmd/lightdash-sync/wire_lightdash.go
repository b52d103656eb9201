package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// newLightdash builds the Lightdash client from the configuration.
func newLightdash(c config.Lightdash, log *zap.Logger, reg prometheus.Registerer) (*lightdash.Client, error) {
	tlsCfg, err := tlsConfig(c.CAFile, c.InsecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("lightdash: %w", err)
	}
	if c.InsecureSkipVerify {
		log.Warn("lightdash TLS certificate verification is OFF (lightdash.insecure_skip_verify); the token can be intercepted")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = 16
	client := &lightdash.Client{
		BaseURL:    c.URL,
		Token:      c.Token.Reveal(),
		HTTPClient: &http.Client{Transport: tr},
		Timeout:    c.Timeout,
		RateLimit:  c.RateLimit,
		Burst:      c.Burst,
		MaxRetries: c.MaxRetries,
		Logger:     log.Named("lightdash"),
		UserAgent:  "lightdash-sync/" + versionString(),
		// The sync reads only the member uuids of a group; skipping the
		// per-member summaries keeps the groups list at a third of the
		// memory at 500k memberships (lightdash BenchmarkListGroupsScale).
		MemberUUIDsOnly: true,
		// Nothing plans with the users' names either.
		SkipUserNames: true,
	}
	if c.MaxRetries == 0 {
		client.MaxRetries = -1 // zero in the config means never retry
	}
	if reg != nil {
		m, err := lightdash.NewMetrics(reg)
		if err != nil {
			return nil, fmt.Errorf("lightdash client: %w", err)
		}
		client.Metrics = m
	}
	if err := client.Validate(); err != nil {
		return nil, err
	}
	return client, nil
}

// tlsConfig builds a TLS client configuration with an optional extra CA.
func tlsConfig(caFile string, insecure bool) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // an explicit, logged choice
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

func versionString() string {
	v, _ := buildVersion()
	return v
}
