package scheduler

// divide computes the proportional plan: minimums first, then what NoSchedule
// clusters keep, then the rest by weight.
func (r *run) divide() {
	left := r.total
	if r.sumLo >= left {
		// The minimums take everything: share the total in proportion to them.
		shares := r.shares[:0]
		for i := range r.clusters {
			if lo := r.clusters[i].lo(); lo > 0 {
				shares = append(shares, share{idx: int32(i), weight: lo, room: lo})
			}
		}
		r.fill(shares, left)
		r.finishDivided()
		return
	}
	left -= r.sumLo
	for i := range r.clusters {
		r.clusters[i].got = r.clusters[i].lo()
	}

	// NoSchedule clusters keep what they run before anything is shared.
	shares := r.shares[:0]
	for i := range r.clusters {
		if c := &r.clusters[i]; c.is(noSchedule) && c.weight > 0 && c.hi > c.got {
			shares = append(shares, share{idx: int32(i), weight: c.weight, room: c.hi - c.got})
		}
	}
	left -= r.fill(shares, left)

	// The rest is shared by weight. A cluster already at its limit would
	// have taken a share, so it is capped too.
	shares = r.shares[:0]
	for i := range r.clusters {
		c := &r.clusters[i]
		if c.flags&(eligible|noSchedule) != eligible || c.weight == 0 {
			continue
		}
		if c.hi == c.got {
			if left > 0 {
				c.why |= c.limitWhy()
			}
			continue
		}
		shares = append(shares, share{idx: int32(i), weight: c.weight, room: c.hi - c.got})
	}
	r.fill(shares, left)
	for _, s := range shares {
		c := &r.clusters[s.idx]
		if c.got > c.lo() {
			c.why |= whyWeight
		}
		if s.capped {
			c.why |= c.limitWhy()
		}
	}
	r.finishDivided()
}

// finishDivided adds the reasons about minimums.
func (r *run) finishDivided() {
	for i := range r.clusters {
		c := &r.clusters[i]
		if c.min == 0 {
			continue
		}
		if c.lo() > 0 && c.got > 0 {
			c.why |= whyMin
		}
		if c.got < c.min {
			c.why |= whyMinNotMet
		}
	}
}

// start is where divideKeeping starts from: the current count clamped to the
// cluster's bounds. When the minimums cannot all be met (feasible is false),
// no cluster gets more than its own minimum.
func (c *cluster) start(feasible bool) uint64 {
	if !feasible {
		return min(c.current, c.lo())
	}
	return max(c.lo(), min(c.hi, c.current))
}

// divideKeeping computes the plan that moves the fewest replicas. It starts
// from what each cluster runs, clamped to its bounds, and moves toward the
// proportional plan only as far as the total requires: when the start is
// short, the difference goes to the clusters below their proportional count,
// in proportion to how far below they are; when it is over, the clusters
// above their proportional count give back, in proportion to how far above
// they are. Each count ends between its start and its proportional count. A cluster that ends
// at its proportional count has that count's reasons; Kept marks only the clusters that differ
// from their share because rebalancing is off.
func (r *run) divideKeeping() {
	r.divide()
	feasible := r.sumLo <= r.total
	var sumStart, sumTarget, sumBelow uint64
	for i := range r.clusters {
		c := &r.clusters[i]
		c.target = c.got
		start := c.start(feasible)
		sumStart = satAdd(sumStart, start)
		sumTarget += c.target
		sumBelow += min(start, c.target)
	}

	shares := r.shares[:0]
	if sumStart <= sumTarget {
		for i := range r.clusters {
			c := &r.clusters[i]
			c.got = c.start(feasible)
			if c.got < c.target {
				d := c.target - c.got
				shares = append(shares, share{idx: int32(i), weight: d, room: d})
			}
		}
		r.fill(shares, sumTarget-sumStart)
	} else {
		for i := range r.clusters {
			c := &r.clusters[i]
			if start := c.start(feasible); start > c.target {
				d := start - c.target
				shares = append(shares, share{idx: int32(i), weight: d, room: d})
			} else {
				c.got = start
			}
		}
		r.fill(shares, sumTarget-sumBelow)
	}

	for i := range r.clusters {
		c := &r.clusters[i]
		if !c.is(eligible) {
			continue
		}
		if c.got == c.target {
			// At its proportional share: the reasons of the share explain it, and Kept would
			// only hide them.
			continue
		}
		start := c.start(feasible)
		targetCapped := c.why&(whyMaxCap|whyCapacityCap) != 0
		c.why &= whyZeroWeight | whyNoSchedule
		if min(c.current, c.got) > 0 {
			c.why |= whyKept
		}
		if c.current < start {
			c.why |= whyMin // raised to its minimum
		}
		if c.got != start {
			if feasible {
				c.why |= whyWeight
			} else {
				c.why |= whyMin
			}
		}
		if c.limit < c.min || c.current > c.limit || (targetCapped && c.got == c.target && c.got == c.limit) {
			c.why |= c.limitWhy()
		}
		if c.got < c.min {
			c.why |= whyMinNotMet
		}
	}
}

// duplicate gives every eligible cluster the whole total, within its bounds.
func (r *run) duplicate() {
	for i := range r.clusters {
		c := &r.clusters[i]
		if !c.is(eligible) {
			continue
		}
		c.got = min(r.total, c.hi)
		wanted := r.total
		if c.is(noSchedule) {
			wanted = min(wanted, c.current)
		}
		if c.weight == 0 {
			wanted = min(wanted, c.min)
		}
		if wanted > c.limit {
			c.why |= c.limitWhy()
		}
		if c.got > 0 && c.weight > 0 && !c.is(noSchedule) {
			c.why |= whyDuplicated
		}
		if c.got > 0 && c.weight == 0 {
			c.why |= whyMin
		}
		if c.got < c.min {
			c.why |= whyMinNotMet
		}
	}
}
