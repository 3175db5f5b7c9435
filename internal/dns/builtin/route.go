package builtin

import (
	"math/rand/v2"
	"strings"

	"github.com/miekg/dns"

	kfeddns "github.com/kfed-io/kfed/internal/dns"
)

// route picks the records of an answer from the record sets of one name and type by their
// routing (kfeddns.Endpoint.Routing), when every set carries the same policy:
//
//   - Weighted: one record, from one set picked with a probability proportional to its weight
//     (uniformly among the sets when every weight is 0), then one of that set's records. One
//     record per answer keeps the weights through recursive resolvers, which reorder the records
//     of an answer but cannot make one record into another.
//   - Failover: every record of the primary sets while there is one, else of the others.
//   - Geo: every record of the sets whose region is the client's, else of every set.
//
// A plain set, or sets of mixed or no routing, are answered whole, as before. byRegion tells
// whether the answer depends on the client's region (Geo), which sets the scope of the reply's
// EDNS0 client subnet.
func route(client Client, sets []RecordSet) (rrs []dns.RR, byRegion bool) {
	switch policyOf(sets) {
	case kfeddns.RoutingWeighted:
		if s := pickWeighted(sets); len(s.RRs) > 0 {
			return []dns.RR{s.RRs[rand.IntN(len(s.RRs))]}, false //nolint:gosec // load spreading, not security
		}
		return nil, false
	case kfeddns.RoutingFailover:
		var primaries []RecordSet
		for _, s := range sets {
			if s.Endpoint.Routing.Primary {
				primaries = append(primaries, s)
			}
		}
		if len(primaries) > 0 {
			return allOf(primaries), false
		}
		return allOf(sets), false
	case kfeddns.RoutingGeo:
		var local []RecordSet
		if client.Region != "" {
			for _, s := range sets {
				if strings.EqualFold(s.Endpoint.Routing.Region, client.Region) {
					local = append(local, s)
				}
			}
		}
		if len(local) > 0 {
			return allOf(local), true
		}
		return allOf(sets), true
	default:
		return allOf(sets), false
	}
}

// policyOf is the routing policy every set carries, or "" when one has none or they differ.
func policyOf(sets []RecordSet) string {
	policy := ""
	for i, s := range sets {
		if s.Endpoint == nil || s.Endpoint.Routing == nil || s.Endpoint.SetIdentifier == "" {
			return ""
		}
		if i == 0 {
			policy = s.Endpoint.Routing.Policy
		} else if s.Endpoint.Routing.Policy != policy {
			return ""
		}
	}
	return policy
}

// pickWeighted picks one set with a probability proportional to its weight.
func pickWeighted(sets []RecordSet) RecordSet {
	var total int64
	for _, s := range sets {
		total += max(s.Endpoint.Routing.Weight, 0)
	}
	if total <= 0 {
		return sets[rand.IntN(len(sets))] //nolint:gosec // load spreading, not security
	}
	n := rand.Int64N(total) //nolint:gosec // load spreading, not security
	for _, s := range sets {
		if w := max(s.Endpoint.Routing.Weight, 0); n < w {
			return s
		} else {
			n -= w
		}
	}
	return sets[len(sets)-1]
}

func allOf(sets []RecordSet) []dns.RR {
	if len(sets) == 1 {
		return sets[0].RRs
	}
	var out []dns.RR
	for _, s := range sets {
		out = append(out, s.RRs...)
	}
	return out
}
