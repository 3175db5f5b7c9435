package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchInput is n ready clusters with equal weights, listed in a shuffled
// (but fixed) order so that sorting them by name costs what it would with an
// informer's unordered list.
func benchInput(n int, total int64, rebalance bool) Input {
	in := Input{
		Key:         "default/frontend",
		Total:       total,
		Rebalance:   rebalance,
		Preferences: map[string]Preference{DefaultPreference: {Weight: 1}},
		Clusters:    make([]Cluster, n),
	}
	for i := range in.Clusters {
		in.Clusters[i] = Cluster{Name: fmt.Sprintf("member-%05d", i), Ready: true}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(n, func(i, j int) { in.Clusters[i], in.Clusters[j] = in.Clusters[j], in.Clusters[i] })
	return in
}

func benchSchedule(b *testing.B, in Input) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Schedule(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSchedule is the benchmark: 10 replicas per cluster,
// equal weights.
func BenchmarkSchedule(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			benchSchedule(b, benchInput(n, int64(10*n), true))
		})
	}
}

// BenchmarkScheduleReplicas shows that the cost depends on the number of
// clusters, not on the number of replicas. A total that does not divide
// evenly (10, 1,000,003) also pays for breaking ties by hash.
func BenchmarkScheduleReplicas(b *testing.B) {
	for _, total := range []int64{10, 10_000, 1_000_000, 1_000_003, 1 << 40} {
		b.Run(fmt.Sprintf("clusters=1000/replicas=%d", total), func(b *testing.B) {
			benchSchedule(b, benchInput(1000, total, true))
		})
	}
}

// BenchmarkScheduleKeeping measures rebalance off, scaling up by 7% from a
// plan that is already applied.
func BenchmarkScheduleKeeping(b *testing.B) {
	in := benchInput(1000, 10_000, false)
	plan, err := Schedule(in)
	if err != nil {
		b.Fatal(err)
	}
	got := counts(plan)
	for i := range in.Clusters {
		in.Clusters[i].Current = got[in.Clusters[i].Name]
	}
	in.Total = 10_700
	benchSchedule(b, in)
}
