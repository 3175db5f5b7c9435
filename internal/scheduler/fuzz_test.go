package scheduler

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzCluster is the test's own view of one cluster's bounds, computed
// independently of the code under test.
type fuzzCluster struct {
	eligible   bool
	noSchedule bool
	weight     int64
	min        int64
	lo, hi     int64 // hi is math.MaxInt64 when unbounded
}

// decodeInput turns fuzz bytes into a valid Input: 7 bytes per cluster (at
// most 24), after 3 bytes for the "*" preference.
func decodeInput(key string, total uint16, huge, duplicated, rebalance bool, data []byte) Input {
	in := Input{Key: key, Total: int64(total), Rebalance: rebalance, Preferences: map[string]Preference{}}
	if huge {
		in.Total = math.MaxInt64 - int64(total)
	}
	if duplicated {
		in.Mode = ModeDuplicated
	}
	if len(data) >= 3 {
		if data[0]&1 != 0 {
			p := Preference{Weight: int64(data[1] % 4), MinReplicas: int64(data[2] % 4)}
			if data[0]&2 != 0 {
				p.MaxReplicas = ptr(p.MinReplicas + int64(data[0]>>4))
			}
			in.Preferences[DefaultPreference] = p
		}
		data = data[3:]
	}
	for i := 0; len(data) >= 7 && i < 24; i, data = i+1, data[7:] {
		flags := data[0]
		large := flags&0x40 != 0
		c := Cluster{Name: fmt.Sprintf("c%02d", i), Ready: flags&1 == 0, Current: int64(data[5] % 32)}
		if flags&2 != 0 {
			c.Taints = append(c.Taints, TaintEffectNoSchedule)
		}
		if flags&4 != 0 {
			c.Taints = append(c.Taints, TaintEffectNoExecute)
		}
		if flags&0x80 != 0 {
			c.Taints = append(c.Taints, "PreferNoSchedule")
		}
		if flags&0x20 != 0 {
			c.Capacity = ptr(int64(data[4] % 32))
		}
		if flags&8 != 0 {
			p := Preference{Weight: int64(data[1] % 8), MinReplicas: int64(data[2] % 8)}
			if large {
				p.Weight = math.MaxInt64 - int64(data[1])
				c.Current = math.MaxInt64 - int64(data[5])
			}
			if flags&0x10 != 0 {
				p.MaxReplicas = ptr(p.MinReplicas + int64(data[3]%16))
				if large {
					*p.MaxReplicas = math.MaxInt64 - int64(data[3])
				}
			}
			in.Preferences[c.Name] = p
		}
		in.Clusters = append(in.Clusters, c)
	}
	// Shuffle deterministically so that input order is exercised too.
	for i := range in.Clusters {
		j := (i*int(total) + len(key)) % len(in.Clusters)
		in.Clusters[i], in.Clusters[j] = in.Clusters[j], in.Clusters[i]
	}
	return in
}

// bounds computes each cluster's bounds, indexed by name.
func bounds(in Input) boundsMap {
	out := boundsMap{}
	for _, c := range in.Clusters {
		p, ok := in.Preferences[c.Name]
		if !ok {
			p, ok = in.Preferences[DefaultPreference]
		}
		f := fuzzCluster{eligible: ok && c.Ready && !slices.Contains(c.Taints, TaintEffectNoExecute)}
		if f.eligible {
			f.noSchedule = slices.Contains(c.Taints, TaintEffectNoSchedule)
			f.weight, f.min = p.Weight, p.MinReplicas
			f.hi = math.MaxInt64
			if p.MaxReplicas != nil {
				f.hi = min(f.hi, *p.MaxReplicas)
			}
			if c.Capacity != nil {
				f.hi = min(f.hi, *c.Capacity)
			}
			if f.noSchedule {
				f.hi = min(f.hi, c.Current)
			}
			if p.Weight == 0 {
				f.hi = min(f.hi, p.MinReplicas)
			}
			f.lo = min(f.min, f.hi)
		}
		out[c.Name] = f
	}
	return out
}

// sum adds a non-negative int64 to a sum, saturating at math.MaxUint64, which
// is more than any total.
func sum(s uint64, v int64) uint64 {
	if s > math.MaxUint64-uint64(v) {
		return math.MaxUint64
	}
	return s + uint64(v)
}

func counts(p Plan) map[string]int64 {
	out := map[string]int64{}
	for _, a := range p.Assignments {
		out[a.Cluster] = a.Replicas
	}
	return out
}

