package dev

import (
	"fmt"
	"net/netip"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/localcluster"
)

// geoTable is the geo table of the local federation's FederatedDomain: the region of member i
// has the client networks 10.(i+1).0.0/16 and 2001:db8:(i+1)::/48. They are SIMULATED client
// networks, private (RFC 1918) and documentation (RFC 3849) ranges, not any cloud's: a client
// "in us-east1" is one whose EDNS0 client subnet says 10.1.x.x (dig +subnet=10.1.0.7).
func geoTable(members []localcluster.Topology) []v1alpha1.GeoRegion {
	var geo []v1alpha1.GeoRegion
	seen := map[string]bool{}
	for i, m := range members {
		if m.Region == "" || seen[m.Region] {
			continue
		}
		seen[m.Region] = true
		geo = append(geo, v1alpha1.GeoRegion{Region: m.Region, CIDRs: []string{
			fmt.Sprintf("10.%d.0.0/16", i+1), fmt.Sprintf("2001:db8:%x::/48", i+1)}})
	}
	return geo
}

// clientIn is an address in the first region of geo ("10.1.0.7"), for the help text.
func clientIn(geo []v1alpha1.GeoRegion) string {
	if len(geo) == 0 {
		return "<address>"
	}
	p, err := netip.ParsePrefix(geo[0].CIDRs[0])
	if err != nil || !p.Addr().Is4() {
		return "<address>"
	}
	a := p.Addr().As4()
	a[3] = 7
	return netip.AddrFrom4(a).String()
}
