package main

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kfed-io/kfed/test/framework"
)

// snapshot holds the manager's metrics that tell what a run did: kfed's member writes,
// reconciles and their seconds per kind, and the API requests of this process per API server
// and HTTP method.
type snapshot map[string]float64

// memberWritesKey is the snapshot's sum of kfed_member_writes_total.
const memberWritesKey = "member writes"

func takeSnapshot() (snapshot, error) {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return nil, fmt.Errorf("reading kfed's metrics: %w", err)
	}
	s := snapshot{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "kfed_member_writes_total":
				s[memberWritesKey] += m.GetCounter().GetValue()
			case "controller_runtime_reconcile_total":
				s["reconciles\t"+label(m, "controller")] += m.GetCounter().GetValue()
			case "controller_runtime_reconcile_time_seconds":
				s["reconcile seconds\t"+label(m, "controller")] += m.GetHistogram().GetSampleSum()
			case "controller_runtime_max_concurrent_reconciles":
				s["workers\t"+label(m, "controller")] = m.GetGauge().GetValue()
			case "rest_client_requests_total":
				s["requests\t"+label(m, "host")+"\t"+label(m, "method")] += m.GetCounter().GetValue()
			}
		}
	}
	return s, nil
}

// benchKinds are the federated kinds the bench creates.
var benchKinds = []string{"FederatedConfigMap", "FederatedDeployment"}

// workers is kfed's concurrent reconciles of the bench's kinds together.
func (s snapshot) workers() int {
	n := 0
	for _, k := range benchKinds {
		n += int(s["workers\t"+k])
	}
	return n
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// printRequests prints, per object, the reconciles of the bench's kinds and the requests made
// to each API server during the run (the bench's own creates in the host included), naming the
// servers by cluster.
func printRequests(out io.Writer, before, after snapshot, objects int, fed *framework.Federation) {
	names := map[string]string{}
	for _, c := range append([]*framework.Cluster{fed.Host}, fed.Members...) {
		if u, err := url.Parse(c.Config.Host); err == nil {
			names[u.Host] = c.Name
		}
	}
	p := func(format string, args ...any) { _, _ = fmt.Fprintf(out, format, args...) }
	per := func(k string) float64 { return (after[k] - before[k]) / float64(objects) }
	p("kfed's reconciles and API requests per federated object during its run:\n")
	for _, k := range []struct {
		kind string
		n    int
	}{{"FederatedConfigMap", (objects + 1) / 2}, {"FederatedDeployment", objects / 2}} {
		kind, n := k.kind, k.n
		reconciles := after["reconciles\t"+kind] - before["reconciles\t"+kind]
		if reconciles > 0 {
			seconds := after["reconcile seconds\t"+kind] - before["reconcile seconds\t"+kind]
			p("  %-28s %5.2f reconciles, %.0f ms each\n", kind, reconciles/float64(n), 1000*seconds/reconciles)
		}
	}
	keys := make([]string, 0, len(after))
	for k := range after {
		if strings.HasPrefix(k, "requests\t") && after[k] > before[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := strings.Split(k, "\t")
		server := f[1]
		if n, ok := names[server]; ok {
			server = n
		}
		p("  %-28s %-6s %5.2f requests\n", server, f[2], per(k))
	}
}