func FuzzSchedule(f *testing.F) {
	f.Add("ns/app", uint16(10), false, false, true, []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(3))
	f.Add("ns/app", uint16(1000), false, false, false, []byte{1, 1, 0, 8, 3, 2, 0, 0, 5, 0, 0, 2, 0, 0, 0, 9, 0, 0, 8, 1, 0, 0, 0, 0, 0, 0}, uint8(7))
	f.Add("k", uint16(7), false, false, false, []byte{0, 0, 0, 0x18, 2, 3, 4, 5, 6, 0, 0x3a, 1, 1, 3, 2, 9, 0, 0x28, 3, 0, 0, 1, 20, 0}, uint8(40))
	f.Add("k", uint16(5), false, true, false, []byte{3, 1, 1, 0x22, 0, 0, 0, 4, 9, 0, 0x0c, 1, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0}, uint8(1))
	f.Add("big", uint16(3), true, false, true, []byte{0, 0, 0, 0x48, 0, 0, 0, 0, 0, 0, 0x48, 1, 0, 0, 0, 0, 0, 0x58, 2, 0, 5, 0, 0, 0}, uint8(0))
	f.Add("min", uint16(4), false, false, false, []byte{1, 1, 7, 0x08, 1, 7, 0, 0, 3, 0, 0x0a, 1, 5, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(9))
	f.Fuzz(func(t *testing.T, key string, total uint16, huge, duplicated, rebalance bool, data []byte, grow uint8) {
		in := decodeInput(key, total, huge, duplicated, rebalance, data)
		got, err := Schedule(in)
		if err != nil {
			t.Fatalf("Schedule(%+v) error = %v", in, err)
		}
		checkPlan(t, in, got)

		// The same input, in reverse order, gives the same plan.
		rev := in
		rev.Clusters = slices.Clone(in.Clusters)
		slices.Reverse(rev.Clusters)
		again, err := Schedule(rev)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("the same input gave another plan (-first +second):\n%s", diff)
		}

		// With rebalance on, what clusters run now matters only under
		// NoSchedule.
		if in.Rebalance || in.Mode == ModeDuplicated {
			moved := in
			moved.Clusters = slices.Clone(in.Clusters)
			for i := range moved.Clusters {
				if !slices.Contains(moved.Clusters[i].Taints, TaintEffectNoSchedule) {
					moved.Clusters[i].Current = int64(grow)
				}
			}
			other, err := Schedule(moved)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, other); diff != "" {
				t.Fatalf("with rebalance on, current counts changed the plan (-before +after):\n%s", diff)
			}
		}

		if in.Total > math.MaxInt64-int64(grow) {
			return
		}
		// Applying the plan and scaling up: with rebalance off no cluster
		// loses a replica; with no change at all, nothing moves.
		applied := in
		applied.Clusters = slices.Clone(in.Clusters)
		plan := counts(got)
		for i := range applied.Clusters {
			applied.Clusters[i].Current = plan[applied.Clusters[i].Name]
		}
		steady, err := Schedule(applied)
		if err != nil {
			t.Fatal(err)
		}
		if !in.Rebalance || in.Mode == ModeDuplicated || bounds(in).feasible(in.Total) {
			if diff := cmp.Diff(plan, counts(steady)); diff != "" {
				t.Fatalf("applying the plan changed it (-plan +after):\n%s", diff)
			}
		}
		applied.Total += int64(grow)
		grown, err := Schedule(applied)
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, applied, grown)
		if !in.Rebalance {
			for name, n := range counts(grown) {
				if n < plan[name] {
					t.Fatalf("scaling up from %d to %d took replicas from %s: %d -> %d", in.Total, applied.Total, name, plan[name], n)
				}
			}
		}
	})
}

func (b boundsMap) feasible(total int64) bool {
	var lo uint64
	for _, c := range b {
		lo = sum(lo, c.lo)
	}
	return lo <= uint64(total)
}

// boundsMap holds each cluster's bounds by name.
type boundsMap map[string]fuzzCluster

