package lightdash_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// TestTLSVerifiedByDefault: a client built without an *http.Client of its
// own refuses a server whose certificate no trusted CA signed, and the
// token is never sent to it. The same server is accepted once its CA is
// trusted, so the refusal is the certificate's doing.
func TestTLSVerifiedByDefault(t *testing.T) {
	sawToken := make(chan struct{}, 10)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Authorization"), hostileToken) {
			sawToken <- struct{}{}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok","results":{"userUuid":"` + userUUID + `","role":"admin"}}`))
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	ts.StartTLS()
	defer ts.Close()

	c := &lightdash.Client{BaseURL: ts.URL, Token: hostileToken, MaxRetries: -1}
	_, err := c.WhoAmI(context.Background())
	if err == nil {
		t.Fatal("WhoAmI against an untrusted certificate succeeded, want a TLS error")
	}
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %q does not name the certificate problem", err)
	}
	if strings.Contains(err.Error(), hostileToken) {
		t.Errorf("error %q contains the token", err)
	}
	var ae *lightdash.APIError
	if errors.As(err, &ae) {
		t.Errorf("error %q is an APIError: the server must not have answered", err)
	}
	select {
	case <-sawToken:
		t.Fatal("the token reached a server with an untrusted certificate")
	default:
	}

	trusted := &lightdash.Client{BaseURL: ts.URL, Token: hostileToken, HTTPClient: ts.Client(), MaxRetries: -1}
	if _, err := trusted.WhoAmI(context.Background()); err != nil {
		t.Fatalf("WhoAmI with the server's CA trusted: %v", err)
	}
}
