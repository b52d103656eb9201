package worker

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// metrics are registered on the Registerer given to New (none when nil).
type metrics struct {
	planItems *prometheus.GaugeVec
	unmatched prometheus.Gauge
	invalid   *prometheus.GaugeVec
	heldBack  *prometheus.GaugeVec
	duration  prometheus.Histogram
	runs      *prometheus.CounterVec
	failures  *prometheus.CounterVec
	// unmatchedUsers is who the unmatched gauge counts.
	unmatchedUsers unmatchedSet
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		planItems: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lightdash_sync_plan_items",
			Help: "Items in the last computed plan, by kind."}, []string{"kind"}),
		unmatched: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lightdash_sync_unmatched_users",
			Help: "Directory users with no usable Lightdash account in the last plan."}),
		invalid: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lightdash_sync_invalid_identities",
			Help: "Directory users with a refused (not plain ASCII) email, and groups with a refused Lightdash name, in the last plan."}, []string{"kind"}),
		heldBack: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lightdash_sync_held_back",
			Help: "Deletions and member removals held back by safety rules in the last plan."}, []string{"kind"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "lightdash_sync_reconcile_duration_seconds",
			Help: "Duration of reconciliation runs.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lightdash_sync_reconcile_total",
			Help: "Reconciliation runs by result (success, blocked, failed, incomplete, error)."}, []string{"result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lightdash_sync_apply_failures_total",
			Help: "Lightdash changes that failed, by operation."}, []string{"op"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.planItems, m.unmatched, m.invalid, m.heldBack, m.duration, m.runs, m.failures} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) observePlan(p *Plan) {
	m.planItems.WithLabelValues("create").Set(float64(len(p.Creates)))
	m.planItems.WithLabelValues("update").Set(float64(len(p.Updates)))
	m.planItems.WithLabelValues("delete").Set(float64(len(p.Deletes)))
	m.planItems.WithLabelValues("invite").Set(float64(len(p.Invites)))
	m.planItems.WithLabelValues("conflict").Set(float64(len(p.Conflicts)))
	m.planItems.WithLabelValues("problem").Set(float64(len(p.Problems)))
	m.unmatched.Set(float64(m.unmatchedUsers.reset(p)))
	emails, names := countInvalid(p)
	m.invalid.WithLabelValues("email").Set(float64(emails))
	m.invalid.WithLabelValues("name").Set(float64(names))
	var dels, rems int
	for _, h := range p.HeldBack {
		if h.Kind == "delete" {
			dels++
		} else {
			rems += len(h.Members)
		}
	}
	m.heldBack.WithLabelValues("delete").Set(float64(dels))
	m.heldBack.WithLabelValues("remove-members").Set(float64(rems))
}

// failed records a run that ended in err before it applied anything:
// "incomplete" when a Lightdash list could not be read whole, else "error".
func (m *metrics) failed(err error, d time.Duration) {
	if errors.Is(err, lightdash.ErrIncompleteList) {
		m.result("incomplete", d)
		return
	}
	m.result("error", d)
}

func (m *metrics) result(result string, d time.Duration) {
	m.runs.WithLabelValues(result).Inc()
	m.duration.Observe(d.Seconds())
}

// observeEventPlan keeps the unmatched gauge current between full runs
// (the other gauges describe full runs only).
func (m *metrics) observeEventPlan(snaps []*sources.Snapshot, d *Desired, p *Plan) {
	m.unmatched.Set(float64(m.unmatchedUsers.update(snaps, d, p)))
}
