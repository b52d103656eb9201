package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/internal/redact"
)

// tlsConfig builds the client TLS configuration for one server URL.
func (s *Source) tlsConfig(rawURL string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.cfg.InsecureSkipVerify} //nolint:gosec // explicit, logged option
	if s.cfg.ServerName != "" {
		cfg.ServerName = s.cfg.ServerName
	} else if u, err := url.Parse(rawURL); err == nil {
		cfg.ServerName = u.Hostname()
	}
	if s.cfg.CAFile != "" {
		pem, err := os.ReadFile(s.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile %s: no PEM certificates found", s.cfg.CAFile)
		}
		cfg.RootCAs = pool
	}
	if s.cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// dial connects to the first server that answers and binds. opTimeout
// false leaves the request timeout unset, as the syncrepl connection needs
// (go-ldap drops unread packets of a long-running search on timeout).
func (s *Source) dial(ctx context.Context, opTimeout bool) (*goldap.Conn, error) {
	var errs []error
	for _, u := range s.cfg.URLs {
		c, err := s.dialOne(ctx, u, opTimeout)
		if err == nil {
			return c, nil
		}
		err = redact.Error(err, u)
		s.log.Warn("ldap server unavailable", zap.String("url", redact.URL(u)), zap.Error(err))
		errs = append(errs, fmt.Errorf("%s: %w", redact.URL(u), err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("connect to ldap: %w", errors.Join(errs...))
}

func (s *Source) dialOne(ctx context.Context, u string, opTimeout bool) (*goldap.Conn, error) {
	tc, err := s.tlsConfig(u)
	if err != nil {
		return nil, err
	}
	if s.cfg.InsecureSkipVerify {
		s.log.Warn("ldap TLS certificate verification is OFF (insecureSkipVerify)", zap.String("url", redact.URL(u)))
	}
	dialer := &net.Dialer{Timeout: s.cfg.ConnectTimeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	c, err := goldap.DialURL(u, goldap.DialWithDialer(dialer), goldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetTimeout(s.cfg.ConnectTimeout)
	if s.cfg.StartTLS {
		if err := c.StartTLS(tc); err != nil {
			c.Close()
			return nil, fmt.Errorf("starttls: %w", err)
		}
	}
	if s.cfg.BindDN != "" {
		if err := c.Bind(s.cfg.BindDN, s.cfg.BindPassword); err != nil {
			c.Close()
			return nil, fmt.Errorf("bind as %q: %w%s", s.cfg.BindDN, err, bindHint(u, s.cfg.StartTLS, err))
		}
	}
	if opTimeout {
		c.SetTimeout(s.cfg.Timeout)
	} else {
		c.SetTimeout(0)
	}
	if ctx.Err() != nil {
		c.Close()
		return nil, ctx.Err()
	}
	return c, nil
}

// bindHint says what to change when a server refuses a simple bind over
// an unencrypted connection, as Active Directory (Samba: "ldap server
// require strong auth") and 389-DS (nsslapd-require-secure-binds) do by
// default or by policy.
func bindHint(u string, startTLS bool, err error) string {
	encrypted := startTLS || strings.HasPrefix(strings.ToLower(u), "ldaps:") || strings.HasPrefix(strings.ToLower(u), "ldapi:")
	if encrypted || !(goldap.IsErrorWithCode(err, goldap.LDAPResultStrongAuthRequired) ||
		goldap.IsErrorWithCode(err, goldap.LDAPResultConfidentialityRequired)) {
		return ""
	}
	return " (the server refuses a simple bind over an unencrypted connection: use an ldaps:// URL, " +
		"or set start_tls: true, with ca_file naming the CA of the server's certificate)"
}
