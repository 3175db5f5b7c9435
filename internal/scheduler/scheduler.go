package scheduler

import (
	"fmt"
	"math/bits"
	"sync"
)

// cluster is the scheduler's working state for one input cluster. It holds
// no pointers and fits in 64 bytes: for large fleets much of the cost of a
// plan is memory.
type cluster struct {
	current uint64
	weight  uint64
	min     uint64
	// limit is min(maxReplicas, capacity), unbounded when neither is set.
	limit uint64
	// hi bounds the count: the limit, lowered to the current count under
	// NoSchedule and to min for weight 0; 0 for an ineligible cluster.
	hi     uint64
	got    uint64
	target uint64    // divideKeeping: the proportional count
	why    reasonSet // reasons so far
	flags  clusterFlags
}

type clusterFlags uint8

const (
	eligible   clusterFlags = 1 << iota // ready, no NoExecute taint, has a preference
	noSchedule                          // eligible and tainted NoSchedule
	limitMax                            // maxReplicas sets the limit
	limitCap                            // capacity sets the limit
)

func (c *cluster) is(f clusterFlags) bool { return c.flags&f != 0 }

// lo is the minimum the cluster can reach: min(minReplicas, hi).
func (c *cluster) lo() uint64 { return min(c.min, c.hi) }

// limitWhy names what sets the limit: MaxCap, CapacityCap or both.
func (c *cluster) limitWhy() reasonSet {
	var why reasonSet
	if c.is(limitMax) {
		why |= whyMaxCap
	}
	if c.is(limitCap) {
		why |= whyCapacityCap
	}
	return why
}

// scratch is the working memory of one Schedule call that does not outlive
// it, reused across calls through scratchPool: at 1,000 clusters it is most
// of what a plan would otherwise allocate, and so of the garbage collector's
// work.
type scratch struct {
	order      []keyedName // nameOrder's keys and radix buffer, 2 per cluster
	clusters   []cluster
	shares     []share // for fill, len(clusters) capacity
	candidates []candidate
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// grow returns buf resized to n elements, reallocated only when too small.
func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}

// run holds one Schedule call's state. The clusters (in scratch) and out are
// in name order; load fills in out's names.
type run struct {
	*scratch
	input   []Cluster
	total   uint64
	keyHash uint64 // FNV-1a state after key + "/"
	out     []Assignment
	sumLo   uint64 // saturating
	sumHi   uint64 // saturating
}

func (r *run) name(i int) string { return r.out[i].Cluster }

// Schedule computes the replica plan for in. It fails only on malformed
// input, with an error that wraps ErrInvalidInput and names the field.
func Schedule(in Input) (Plan, error) {
	mode := in.Mode
	if mode == "" {
		mode = ModeDivided
	}
	if mode != ModeDivided && mode != ModeDuplicated {
		return Plan{}, fmt.Errorf("%w: mode %q: must be %q or %q", ErrInvalidInput, in.Mode, ModeDivided, ModeDuplicated)
	}
	if in.Total < 0 {
		return Plan{}, fmt.Errorf("%w: totalReplicas %d: must not be negative", ErrInvalidInput, in.Total)
	}
	if err := validatePreferences(in.Preferences); err != nil {
		return Plan{}, err
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	r := &run{scratch: sc, input: in.Clusters, total: uint64(in.Total), keyHash: fnvAdd(fnvAdd(fnvOffset64, in.Key), "/")}
	if err := r.load(in.Preferences); err != nil {
		return Plan{}, err
	}
	switch {
	case mode == ModeDuplicated:
		r.duplicate()
	case in.Rebalance:
		r.divide()
	default:
		r.divideKeeping()
	}
	return r.plan(mode), nil
}

// validatePreferences checks every preference. When several are wrong it
// reports the one with the smallest key, so the error does not depend on map
// order.
func validatePreferences(prefs map[string]Preference) error {
	var bad string
	var err error
	for name, p := range prefs {
		if e := validatePreference(name, p); e != nil && (err == nil || name < bad) {
			bad, err = name, e
		}
	}
	return err
}

func validatePreference(name string, p Preference) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: clusters[%q]: the cluster name must not be empty", ErrInvalidInput, name)
	case p.Weight < 0:
		return fmt.Errorf("%w: clusters[%q].weight %d: must not be negative", ErrInvalidInput, name, p.Weight)
	case p.MinReplicas < 0:
		return fmt.Errorf("%w: clusters[%q].minReplicas %d: must not be negative", ErrInvalidInput, name, p.MinReplicas)
	case p.MaxReplicas != nil && *p.MaxReplicas < 0:
		return fmt.Errorf("%w: clusters[%q].maxReplicas %d: must not be negative", ErrInvalidInput, name, *p.MaxReplicas)
	case p.MaxReplicas != nil && p.MinReplicas > *p.MaxReplicas:
		return fmt.Errorf("%w: clusters[%q].minReplicas %d: must not exceed maxReplicas %d", ErrInvalidInput, name, p.MinReplicas, *p.MaxReplicas)
	}
	return nil
}

