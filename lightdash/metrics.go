package lightdash

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the client's Prometheus collectors. One Metrics may be shared
// by several clients; a nil *Metrics records nothing.
type Metrics struct {
	Requests *prometheus.CounterVec   // lightdash_requests_total{method,endpoint,code}
	Duration *prometheus.HistogramVec // lightdash_request_duration_seconds{method,endpoint}
	Retries  *prometheus.CounterVec   // lightdash_retries_total{method,endpoint,reason}
}

// NewMetrics creates the collectors and registers them on reg (nil: not
// registered, still usable).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_requests_total",
			Help: "HTTP requests sent to Lightdash, by method, endpoint template and status code (\"error\" for transport failures).",
		}, []string{"method", "endpoint", "code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lightdash_request_duration_seconds",
			Help:    "Latency of HTTP requests to Lightdash until response headers, by method and endpoint template.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "endpoint"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lightdash_retries_total",
			Help: "Requests to Lightdash that were retried, by method, endpoint template and reason.",
		}, []string{"method", "endpoint", "reason"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.Requests, m.Duration, m.Retries} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register lightdash metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *Metrics) observe(method, endpoint, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.Requests.WithLabelValues(method, endpoint, code).Inc()
	m.Duration.WithLabelValues(method, endpoint).Observe(d.Seconds())
}

func (m *Metrics) retry(method, endpoint, reason string) {
	if m == nil {
		return
	}
	m.Retries.WithLabelValues(method, endpoint, reason).Inc()
}
