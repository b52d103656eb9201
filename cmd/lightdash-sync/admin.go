package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/admin"
	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
)

// adminListener is the admin HTTP listener. It outlives a configuration
// reload: the new generation's handler replaces the old one on the same
// socket, so a reload neither fails on a port still bound nor drops the
// probes.
type adminListener struct {
	log    *zap.Logger
	listen string // admin.listen it serves
	addr   string // the address bound
	srv    *admin.Server
}

// prepare binds cfg's admin.listen when it is not the address served
// (nil when it is, or when the listener is disabled), so that a reload
// learns it cannot bind before it stops anything.
func (l *adminListener) prepare(cfg *config.Config) (net.Listener, error) {
	if cfg.Admin.Listen == "" || (l.srv != nil && cfg.Admin.Listen == l.listen) {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	return ln, nil
}

// serve makes h answer the admin requests: on ln, from prepare, when the
// address changed (the old listener closes), else on the one serving.
func (l *adminListener) serve(cfg *config.Config, ln net.Listener, h http.Handler) {
	if ln == nil && cfg.Admin.Listen == l.listen {
		if l.srv != nil {
			l.srv.SetHandler(h)
		}
		return
	}
	l.close()
	l.listen, l.addr = cfg.Admin.Listen, ""
	if ln == nil {
		return
	}
	srv := &admin.Server{}
	srv.SetHandler(h)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.log.Error("admin listener stopped", zap.Error(err))
		}
	}()
	if !adminLoopback(cfg) {
		l.log.Warn("the admin listener is reachable from other machines; /status and /status.json need admin.token", zap.String("listen", cfg.Admin.Listen))
	}
	l.srv, l.addr = srv, ln.Addr().String()
	l.log.Info("admin listener up", zap.String("addr", l.addr))
}

// close shuts the listener down.
func (l *adminListener) close() {
	if l.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.srv.Shutdown(ctx)
	l.srv = nil
}

func adminLoopback(cfg *config.Config) bool {
	host, _, _ := net.SplitHostPort(cfg.Admin.Listen)
	return config.IsLoopbackHost(host)
}

// adminHandler serves the admin endpoints of this daemon; process holds
// the metrics that outlive it (nil: none).
func (h *daemonHandle) adminHandler(cfg *config.Config, started time.Time, process prometheus.Gatherer) *admin.Handler {
	var g prometheus.Gatherer = h.reg
	if process != nil {
		g = prometheus.Gatherers{process, h.reg}
	}
	a := &admin.Handler{
		Status:        func() admin.Status { return h.status(cfg, started) },
		StatusVersion: h.runs,
		Ready:         func() (bool, string) { return h.ready(cfg) },
		Gatherer:      g,
		Token:         cfg.Admin.Token.Reveal(),
		Loopback:      adminLoopback(cfg),
		Reconcile:     h.requestReconcile,
	}
	if cfg.Admin.Explain {
		a.Explain = h.explain
	}
	return a
}

// runs counts the full reconciliations every unit ended: the status
// pages are rendered again when it changes.
func (h *daemonHandle) runs() uint64 {
	var n uint64
	for _, u := range h.units {
		n += u.d.Runs()
	}
	return n
}