// load validates the clusters (in name order, so the first error reported
// does not depend on input order), resolves their preferences and sets their
// bounds.
func (r *run) load(prefs map[string]Preference) error {
	r.order = grow(r.order, 2*len(r.input))
	order := nameOrder(r.input, r.order)
	def, hasDef := prefs[DefaultPreference]
	onlyDefault := hasDef && len(prefs) == 1 // no need to look up each cluster
	r.clusters = grow(r.clusters, len(r.input))
	clear(r.clusters)
	r.out = make([]Assignment, len(r.input))
	r.shares = grow(r.shares, len(r.input))[:0]
	for k, o := range order {
		src := &r.input[o.idx]
		if err := validateCluster(int(o.idx), src); err != nil {
			return err
		}
		if k > 0 && src.Name == r.out[k-1].Cluster {
			return fmt.Errorf("%w: clusters[%d]: cluster %q is listed more than once", ErrInvalidInput, o.idx, src.Name)
		}
		r.out[k].Cluster = src.Name
		c := &r.clusters[k]
		pref, ok := def, hasDef
		if !onlyDefault {
			if p, named := prefs[src.Name]; named {
				pref, ok = p, true
			}
		}
		tainted := false
		var why reasonSet
		for _, t := range src.Taints {
			switch t {
			case TaintEffectNoExecute:
				why |= whyNoExecute
			case TaintEffectNoSchedule:
				tainted = true
			}
		}
		if !src.Ready {
			why |= whyNotReady
		}
		if !ok {
			why |= whyNoPreference
		}
		if why != 0 {
			c.why = why
			continue
		}

		c.flags = eligible
		c.current, c.weight, c.min = uint64(src.Current), uint64(pref.Weight), uint64(pref.MinReplicas)
		c.limit = unbounded
		if pref.MaxReplicas != nil {
			c.limit = uint64(*pref.MaxReplicas)
			c.flags |= limitMax
		}
		if src.Capacity != nil {
			switch capacity := uint64(*src.Capacity); {
			case capacity < c.limit:
				c.limit = capacity
				c.flags = c.flags&^limitMax | limitCap
			case capacity == c.limit:
				c.flags |= limitCap
			}
		}
		c.hi = c.limit
		if tainted {
			c.flags |= noSchedule
			why |= whyNoSchedule
			c.hi = min(c.hi, c.current)
		}
		if c.weight == 0 {
			why |= whyZeroWeight
			c.hi = min(c.hi, c.min)
		}
		if c.limit < c.min || (tainted && c.current > c.limit) {
			// The limit keeps the minimum out of reach, or takes away
			// replicas that a NoSchedule cluster runs.
			why |= c.limitWhy()
		}
		c.why = why
		r.sumLo = satAdd(r.sumLo, c.lo())
		r.sumHi = satAdd(r.sumHi, c.hi)
	}
	return nil
}

func validateCluster(i int, c *Cluster) error {
	switch {
	case c.Name == "" || c.Name == DefaultPreference:
		return fmt.Errorf("%w: clusters[%d]: name %q is not a cluster name", ErrInvalidInput, i, c.Name)
	case c.Current < 0:
		return fmt.Errorf("%w: cluster %q: current replicas %d: must not be negative", ErrInvalidInput, c.Name, c.Current)
	case c.Capacity != nil && *c.Capacity < 0:
		return fmt.Errorf("%w: cluster %q: capacity %d: must not be negative", ErrInvalidInput, c.Name, *c.Capacity)
	}
	return nil
}

// plan builds the output, with one Reasons backing array for all clusters.
func (r *run) plan(mode Mode) Plan {
	var placed, most uint64
	nReasons := 0
	for i := range r.clusters {
		c := &r.clusters[i]
		placed += c.got
		most = max(most, c.got)
		nReasons += bits.OnesCount16(uint16(c.why))
	}
	p := Plan{Assignments: r.out}
	reasons := make([]Reason, 0, nReasons)
	for i := range r.clusters {
		c := &r.clusters[i]
		start := len(reasons)
		for why := c.why; why != 0; why &= why - 1 {
			reasons = append(reasons, allReasons[bits.TrailingZeros16(uint16(why))])
		}
		a := &p.Assignments[i]
		a.Replicas = int64(c.got)
		if len(reasons) > start {
			a.Reasons = reasons[start:len(reasons):len(reasons)]
		}
	}
	if mode == ModeDuplicated {
		p.Unplaced = int64(r.total - most)
	} else {
		p.Unplaced = int64(r.total - placed)
	}
	p.Message = r.message(mode, p.Unplaced, most)
	return p
}