// checkPlan checks the invariants that hold for every plan.
func checkPlan(t *testing.T, in Input, got Plan) {
	t.Helper()
	b := bounds(in)
	if len(got.Assignments) != len(in.Clusters) {
		t.Fatalf("%d assignments for %d clusters", len(got.Assignments), len(in.Clusters))
	}
	if !slices.IsSortedFunc(got.Assignments, func(x, y Assignment) int { return cmpString(x.Cluster, y.Cluster) }) {
		t.Fatalf("assignments are not sorted by name: %v", got.Assignments)
	}
	var placed, most int64
	var sumHi, sumLo uint64
	for _, a := range got.Assignments {
		c, ok := b[a.Cluster]
		if !ok {
			t.Fatalf("assignment for unknown cluster %q", a.Cluster)
		}
		if !slices.IsSortedFunc(a.Reasons, func(x, y Reason) int { return slices.Index(allReasons[:], x) - slices.Index(allReasons[:], y) }) ||
			len(slices.Compact(slices.Clone(a.Reasons))) != len(a.Reasons) {
			t.Fatalf("%s: reasons out of order or repeated: %v", a.Cluster, a.Reasons)
		}
		blocked := slices.ContainsFunc(a.Reasons, func(r Reason) bool {
			return r == ReasonNotReady || r == ReasonNoExecute || r == ReasonNoPreference
		})
		if blocked == c.eligible {
			t.Fatalf("%s: eligible %v but reasons %v", a.Cluster, c.eligible, a.Reasons)
		}
		if !c.eligible && a.Replicas != 0 {
			t.Fatalf("%s: ineligible cluster got %d", a.Cluster, a.Replicas)
		}
		if a.Replicas < 0 || a.Replicas > c.hi {
			t.Fatalf("%s: %d replicas, outside [0, %d] (maxReplicas, capacity, NoSchedule current, weight 0 min)", a.Cluster, a.Replicas, c.hi)
		}
		if a.Replicas < c.min && !slices.Contains(a.Reasons, ReasonMinNotMet) {
			t.Fatalf("%s: %d replicas under minReplicas %d without %s: %v", a.Cluster, a.Replicas, c.min, ReasonMinNotMet, a.Reasons)
		}
		placed += a.Replicas
		most = max(most, a.Replicas)
		sumHi = sum(sumHi, c.hi)
		sumLo = sum(sumLo, c.lo)
	}
	if in.Mode == ModeDuplicated {
		for _, a := range got.Assignments {
			if want := min(in.Total, b[a.Cluster].hi); a.Replicas != want {
				t.Fatalf("duplicated: %s got %d, want min(total, limit) = %d", a.Cluster, a.Replicas, want)
			}
		}
		if got.Unplaced != in.Total-most {
			t.Fatalf("duplicated: unplaced %d, want %d", got.Unplaced, in.Total-most)
		}
		return
	}
	if want := int64(min(uint64(in.Total), sumHi)); placed != want {
		t.Fatalf("placed %d replicas, want min(total %d, room %d) = %d: %v", placed, in.Total, sumHi, want, got.Assignments)
	}
	if placed+got.Unplaced != in.Total {
		t.Fatalf("placed %d + unplaced %d != total %d", placed, got.Unplaced, in.Total)
	}
	total := uint64(in.Total)
	if (got.Unplaced > 0 || sumLo > total) != (got.Message != "") {
		t.Fatalf("unplaced %d, minimums %d of %d, message %q", got.Unplaced, sumLo, in.Total, got.Message)
	}
	if sumLo > total {
		return
	}
	for _, a := range got.Assignments {
		if c := b[a.Cluster]; a.Replicas < c.lo {
			t.Fatalf("%s: %d replicas under its reachable minimum %d although the minimums fit", a.Cluster, a.Replicas, c.lo)
		}
	}
	if in.Rebalance {
		checkProportional(t, got, b)
		return
	}
	// Rebalance off: when what runs (clamped to the bounds) fits in the
	// total, no cluster loses any; when it exceeds it, no cluster gains any.
	starts := map[string]int64{}
	var sumStart uint64
	for _, c := range in.Clusters {
		fc := b[c.Name]
		s := max(fc.lo, min(fc.hi, c.Current))
		starts[c.Name] = s
		sumStart = sum(sumStart, s)
	}
	for _, a := range got.Assignments {
		s := starts[a.Cluster]
		if sumStart <= total && a.Replicas < s {
			t.Fatalf("%s: went from %d to %d although the total grew", a.Cluster, s, a.Replicas)
		}
		if sumStart >= total && a.Replicas > s {
			t.Fatalf("%s: went from %d to %d although the total shrank", a.Cluster, s, a.Replicas)
		}
	}
}

// checkProportional checks that clusters whose count is set by weight alone
// got the floor or the ceiling of their quota: for any two such clusters i
// and j, (n_i-lo_i-1)/w_i < (n_j-lo_j+1)/w_j.
func checkProportional(t *testing.T, got Plan, b boundsMap) {
	t.Helper()
	type free struct {
		name    string
		w       *big.Int
		shareLo *big.Int // n - lo - 1
		shareHi *big.Int // n - lo + 1
	}
	var frees []free
	for _, a := range got.Assignments {
		c := b[a.Cluster]
		if !c.eligible || c.noSchedule || c.weight == 0 || a.Replicas >= c.hi {
			continue
		}
		share := big.NewInt(a.Replicas - c.lo)
		frees = append(frees, free{
			name: a.Cluster, w: big.NewInt(c.weight),
			shareLo: new(big.Int).Sub(share, big.NewInt(1)),
			shareHi: new(big.Int).Add(share, big.NewInt(1)),
		})
	}
	for _, i := range frees {
		for _, j := range frees {
			l := new(big.Int).Mul(i.shareLo, j.w)
			r := new(big.Int).Mul(j.shareHi, i.w)
			if l.Cmp(r) >= 0 {
				t.Fatalf("%s and %s are not proportional to weights %v and %v: %v", i.name, j.name, i.w, j.w, got.Assignments)
			}
		}
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
