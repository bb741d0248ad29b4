package docsync

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus collectors. No metric carries a document name or a
// principal as a label, so /metrics reveals neither and its cardinality stays fixed.
type metrics struct {
	reg *prometheus.Registry

	connections    prometheus.Gauge
	connsRefused   *prometheus.CounterVec // reason
	closes         *prometheus.CounterVec // code, reason
	slowPeerCloses prometheus.Counter
	messagesIn     prometheus.Counter
	bytesIn        prometheus.Counter
	framesOut      prometheus.Counter
	bytesOut       prometheus.Counter
	updatesIn      prometheus.Counter
	updatesDurable prometheus.Counter
	updatesRefused *prometheus.CounterVec // reason
	appendLatency  prometheus.Histogram
	throttled      prometheus.Counter
	hookDropped    prometheus.Counter
	hookTimeouts   prometheus.Counter
	hookFailures   prometheus.Counter
	loads          prometheus.Counter
	unloads        prometheus.Counter
}

// newMetrics creates the collectors and registers them, with gauges computed from s, on reg
// (nil: a new registry with the Go and process collectors).
func newMetrics(s *Server, reg *prometheus.Registry) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "tandem", Name: name, Help: help})
	}
	m := &metrics{
		reg: reg,
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tandem", Name: "connections",
			Help: "Open WebSocket connections that joined a document."}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tandem", Name: "connections_refused_total",
			Help: "WebSocket connections refused, by reason (unauthenticated, forbidden, origin, too_many, shutting_down)."}, []string{"reason"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tandem", Name: "closes_total",
			Help: "Connections closed by the server, by close code and reason."}, []string{"code", "reason"}),
		slowPeerCloses: counter("slow_peer_closes_total", "Peers closed with 1013 because their send queue was full."),
		messagesIn:     counter("messages_received_total", "WebSocket messages received from peers."),
		bytesIn:        counter("received_bytes_total", "Bytes of WebSocket messages received from peers."),
		framesOut:      counter("messages_sent_total", "WebSocket messages written to peers."),
		bytesOut:       counter("sent_bytes_total", "Bytes of WebSocket messages written to peers."),
		updatesIn:      counter("updates_appended_total", "Updates that changed a document (from peers or server-side edits), handed to the store."),
		updatesDurable: counter("updates_durable_total", "Updates acknowledged durable by the store."),
		updatesRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tandem", Name: "updates_refused_total",
			Help: "Updates not applied, by reason (read_only, document_too_large, malformed)."}, []string{"reason"}),
		appendLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "tandem", Name: "append_duration_seconds",
			Help:    "Time from handing an update to the store until it is durable (commit and fsync).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		throttled:    counter("throttled_total", "Times a connection was paused for exceeding its message or byte rate."),
		hookDropped:  counter("hook_events_dropped_total", "Hook events dropped because the hook queue was full."),
		hookTimeouts: counter("hook_timeouts_total", "Hook calls that overran Options.HookTimeout."),
		hookFailures: counter("hook_panics_total", "Hook calls that panicked."),
		loads:        counter("document_loads_total", "Documents loaded into memory."),
		unloads:      counter("document_unloads_total", "Documents that left memory."),
	}
	cs := []prometheus.Collector{
		m.connections, m.connsRefused, m.closes, m.slowPeerCloses, m.messagesIn, m.bytesIn,
		m.framesOut, m.bytesOut, m.updatesIn, m.updatesDurable, m.updatesRefused, m.appendLatency,
		m.throttled, m.hookDropped, m.hookTimeouts, m.hookFailures, m.loads, m.unloads,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "tandem", Name: "documents_loaded",
			Help: "Documents held in memory."}, func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return float64(len(s.docs))
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "tandem", Name: "actor_inbox_depth_max",
			Help: "Longest document actor inbox (messages waiting) at scrape time."}, func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			most := 0
			for _, a := range s.docs {
				most = max(most, len(a.inbox))
			}
			return float64(most)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "tandem", Name: "actor_inbox_depth_total",
			Help: "Messages waiting in all document actor inboxes at scrape time."}, func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			n := 0
			for _, a := range s.docs {
				n += len(a.inbox)
			}
			return float64(n)
		}),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// closed counts a server-initiated close.
func (m *metrics) closed(r CloseReason) {
	m.closes.WithLabelValues(strconv.Itoa(r.Code()), r.String()).Inc()
}

// MetricsHandler returns the Prometheus text-format handler for the server's registry (what
// /metrics serves), to mount elsewhere, e.g. on an internal port.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{Registry: s.metrics.reg})
}
