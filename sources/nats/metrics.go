package nats

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are per source; the registerer is passed in, so tests and
// several sources each get their own.
type metrics struct {
	received     *prometheus.CounterVec // by type
	applied      *prometheus.CounterVec // acked after Lightdash took it
	stale        *prometheus.CounterVec // older than the view, acked and ignored
	naked        *prometheus.CounterVec // Done(err): redelivered later
	poison       *prometheus.CounterVec // by reason
	deadLettered *prometheus.CounterVec // by type
	redelivered  prometheus.Counter     // deliveries after the first
	missed       prometheus.Counter     // deliveries that never arrived
	viewErrors   prometheus.Counter
	// inflightBytes is the payload bytes of the events taken and not yet
	// settled; inflightFull counts the times Watch waited for acks before
	// taking more, since they reached MaxInflightBytes.
	inflightBytes prometheus.Gauge
	inflightFull  prometheus.Counter
	// tombstonesExpired counts deleted groups and users removed from the
	// view after TombstoneRetention.
	tombstonesExpired prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, source string, connected func() float64) (*metrics, error) {
	labels := prometheus.Labels{"source": source}
	counter := func(name, help string, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "lightdash_sync", Subsystem: "nats", Name: name, Help: help, ConstLabels: labels,
		}, []string{label})
	}
	m := &metrics{
		received:     counter("events_received_total", "Events read from the stream, by type (unknown for undecodable ones).", "type"),
		applied:      counter("events_applied_total", "Events acknowledged after their change reached Lightdash, by type.", "type"),
		stale:        counter("events_stale_total", "Events older than the view for their group or user, acknowledged and ignored, by type.", "type"),
		naked:        counter("events_naked_total", "Events negatively acknowledged for redelivery after a failed apply, by type.", "type"),
		poison:       counter("events_poison_total", "Undecodable or invalid events, and events the view refuses, terminated, by reason.", "reason"),
		deadLettered: counter("events_dead_lettered_total", "Events that failed max_deliver times, sent to the dead-letter subject and terminated, by type.", "type"),
		redelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lightdash_sync", Subsystem: "nats", Name: "events_redelivered_total", ConstLabels: labels,
			Help: "Events delivered again: naked after a failed apply, or not acknowledged within ack_wait.",
		}),
		missed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lightdash_sync", Subsystem: "nats", Name: "deliveries_missed_total", ConstLabels: labels,
			Help: "Deliveries the server made that never reached the source (a gap in the consumer sequence); redelivered after ack_wait.",
		}),
		viewErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lightdash_sync", Subsystem: "nats", Name: "view_errors_total", ConstLabels: labels,
			Help: "Failed reads or writes of the materialised view in the key-value bucket.",
		}),
		inflightBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "lightdash_sync", Subsystem: "nats", Name: "inflight_bytes", ConstLabels: labels,
			Help: "Payload bytes of the events taken from the stream and not yet acknowledged.",
		}),
		inflightFull: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lightdash_sync", Subsystem: "nats", Name: "inflight_full_total", ConstLabels: labels,
			Help: "Times fetching paused until acknowledgements freed room under max_inflight_bytes.",
		}),
		tombstonesExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "lightdash_sync", Subsystem: "nats", Name: "tombstones_expired_total", ConstLabels: labels,
			Help: "Deleted groups and users removed from the view after tombstone_retention.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "lightdash_sync", Subsystem: "nats", Name: "connected", ConstLabels: labels,
		Help: "1 when the connection to NATS is up, 0 while it is reconnecting or closed.",
	}, connected)
	for _, c := range []prometheus.Collector{m.received, m.applied, m.stale, m.naked, m.poison, m.deadLettered, m.redelivered, m.missed, m.viewErrors, m.inflightBytes, m.inflightFull, m.tombstonesExpired, gauge} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register nats metrics: %w", err)
		}
	}
	// Known label values start at zero, so rates work from the first event.
	for _, t := range Types {
		for _, v := range []*prometheus.CounterVec{m.received, m.applied, m.stale, m.naked, m.deadLettered} {
			v.WithLabelValues(t.Short())
		}
	}
	for _, k := range poisonReasons {
		m.poison.WithLabelValues(k.Error())
	}
	return m, nil
}
