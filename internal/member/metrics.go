package member

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// labelCluster is the label that names the member in kfed's metrics.
const labelCluster = "cluster"

var (
	clusterReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "kfed_cluster_ready",
		Help: "1 when the member cluster is Ready (its /readyz probes pass per thresholds), else 0.",
	}, []string{labelCluster})

	probeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kfed_cluster_probe_duration_seconds",
		Help:    "Duration of the /readyz probes of member clusters, by result (success or failure).",
		Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}, []string{labelCluster, "result"})
)

func init() {
	metrics.Registry.MustRegister(clusterReady, probeDuration)
}

func observeProbe(cluster string, d time.Duration, err error) {
	result := "success"
	if err != nil {
		result = "failure"
	}
	probeDuration.WithLabelValues(cluster, result).Observe(d.Seconds())
}

func setReadyMetric(cluster string, ready bool) {
	v := 0.0
	if ready {
		v = 1
	}
	clusterReady.WithLabelValues(cluster).Set(v)
}

func forgetMetrics(cluster string) {
	clusterReady.DeleteLabelValues(cluster)
	probeDuration.DeletePartialMatch(prometheus.Labels{labelCluster: cluster})
}
