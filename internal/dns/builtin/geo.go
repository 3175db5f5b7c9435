package builtin

import (
	"fmt"
	"net/netip"
	"slices"
)

// GeoRegion is the client networks of one region (FederatedDomain spec.provider.builtin.geo).
type GeoRegion struct {
	Region string
	CIDRs  []string
}

// GeoTable maps client addresses to regions by the longest matching prefix.
type GeoTable struct {
	entries []geoEntry // longest prefix first
}

type geoEntry struct {
	prefix netip.Prefix
	region string
}

// NewGeoTable builds the table; a CIDR that does not parse, or one given to two regions, is
// an error naming it. An IPv4-mapped IPv6 prefix is taken as the IPv4 prefix it maps.
func NewGeoTable(regions []GeoRegion) (*GeoTable, error) {
	t := &GeoTable{}
	owner := map[netip.Prefix]string{}
	for _, r := range regions {
		if r.Region == "" {
			return nil, fmt.Errorf("a geo entry has no region")
		}
		for _, c := range r.CIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("geo region %s: %q is not a CIDR: %w", r.Region, c, err)
			}
			p = unmapPrefix(p).Masked()
			if prev, ok := owner[p]; ok && prev != r.Region {
				return nil, fmt.Errorf("geo: %s is given to both %s and %s", p, prev, r.Region)
			}
			owner[p] = r.Region
			t.entries = append(t.entries, geoEntry{prefix: p, region: r.Region})
		}
	}
	slices.SortStableFunc(t.entries, func(a, b geoEntry) int { return b.prefix.Bits() - a.prefix.Bits() })
	return t, nil
}

// Region returns the region of addr, or "" when no entry holds it (or the table is nil).
func (t *GeoTable) Region(addr netip.Addr) string {
	if t == nil || !addr.IsValid() {
		return ""
	}
	addr = addr.Unmap()
	for _, e := range t.entries {
		if e.prefix.Contains(addr) {
			return e.region
		}
	}
	return ""
}

// Len is the number of prefixes in the table.
func (t *GeoTable) Len() int {
	if t == nil {
		return 0
	}
	return len(t.entries)
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}
