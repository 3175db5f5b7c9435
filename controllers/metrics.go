package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	memberWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kfed_member_writes_total",
		Help: "Writes kfed made to member clusters, by cluster and verb (create, update, delete).",
	}, []string{"cluster", "verb"})

	propagationDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kfed_propagation_duration_seconds",
		Help:    "Time from kfed's first reconcile of a federated object's generation to a member write acknowledged.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"kind"})
)

func init() {
	metrics.Registry.MustRegister(memberWrites, propagationDuration)
}

func countWrite(cluster, verb string) {
	memberWrites.WithLabelValues(cluster, verb).Inc()
}
