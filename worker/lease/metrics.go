package lease

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are shared by every Elector on one Registerer, one label value
// per unit.
type metrics struct {
	leader  *prometheus.GaugeVec
	elected *prometheus.CounterVec
	lost    *prometheus.CounterVec
	errors  *prometheus.CounterVec
}

// Reasons a term ends, the "reason" label of lightdash_sync_leader_lost_total.
const (
	reasonConflict = "conflict" // someone else wrote the lease
	reasonExpired  = "expired"  // no renewal completed before the cutoff
	reasonReleased = "released" // shutdown, or onElected returned
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		leader: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lightdash_sync_leader",
			Help: "1 while this replica holds the unit's lease and may write."}, []string{"unit"}),
		elected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lightdash_sync_leader_elected_total",
			Help: "Times this replica became leader of the unit."}, []string{"unit"}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lightdash_sync_leader_lost_total",
			Help: "Times this replica stopped leading the unit, by reason (conflict, expired, released)."}, []string{"unit", "reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lightdash_sync_leader_errors_total",
			Help: "NATS errors while campaigning for or renewing the unit's lease."}, []string{"unit"}),
	}
	if reg == nil {
		return m, nil
	}
	// Several units share one registry: reuse what the first one registered.
	var err error
	m.leader, err = register(reg, m.leader)
	if err != nil {
		return nil, err
	}
	if m.elected, err = register(reg, m.elected); err != nil {
		return nil, err
	}
	if m.lost, err = register(reg, m.lost); err != nil {
		return nil, err
	}
	if m.errors, err = register(reg, m.errors); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, err
}
