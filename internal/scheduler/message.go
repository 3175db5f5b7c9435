package scheduler

import (
	"fmt"
	"math"
	"strings"
)

// message explains a plan that leaves replicas unplaced or minimums unmet.
func (r *run) message(mode Mode, unplaced int64, most uint64) string {
	var parts []string
	if mode == ModeDivided && r.sumLo > r.total {
		if r.sumLo == math.MaxUint64 {
			parts = append(parts, fmt.Sprintf("minReplicas add up to more than totalReplicas %d", r.total))
		} else {
			parts = append(parts, fmt.Sprintf("minReplicas add up to %d, more than totalReplicas %d", r.sumLo, r.total))
		}
	}
	switch {
	case unplaced == 0:
	case r.sumHi == 0:
		parts = append(parts, "no cluster can take replicas: "+r.blocked())
	case mode == ModeDuplicated:
		parts = append(parts, fmt.Sprintf("no cluster can run all %d replicas: the most one can run is %d", r.total, most))
	default:
		parts = append(parts, fmt.Sprintf("%d of %d replicas could not be placed: every cluster that can take replicas "+
			"is at its limit (maxReplicas, capacity, minReplicas under weight 0, or what it runs under NoSchedule)", unplaced, r.total))
	}
	return strings.Join(parts, "; ")
}

// blocked counts the clusters that can take no replica, by their first reason.
func (r *run) blocked() string {
	if len(r.clusters) == 0 {
		return "there are no clusters"
	}
	var notReady, noExecute, noPref, zeroWeight, untouchable, limited int
	for i := range r.clusters {
		c := &r.clusters[i]
		switch {
		case c.why&whyNotReady != 0:
			notReady++
		case c.why&whyNoExecute != 0:
			noExecute++
		case c.why&whyNoPreference != 0:
			noPref++
		case c.limit == 0:
			limited++
		case c.weight == 0:
			zeroWeight++
		case c.is(noSchedule):
			untouchable++
		}
	}
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{
		{notReady, "not ready"},
		{noExecute, "tainted NoExecute"},
		{noPref, "without a preference"},
		{limited, "with maxReplicas or capacity 0"},
		{zeroWeight, "with weight 0 and no minReplicas"},
		{untouchable, "tainted NoSchedule and running none"},
	} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	return strings.Join(parts, ", ")
}
