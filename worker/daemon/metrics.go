package daemon

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	received      *prometheus.CounterVec
	groupWork     *prometheus.CounterVec
	eventLatency  prometheus.Histogram
	watchRestarts *prometheus.CounterVec
	runs          *prometheus.CounterVec
	duration      prometheus.Histogram // lightdash_sync_full_reconcile_duration_seconds
	lastSuccess   prometheus.Gauge
	skipped       prometheus.Counter
	drift         prometheus.Counter
	dirReads      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, d *Daemon) (*metrics, error) {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_events_received_total", Help: "Change events received from watchers, by source.",
		}, []string{"source"}),
		groupWork: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_group_reconciles_total", Help: "Groups reconciled because of events, by source and result (ok, failed).",
		}, []string{"source", "result"}),
		eventLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lightdash_sync_event_to_apply_seconds", Help: "Time from a group's first pending change to the end of its reconciliation.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		watchRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_watch_restarts_total", Help: "Watchers restarted after stopping with an error, by source.",
		}, []string{"source"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_reconcile_runs_total", Help: "Full reconciliations, by trigger (start-up, schedule, request) and result (ok, blocked, failed, error).",
		}, []string{"trigger", "result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lightdash_sync_full_reconcile_duration_seconds", Help: "Duration of full reconciliations run by the daemon, failed ones included.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lightdash_sync_last_success_timestamp_seconds", Help: "Unix time of the last full reconciliation that completed (ok or blocked).",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lightdash_sync_reconcile_skipped_total", Help: "Scheduled full reconciliations skipped because the previous one was still running.",
		}),
		drift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lightdash_sync_drift_changes_total", Help: "Changes a scheduled or requested full reconciliation had to make: events that were missed or manual edits in Lightdash. Group deletions, which always wait for a full read, are not counted.",
		}),
		dirReads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_sync_full_reconcile_directory_reads_total", Help: "How full reconciliations got each source's directory: read in full (full) or from its change watcher's state (watcher).",
		}, []string{"source", "directory_read"}),
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.received, m.groupWork, m.eventLatency, m.watchRestarts, m.runs, m.duration, m.lastSuccess, m.skipped, m.drift, m.dirReads,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lightdash_sync_queue_pending", Help: "Groups waiting in the work queue."}, func() float64 { return float64(d.queue().Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lightdash_sync_queue_in_flight", Help: "Groups being reconciled."}, func() float64 { return float64(d.queue().InFlight()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lightdash_sync_debounce_merges_total", Help: "Changes merged into an already pending group."}, func() float64 { return float64(d.queue().Merges()) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
