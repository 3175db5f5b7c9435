package scheduler

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Builders for test inputs.

func member(name string, opts ...func(*Cluster)) Cluster {
	c := Cluster{Name: name, Ready: true}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func running(n int64) func(*Cluster)  { return func(c *Cluster) { c.Current = n } }
func capacity(n int64) func(*Cluster) { return func(c *Cluster) { c.Capacity = &n } }
func tainted(e TaintEffect) func(*Cluster) {
	return func(c *Cluster) { c.Taints = append(c.Taints, e) }
}
func notReady(c *Cluster) { c.Ready = false }

func ptr(n int64) *int64 { return &n }

func weights(ws ...int64) map[string]Preference {
	p := map[string]Preference{}
	for i, w := range ws {
		p[string(rune('a'+i))] = Preference{Weight: w}
	}
	return p
}

var equal = map[string]Preference{DefaultPreference: {Weight: 1}}

func members(names ...string) []Cluster {
	out := make([]Cluster, len(names))
	for i, n := range names {
		out[i] = member(n)
	}
	return out
}

func to(name string, n int64, reasons ...Reason) Assignment {
	a := Assignment{Cluster: name, Replicas: n}
	if len(reasons) > 0 {
		a.Reasons = reasons
	}
	return a
}

// tieOrder is the order in which clusters win ties for key, computed with
// the standard library's FNV-1a and MurmurHash3's finalizer, independently of the code under test.
func tieOrder(key string, names ...string) []string {
	hash := func(n string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(key + "/" + n))
		return murmurFinalizer(h.Sum64())
	}
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int {
		ha, hb := hash(a), hash(b)
		switch {
		case ha < hb:
			return -1
		case ha > hb:
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}

// murmurFinalizer is MurmurHash3's fmix64.
func murmurFinalizer(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	return h ^ h>>33
}

type scheduleTest struct {
	name string
	in   Input
	want Plan
}

func runScheduleTests(t *testing.T, tests []scheduleTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in.Key == "" {
				tt.in.Key = "ns/app"
			}
			got, err := Schedule(tt.in)
			if err != nil {
				t.Fatalf("Schedule() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Schedule() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScheduleEqualWeights(t *testing.T) {
	// The cluster that wins ties for key "ns/app" among a, b, c.
	order := tieOrder("ns/app", "a", "b", "c")
	want103 := Plan{}
	for _, n := range []string{"a", "b", "c"} {
		r := int64(3)
		if n == order[0] {
			r = 4
		}
		want103.Assignments = append(want103.Assignments, to(n, r, ReasonWeight))
	}
	runScheduleTests(t, []scheduleTest{
		{
			name: "1000 over 5 is 200 each",
			in:   Input{Total: 1000, Rebalance: true, Preferences: equal, Clusters: members("a", "b", "c", "d", "e")},
			want: Plan{Assignments: []Assignment{
				to("a", 200, ReasonWeight), to("b", 200, ReasonWeight), to("c", 200, ReasonWeight),
				to("d", 200, ReasonWeight), to("e", 200, ReasonWeight),
			}},
		},
		{
			name: "10 over 3 is 4/3/3, the 4 where the hash says",
			in:   Input{Total: 10, Rebalance: true, Preferences: equal, Clusters: members("a", "b", "c")},
			want: want103,
		},
		{
			name: "output is sorted by name whatever the input order",
			in:   Input{Total: 9, Rebalance: true, Preferences: equal, Clusters: members("c", "a", "b")},
			want: Plan{Assignments: []Assignment{to("a", 3, ReasonWeight), to("b", 3, ReasonWeight), to("c", 3, ReasonWeight)}},
		},
		{
			name: "total 0 places nothing and says nothing",
			in:   Input{Total: 0, Rebalance: true, Preferences: equal, Clusters: members("a", "b")},
			want: Plan{Assignments: []Assignment{to("a", 0), to("b", 0)}},
		},
	})
}

func TestScheduleProportional(t *testing.T) {
	runScheduleTests(t, []scheduleTest{
		{
			// Quotas 1.67, 3.33, 5: the largest remainder (a, .67) rounds up.
			name: "weights 1:2:3 of 10 is 2/3/5",
			in:   Input{Total: 10, Rebalance: true, Preferences: weights(1, 2, 3), Clusters: members("a", "b", "c")},
			want: Plan{Assignments: []Assignment{to("a", 2, ReasonWeight), to("b", 3, ReasonWeight), to("c", 5, ReasonWeight)}},
		},
		{
			// Quotas 0.5, 0.33, 0.17: only a rounds up.
			name: "weights 3:2:1 of 1 goes to the largest remainder",
			in:   Input{Total: 1, Rebalance: true, Preferences: weights(3, 2, 1), Clusters: members("a", "b", "c")},
			want: Plan{Assignments: []Assignment{to("a", 1, ReasonWeight), to("b", 0), to("c", 0)}},
		},
		{
			name: "a named preference replaces the default",
			in: Input{Total: 12, Rebalance: true, Clusters: members("a", "b", "c"), Preferences: map[string]Preference{
				DefaultPreference: {Weight: 1}, "c": {Weight: 2},
			}},
			want: Plan{Assignments: []Assignment{to("a", 3, ReasonWeight), to("b", 3, ReasonWeight), to("c", 6, ReasonWeight)}},
		},
		{
			name: "weights near MaxInt64 stay exact",
			in: Input{Total: 1<<63 - 1, Rebalance: true, Clusters: members("a", "b", "c"), Preferences: map[string]Preference{
				DefaultPreference: {Weight: 1<<63 - 1},
			}},
			// (2^63-1)/3 = 3074457345618258602 remainder 1: one cluster rounds up.
			want: func() Plan {
				p := Plan{}
				for _, n := range []string{"a", "b", "c"} {
					r := int64(3074457345618258602)
					if n == tieOrder("ns/app", "a", "b", "c")[0] {
						r++
					}
					p.Assignments = append(p.Assignments, to(n, r, ReasonWeight))
				}
				return p
			}(),
		},
	})
}

func TestScheduleMinAndMax(t *testing.T) {
	runScheduleTests(t, []scheduleTest{
		{
			// a gets its 5 first; the other 6 are split 3/3.
			name: "minReplicas are met first, then the rest is shared by weight",
			in: Input{Total: 11, Rebalance: true, Clusters: members("a", "b"), Preferences: map[string]Preference{
				"a": {Weight: 1, MinReplicas: 5}, "b": {Weight: 1},
			}},
			want: Plan{Assignments: []Assignment{to("a", 8, ReasonMin, ReasonWeight), to("b", 3, ReasonWeight)}},
		},
		{
			// The minimums (6 and 4) are shared in proportion: 3 and 2.
			name: "a total below the minimums is shared in proportion to them",
			in: Input{Total: 5, Rebalance: true, Clusters: members("a", "b", "c"), Preferences: map[string]Preference{
				"a": {Weight: 1, MinReplicas: 6}, "b": {Weight: 1, MinReplicas: 4}, "c": {Weight: 1},
			}},
			want: Plan{
				Assignments: []Assignment{to("a", 3, ReasonMin, ReasonMinNotMet), to("b", 2, ReasonMin, ReasonMinNotMet), to("c", 0)},
				Message:     "minReplicas add up to 10, more than totalReplicas 5",
			},
		},
		{
			name: "maxReplicas caps a cluster and the excess flows to the others",
			in: Input{Total: 10, Rebalance: true, Clusters: members("a", "b", "c"), Preferences: map[string]Preference{
				DefaultPreference: {Weight: 1}, "a": {Weight: 1, MaxReplicas: ptr(2)},
			}},
			want: Plan{Assignments: []Assignment{to("a", 2, ReasonWeight, ReasonMaxCap), to("b", 4, ReasonWeight), to("c", 4, ReasonWeight)}},
		},
		{
			name: "capacity caps a cluster and the excess flows to the others",
			in: Input{Total: 10, Rebalance: true, Preferences: equal, Clusters: []Cluster{
				member("a", capacity(2)), member("b"), member("c"),
			}},
			want: Plan{Assignments: []Assignment{to("a", 2, ReasonWeight, ReasonCapacityCap), to("b", 4, ReasonWeight), to("c", 4, ReasonWeight)}},
		},
		{
			// Level 25 each; a saturates at 5, then b at 20 (level 32),
			// leaving 76 for c and d.
			name: "caps cascade",
			in: Input{Total: 101, Rebalance: true, Clusters: []Cluster{
				member("a"), member("b", capacity(20)), member("c"), member("d"),
			}, Preferences: map[string]Preference{DefaultPreference: {Weight: 1}, "a": {Weight: 1, MaxReplicas: ptr(5)}}},
			want: Plan{Assignments: []Assignment{
				to("a", 5, ReasonWeight, ReasonMaxCap), to("b", 20, ReasonWeight, ReasonCapacityCap),
				to("c", 38, ReasonWeight), to("d", 38, ReasonWeight),
			}},
		},
		{
			name: "a cap that is not reached is no reason",
			in: Input{Total: 10, Rebalance: true, Clusters: []Cluster{member("a", capacity(5)), member("b")},
				Preferences: map[string]Preference{DefaultPreference: {Weight: 1, MaxReplicas: ptr(5)}}},
			want: Plan{Assignments: []Assignment{to("a", 5, ReasonWeight), to("b", 5, ReasonWeight)}},
		},
		{
			name: "maxReplicas equal to minReplicas caps the weighted share",
			in: Input{Total: 10, Rebalance: true, Clusters: members("a", "b"), Preferences: map[string]Preference{
				"a": {Weight: 1, MinReplicas: 3, MaxReplicas: ptr(3)}, "b": {Weight: 1},
			}},
			want: Plan{Assignments: []Assignment{to("a", 3, ReasonMin, ReasonMaxCap), to("b", 7, ReasonWeight)}},
		},
		{
			name: "capacity below minReplicas caps the minimum",
			in: Input{Total: 10, Rebalance: true, Clusters: []Cluster{member("a", capacity(2)), member("b")},
				Preferences: map[string]Preference{"a": {Weight: 1, MinReplicas: 4}, "b": {Weight: 1}}},
			want: Plan{Assignments: []Assignment{to("a", 2, ReasonMin, ReasonMinNotMet, ReasonCapacityCap), to("b", 8, ReasonWeight)}},
		},
		{
			name: "every cluster at its limit leaves replicas unplaced",
			in: Input{Total: 10, Rebalance: true, Clusters: []Cluster{member("a", capacity(3)), member("b")},
				Preferences: map[string]Preference{DefaultPreference: {Weight: 1, MaxReplicas: ptr(4)}}},
			want: Plan{
				Assignments: []Assignment{to("a", 3, ReasonWeight, ReasonCapacityCap), to("b", 4, ReasonWeight, ReasonMaxCap)},
				Unplaced:    3,
				Message: "3 of 10 replicas could not be placed: every cluster that can take replicas is at its limit " +
					"(maxReplicas, capacity, minReplicas under weight 0, or what it runs under NoSchedule)",
			},
		},
		{
			name: "maxReplicas and capacity equal: both are reasons",
			in: Input{Total: 10, Rebalance: true, Clusters: []Cluster{member("a", capacity(2)), member("b")},
				Preferences: map[string]Preference{DefaultPreference: {Weight: 1}, "a": {Weight: 1, MaxReplicas: ptr(2)}}},
			want: Plan{Assignments: []Assignment{to("a", 2, ReasonWeight, ReasonMaxCap, ReasonCapacityCap), to("b", 8, ReasonWeight)}},
		},
	})
}

func TestScheduleZeroWeight(t *testing.T) {
	runScheduleTests(t, []scheduleTest{
		{
			name: "weight 0 and no min gets nothing",
			in: Input{Total: 10, Rebalance: true, Clusters: members("a", "b"), Preferences: map[string]Preference{
				"a": {Weight: 0}, "b": {Weight: 1},
			}},
			want: Plan{Assignments: []Assignment{to("a", 0, ReasonZeroWeight), to("b", 10, ReasonWeight)}},
		},
		{
			name: "weight 0 gets its min and no more",
			in: Input{Total: 10, Rebalance: true, Clusters: members("a", "b"), Preferences: map[string]Preference{
				"a": {Weight: 0, MinReplicas: 2}, "b": {Weight: 1},
			}},
			want: Plan{Assignments: []Assignment{to("a", 2, ReasonZeroWeight, ReasonMin), to("b", 8, ReasonWeight)}},
		},
		{
			name: "only weight 0 clusters: the rest is unplaced",
			in: Input{Total: 10, Rebalance: true, Clusters: members("a", "b"), Preferences: map[string]Preference{
				"a": {Weight: 0, MinReplicas: 2}, "b": {Weight: 0},
			}},
			want: Plan{
				Assignments: []Assignment{to("a", 2, ReasonZeroWeight, ReasonMin), to("b", 0, ReasonZeroWeight)},
				Unplaced:    8,
				Message: "8 of 10 replicas could not be placed: every cluster that can take replicas is at its limit " +
					"(maxReplicas, capacity, minReplicas under weight 0, or what it runs under NoSchedule)",
			},
		},
	})
}

func TestScheduleEligibility(t *testing.T) {
	runScheduleTests(t, []scheduleTest{
		{
			name: "not ready and NoExecute clusters get 0, also what they ran",
			in: Input{Total: 10, Rebalance: true, Preferences: equal, Clusters: []Cluster{
				member("a", notReady, running(5)), member("b", tainted(TaintEffectNoExecute), running(5)), member("c"), member("d"),
			}},
			want: Plan{Assignments: []Assignment{
				to("a", 0, ReasonNotReady), to("b", 0, ReasonNoExecute), to("c", 5, ReasonWeight), to("d", 5, ReasonWeight),
			}},
		},
		{
			name: "not ready and NoExecute: both reasons",
			in: Input{Total: 4, Rebalance: true, Preferences: equal, Clusters: []Cluster{
				member("a", notReady, tainted(TaintEffectNoExecute)), member("b"),
			}},
			want: Plan{Assignments: []Assignment{to("a", 0, ReasonNotReady, ReasonNoExecute), to("b", 4, ReasonWeight)}},
		},
		{
			name: "a cluster without a preference and no default gets 0",
			in:   Input{Total: 4, Rebalance: true, Preferences: map[string]Preference{"a": {Weight: 1}}, Clusters: members("a", "b")},
			want: Plan{Assignments: []Assignment{to("a", 4, ReasonWeight), to("b", 0, ReasonNoPreference)}},
		},
		{
			name: "PreferNoSchedule and unknown effects are ignored",
			in: Input{Total: 4, Rebalance: true, Preferences: equal, Clusters: []Cluster{
				member("a", tainted("PreferNoSchedule")), member("b"),
			}},
			want: Plan{Assignments: []Assignment{to("a", 2, ReasonWeight), to("b", 2, ReasonWeight)}},
		},
	})
}

func TestScheduleNoSchedule(t *testing.T) {
	for _, rebalance := range []bool{true, false} {
		t.Run(fmt.Sprintf("rebalance=%v", rebalance), func(t *testing.T) {
			// At its proportional share a cluster reports the share's reasons, with rebalance or without.
			kept := []Reason{ReasonNoSchedule}
			runScheduleTests(t, []scheduleTest{
				{
					name: "keeps what it runs and gets no more when the total grows",
					in: Input{Total: 30, Rebalance: rebalance, Preferences: equal, Clusters: []Cluster{
						member("a", tainted(TaintEffectNoSchedule), running(4)), member("b", running(3)), member("c", running(3)),
					}},
					want: Plan{Assignments: []Assignment{
						to("a", 4, kept...),
						to("b", 13, ReasonWeight),
						to("c", 13, ReasonWeight),
					}},
				},
				{
					name: "a NoSchedule cluster running nothing gets nothing",
					in: Input{Total: 10, Rebalance: rebalance, Preferences: equal, Clusters: []Cluster{
						member("a", tainted(TaintEffectNoSchedule)), member("b"),
					}},
					want: Plan{Assignments: []Assignment{to("a", 0, ReasonNoSchedule), to("b", 10, ReasonWeight)}},
				},
				{
					name: "keeps no more than its maxReplicas",
					in: Input{Total: 10, Rebalance: rebalance, Clusters: []Cluster{
						member("a", tainted(TaintEffectNoSchedule), running(8)), member("b"),
					}, Preferences: map[string]Preference{DefaultPreference: {Weight: 1}, "a": {Weight: 1, MaxReplicas: ptr(6)}}},
					want: Plan{Assignments: []Assignment{to("a", 6, append(slices.Clone(kept), ReasonMaxCap)...), to("b", 4, ReasonWeight)}},
				},
			})
		})
	}
	runScheduleTests(t, []scheduleTest{
		{
			// Rebalance converges b and c but leaves a as it is.
			name: "rebalance does not move what a NoSchedule cluster runs",
			in: Input{Total: 10, Rebalance: true, Preferences: equal, Clusters: []Cluster{
				member("a", tainted(TaintEffectNoSchedule), running(6)), member("b", running(4)), member("c"),
			}},
			want: Plan{Assignments: []Assignment{to("a", 6, ReasonNoSchedule), to("b", 2, ReasonWeight), to("c", 2, ReasonWeight)}},
		},
		{
			// Minimums come before what NoSchedule clusters keep.
			name: "shrinks when the total no longer covers it",
			in: Input{Total: 5, Rebalance: true, Clusters: []Cluster{
				member("a", tainted(TaintEffectNoSchedule), running(8)), member("b"),
			}, Preferences: map[string]Preference{"a": {Weight: 1}, "b": {Weight: 1, MinReplicas: 2}}},
			want: Plan{Assignments: []Assignment{to("a", 3, ReasonNoSchedule), to("b", 2, ReasonMin)}},
		},
		{
			name: "its minimum is met only from what it runs",
			in: Input{Total: 10, Rebalance: true, Clusters: []Cluster{
				member("a", tainted(TaintEffectNoSchedule), running(1)), member("b"),
			}, Preferences: map[string]Preference{"a": {Weight: 1, MinReplicas: 3}, "b": {Weight: 1}}},
			want: Plan{Assignments: []Assignment{to("a", 1, ReasonNoSchedule, ReasonMin, ReasonMinNotMet), to("b", 9, ReasonWeight)}},
		},
	})
}

func TestScheduleNoRebalance(t *testing.T) {
	runScheduleTests(t, []scheduleTest{
		{
			name: "current counts that fit are kept as they are",
			in: Input{Total: 10, Preferences: equal, Clusters: []Cluster{
				member("a", running(6)), member("b", running(3)), member("c", running(1)),
			}},
			want: Plan{Assignments: []Assignment{to("a", 6, ReasonKept), to("b", 3, ReasonKept), to("c", 1, ReasonKept)}},
		},
		{
			// Proportional plan for 14: 5/5/4 (or 4/5/5 ...); a keeps its
			// 10 and the 4 new replicas go to b and c, 2 each, in
			// proportion to how far below their share they are.
			name: "scaling up places only the difference, toward the proportional plan",
			in: Input{Total: 14, Preferences: equal, Clusters: []Cluster{
				member("a", running(10)), member("b"), member("c"),
			}},
			want: Plan{Assignments: []Assignment{to("a", 10, ReasonKept), to("b", 2, ReasonWeight), to("c", 2, ReasonWeight)}},
		},
		{
			name: "a new cluster gets nothing while the total fits the others",
			in: Input{Total: 10, Preferences: equal, Clusters: []Cluster{
				member("a", running(5)), member("b", running(5)), member("new"),
			}},
			want: Plan{Assignments: []Assignment{to("a", 5, ReasonKept), to("b", 5, ReasonKept), to("new", 0)}},
		},
		{
			// Proportional plan 5/5/0: a and b take back c's 3.
			name: "a failed cluster's replicas move to the others",
			in: Input{Total: 10, Preferences: equal, Clusters: []Cluster{
				member("a", running(4)), member("b", running(3)), member("c", notReady, running(3)),
			}},
			want: Plan{Assignments: []Assignment{to("a", 5, ReasonWeight), to("b", 5, ReasonWeight), to("c", 0, ReasonNotReady)}},
		},
		{
			// Proportional plan for 6 with weights 1:1:1 is 2/2/2; only a is
			// above it, so only a gives back.
			name: "scaling down takes from the cluster most over its share",
			in: Input{Total: 6, Preferences: equal, Clusters: []Cluster{
				member("a", running(6)), member("b", running(2)), member("c", running(2)),
			}},
			want: Plan{Assignments: []Assignment{to("a", 2, ReasonWeight), to("b", 2, ReasonWeight), to("c", 2, ReasonWeight)}},
		},
		{
			// The plan for 9 is 3/3/3; a is 7 over it and b 1. c keeps its
			// 0 (no replica moves to it), so a and b keep 3 of their 8
			// surplus between them, in proportion 7:1: 2.625 and 0.375,
			// rounded to 3 and 0.
			name: "scaling down shares the cut in proportion to the surplus",
			in: Input{Total: 9, Preferences: equal, Clusters: []Cluster{
				member("a", running(10)), member("b", running(4)), member("c"),
			}},
			want: Plan{Assignments: []Assignment{to("a", 6, ReasonKept, ReasonWeight), to("b", 3, ReasonWeight), to("c", 0)}},
		},
		{
			name: "counts above maxReplicas or capacity are cut to it",
			in: Input{Total: 10, Clusters: []Cluster{
				member("a", running(5), capacity(3)), member("b", running(5)),
			}, Preferences: map[string]Preference{DefaultPreference: {Weight: 1}}},
			want: Plan{Assignments: []Assignment{to("a", 3, ReasonWeight, ReasonCapacityCap), to("b", 7, ReasonWeight)}},
		},
		{
			name: "a cluster below its minimum is raised to it, at the expense of the others",
			in: Input{Total: 12, Clusters: []Cluster{member("a"), member("b", running(12))},
				Preferences: map[string]Preference{"a": {Weight: 1, MinReplicas: 5}, "b": {Weight: 1}}},
			want: Plan{Assignments: []Assignment{to("a", 5, ReasonMin), to("b", 7, ReasonKept, ReasonWeight)}},
		},
		{
			// Minimums 6 and 4 over a total of 5: nothing gets more than its
			// minimum, and a keeps the 3 it runs.
			name: "with the minimums out of reach, clusters keep what they run within them",
			in: Input{Total: 5, Clusters: []Cluster{member("a", running(3)), member("b", running(9))},
				Preferences: map[string]Preference{"a": {Weight: 1, MinReplicas: 6}, "b": {Weight: 1, MinReplicas: 4}}},
			want: Plan{
				Assignments: []Assignment{to("a", 3, ReasonMin, ReasonMinNotMet), to("b", 2, ReasonMin, ReasonMinNotMet)},
				Message:     "minReplicas add up to 10, more than totalReplicas 5",
			},
		},
		{
			name: "rebalance true converges whatever runs now",
			in: Input{Total: 9, Rebalance: true, Preferences: equal, Clusters: []Cluster{
				member("a", running(9)), member("b"), member("c"),
			}},
			want: Plan{Assignments: []Assignment{to("a", 3, ReasonWeight), to("b", 3, ReasonWeight), to("c", 3, ReasonWeight)}},
		},
	})
}

func TestScheduleDuplicated(t *testing.T) {
	runScheduleTests(t, []scheduleTest{
		{
			name: "every eligible cluster gets the full count, capped by max and capacity",
			in: Input{Total: 5, Mode: ModeDuplicated, Clusters: []Cluster{
				member("a"), member("b", capacity(2)), member("c"), member("d", notReady), member("e", tainted(TaintEffectNoSchedule), running(7)),
				member("f", tainted(TaintEffectNoSchedule), running(3)), member("g"),
			}, Preferences: map[string]Preference{
				DefaultPreference: {Weight: 1}, "c": {Weight: 1, MaxReplicas: ptr(4)}, "g": {Weight: 0},
			}},
			want: Plan{Assignments: []Assignment{
				to("a", 5, ReasonDuplicated), to("b", 2, ReasonDuplicated, ReasonCapacityCap), to("c", 4, ReasonDuplicated, ReasonMaxCap),
				to("d", 0, ReasonNotReady), to("e", 5, ReasonNoSchedule), to("f", 3, ReasonNoSchedule), to("g", 0, ReasonZeroWeight),
			}},
		},
		{
			name: "no cluster can run the full count",
			in: Input{Total: 5, Mode: ModeDuplicated, Clusters: []Cluster{member("a", capacity(3)), member("b", capacity(1))},
				Preferences: equal},
			want: Plan{
				Assignments: []Assignment{to("a", 3, ReasonDuplicated, ReasonCapacityCap), to("b", 1, ReasonDuplicated, ReasonCapacityCap)},
				Unplaced:    2,
				Message:     "no cluster can run all 5 replicas: the most one can run is 3",
			},
		},
		{
			name: "weight 0 with a minimum gets the minimum",
			in: Input{Total: 5, Mode: ModeDuplicated, Clusters: members("a"),
				Preferences: map[string]Preference{"a": {MinReplicas: 2}}},
			want: Plan{Assignments: []Assignment{to("a", 2, ReasonZeroWeight, ReasonMin)}, Unplaced: 3,
				Message: "no cluster can run all 5 replicas: the most one can run is 2"},
		},
	})
}

func TestScheduleNothingEligible(t *testing.T) {
	runScheduleTests(t, []scheduleTest{
		{
			name: "no clusters",
			in:   Input{Total: 3, Preferences: equal},
			want: Plan{Assignments: []Assignment{}, Unplaced: 3, Message: "no cluster can take replicas: there are no clusters"},
		},
		{
			name: "every cluster blocked, for its own reason",
			in: Input{Total: 3, Rebalance: true, Clusters: []Cluster{
				member("a", notReady), member("b", tainted(TaintEffectNoExecute)), member("c"), member("d"),
				member("e", tainted(TaintEffectNoSchedule)), member("f", capacity(0)),
			}, Preferences: map[string]Preference{
				"a": {Weight: 1}, "b": {Weight: 1}, "d": {}, "e": {Weight: 1}, "f": {Weight: 1},
			}},
			want: Plan{
				Assignments: []Assignment{
					to("a", 0, ReasonNotReady), to("b", 0, ReasonNoExecute), to("c", 0, ReasonNoPreference),
					to("d", 0, ReasonZeroWeight), to("e", 0, ReasonNoSchedule), to("f", 0, ReasonCapacityCap),
				},
				Unplaced: 3,
				Message: "no cluster can take replicas: 1 not ready, 1 tainted NoExecute, 1 without a preference, " +
					"1 with maxReplicas or capacity 0, 1 with weight 0 and no minReplicas, 1 tainted NoSchedule and running none",
			},
		},
		{
			name: "duplicated with no ready cluster",
			in:   Input{Total: 3, Mode: ModeDuplicated, Preferences: equal, Clusters: []Cluster{member("a", notReady), member("b", notReady)}},
			want: Plan{
				Assignments: []Assignment{to("a", 0, ReasonNotReady), to("b", 0, ReasonNotReady)},
				Unplaced:    3,
				Message:     "no cluster can take replicas: 2 not ready",
			},
		},
	})
}

// TestTieBreak checks that equal remainders go by the hash of key + "/" +
// name, so that single replicas of many workloads spread over the clusters,
// also when cluster names differ only in their last character.
func TestTieBreak(t *testing.T) {
	for _, names := range [][]string{
		{"a", "b", "c", "d", "e"},
		{"cluster-1", "cluster-2", "cluster-3", "cluster-4", "cluster-5"},
	} {
		wins := map[string]int{}
		for i := range 500 {
			key := fmt.Sprintf("ns/app-%d", i)
			got, err := Schedule(Input{Key: key, Total: 2, Rebalance: true, Preferences: equal, Clusters: members(names...)})
			if err != nil {
				t.Fatal(err)
			}
			order := tieOrder(key, names...)
			want := Plan{}
			for _, n := range names {
				a := to(n, 0)
				if n == order[0] || n == order[1] {
					a = to(n, 1, ReasonWeight)
					wins[n]++
				}
				want.Assignments = append(want.Assignments, a)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("key %q: Schedule() mismatch (-want +got):\n%s", key, diff)
			}
		}
		// 1,000 replicas over 5 clusters: 200 each on average, with a
		// standard deviation of about 13.
		for _, n := range names {
			if wins[n] < 150 || wins[n] > 250 {
				t.Errorf("cluster %s won %d of 1000 ties, want about 200: %v", n, wins[n], wins)
			}
		}
		t.Logf("wins: %v", wins)
	}
}

func TestScheduleOrderIndependent(t *testing.T) {
	clusters := []Cluster{
		member("a", running(3)), member("b", capacity(2)), member("c", tainted(TaintEffectNoSchedule), running(4)),
		member("d"), member("e", running(1)), member("f", notReady),
	}
	for _, rebalance := range []bool{true, false} {
		in := Input{Key: "k", Total: 17, Rebalance: rebalance, Preferences: weights(1, 2, 3, 1, 2, 3), Clusters: clusters}
		want, err := Schedule(in)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			shuffled := slices.Clone(clusters)
			for j := range shuffled {
				k := (j*7 + i*3) % len(shuffled)
				shuffled[j], shuffled[k] = shuffled[k], shuffled[j]
			}
			in.Clusters = shuffled
			got, err := Schedule(in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("rebalance=%v, order %v: mismatch (-want +got):\n%s", rebalance, shuffled, diff)
			}
		}
	}
}

func TestScheduleInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"negative total", Input{Total: -1}, "totalReplicas -1: must not be negative"},
		{"unknown mode", Input{Mode: "Spread"}, `mode "Spread": must be "Divided" or "Duplicated"`},
		{"negative weight", Input{Preferences: map[string]Preference{"a": {Weight: -1}}}, `clusters["a"].weight -1: must not be negative`},
		{"negative min", Input{Preferences: map[string]Preference{"*": {MinReplicas: -1}}}, `clusters["*"].minReplicas -1: must not be negative`},
		{"negative max", Input{Preferences: map[string]Preference{"a": {MaxReplicas: ptr(-1)}}}, `clusters["a"].maxReplicas -1: must not be negative`},
		{"min above max", Input{Preferences: map[string]Preference{"a": {MinReplicas: 3, MaxReplicas: ptr(2)}}},
			`clusters["a"].minReplicas 3: must not exceed maxReplicas 2`},
		{
			"the first bad preference by name",
			Input{Preferences: map[string]Preference{"z": {Weight: -1}, "b": {Weight: -2}, "m": {Weight: -3}}},
			`clusters["b"].weight -2: must not be negative`,
		},
		{"empty preference name", Input{Preferences: map[string]Preference{"": {}}}, `clusters[""]: the cluster name must not be empty`},
		{"duplicate cluster", Input{Clusters: members("a", "b", "a")}, `cluster "a" is listed more than once`},
		{"empty cluster name", Input{Clusters: members("a", "")}, `clusters[1]: name "" is not a cluster name`},
		{"star cluster name", Input{Clusters: members("*")}, `clusters[0]: name "*" is not a cluster name`},
		{"negative current", Input{Clusters: []Cluster{member("a", running(-1))}}, `cluster "a": current replicas -1: must not be negative`},
		{"negative capacity", Input{Clusters: []Cluster{member("a", capacity(-1))}}, `cluster "a": capacity -1: must not be negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Schedule(tt.in)
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("Schedule() error = %v, want it to wrap ErrInvalidInput", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Schedule() error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestAssignmentString(t *testing.T) {
	tests := []struct {
		in   Assignment
		want string
	}{
		{to("a", 4, ReasonWeight, ReasonMaxCap), "a: 4 (Weight, MaxCap)"},
		{to("b", 0), "b: 0"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.in.String()); diff != "" {
			t.Errorf("String() mismatch (-want +got):\n%s", diff)
		}
	}
}
