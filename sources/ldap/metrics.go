package ldap

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are shared by every LDAP source registered on one registry and
// told apart by the "source" label.
type metrics struct {
	connected *prometheus.GaugeVec
	searches  *prometheus.CounterVec
	entries   *prometheus.CounterVec
	changes   *prometheus.CounterVec
	reconnect *prometheus.CounterVec
	shared    *prometheus.CounterVec
	snapshots *prometheus.CounterVec
	// groupReads counts ReadGroups by where the answer came from.
	groupReads *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lightdash_sync_ldap_connected",
			Help: "1 while the change watcher holds a working LDAP connection, else 0.",
		}, []string{"source"}),
		searches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_ldap_searches_total",
			Help: "LDAP searches by kind (users, groups, members, poll, dirsync) and result (ok, incomplete, error).",
		}, []string{"source", "kind", "result"}),
		entries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_ldap_entries_read_total",
			Help: "Directory entries read, by kind.",
		}, []string{"source", "kind"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_ldap_changes_total",
			Help: "Changes reported to the worker, by watch mode.",
		}, []string{"source", "mode"}),
		reconnect: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_ldap_reconnects_total",
			Help: "Times the change watcher lost its connection and reconnected.",
		}, []string{"source"}),
		shared: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_ldap_shared_snapshots_total",
			Help: "Full reads served from the change watcher's own start-up read of the directory instead of a second read.",
		}, []string{"source"}),
		snapshots: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_ldap_snapshots_total",
			Help: "Snapshots of the directory by how they were made: read (full) or built from the syncrepl or DirSync watcher's state (watcher).",
		}, []string{"source", "read"}),
		groupReads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_ldap_group_reads_total",
			Help: "Reads of changed groups (live changes), by where they were answered from: the syncrepl or DirSync watcher's state (watcher) or searches of the directory (directory).",
		}, []string{"source", "from"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.connected, err = register(reg, m.connected)
	if err == nil {
		m.searches, err = register(reg, m.searches)
	}
	if err == nil {
		m.entries, err = register(reg, m.entries)
	}
	if err == nil {
		m.changes, err = register(reg, m.changes)
	}
	if err == nil {
		m.reconnect, err = register(reg, m.reconnect)
	}
	if err == nil {
		m.shared, err = register(reg, m.shared)
	}
	if err == nil {
		m.snapshots, err = register(reg, m.snapshots)
	}
	if err == nil {
		m.groupReads, err = register(reg, m.groupReads)
	}
	return m, err
}

// register returns the already registered collector when a second source
// registers the same metric.
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
