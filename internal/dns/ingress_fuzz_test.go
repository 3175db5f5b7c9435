package dns_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/inmemory"
)

// FuzzPlanIngress feeds the global-address planner clusters built from arbitrary text under every
// strategy and checks what must hold for every input: no panic; the strict in-memory zone takes
// the plan; Diff of the plan against itself is empty; a name's sets of one type are either one
// plain set or all routed sets; every address in Addresses is published; and every cluster is
// either behind an address or reported in Omitted.
func FuzzPlanIngress(f *testing.F) {
	f.Add(uint8(0), "us-east1,10.0.0.1,1,3;europe-west1,2001:db8::1,1,0;,lb.example.net,1,1")
	f.Add(uint8(1), "r,a.example.net b.example.net,1,2;R,::ffff:1.2.3.4,1,5;r,10.0.0.300,1,1")
	f.Add(uint8(2), "us-east1,10.0.0.1,0,3;us-east1,10.0.0.2,1,1;asia,lb.example.net,1,1")
	f.Add(uint8(3), "us-east1,lb-a.example.net,1,1;eu,lb-b.example.net,1,1;eu,,1,1")
	strategies := []string{dns.StrategyRoundRobin, dns.RoutingWeighted, dns.RoutingFailover, dns.RoutingGeo}
	f.Fuzz(func(t *testing.T, s uint8, spec string) {
		specs := strings.Split(spec, ";")
		clusters := make([]dns.IngressCluster, 0, len(specs))
		for i, c := range specs {
			fields := strings.Split(c, ",")
			for len(fields) < 4 {
				fields = append(fields, "")
			}
			n, _ := strconv.ParseInt(fields[3], 10, 64)
			ic := dns.IngressCluster{Cluster: "c" + strconv.Itoa(i), Region: fields[0], Ready: fields[2] == "1", ReadyEndpoints: n}
			for _, a := range strings.Fields(fields[1]) {
				if strings.ContainsAny(a, ":") || strings.Trim(a, "0123456789.") == "" {
					ic.IPs = append(ic.IPs, a)
				} else {
					ic.Hostnames = append(ic.Hostnames, a)
				}
			}
			clusters = append(clusters, ic)
		}
		strategy := strategies[int(s)%len(strategies)]
		plan, err := dns.PlanIngress(dns.IngressInput{
			Name: "web", Namespace: "shop", Host: "shop.example.com", Domain: "example.com", TTL: 30,
			Strategy: strategy, PrimaryRegion: "us-east1", Clusters: clusters,
		})
		if err != nil {
			t.Fatalf("PlanIngress refused valid input: %v", err)
		}
		expectZoneTakes(t, plan.Endpoints)
		plain, routed := map[string]int{}, map[string]int{}
		var targets []string
		for _, e := range plan.Endpoints {
			if (e.SetIdentifier == "") != (e.Routing == nil) {
				t.Fatalf("%s: a set identifier without routing or the reverse", e)
			}
			if e.SetIdentifier == "" {
				plain[e.RecordType]++
			} else {
				routed[e.RecordType]++
			}
			targets = append(targets, e.Targets...)
		}
		for typ := range plain {
			if plain[typ] > 1 || routed[typ] > 0 {
				t.Fatalf("type %s mixes plain and routed sets: %v", typ, plan.Endpoints)
			}
		}
		reached := map[string]bool{}
		for _, a := range plan.Addresses {
			if (a.IP == "") == (a.Hostname == "") || !slices.Contains(targets, a.IP+a.Hostname) {
				t.Fatalf("address %+v is not one published target: %v", a, plan.Endpoints)
			}
			for _, c := range a.Clusters {
				reached[c] = true
			}
		}
		for _, c := range clusters {
			if !reached[c.Cluster] && !slices.ContainsFunc(plan.Omitted, func(o dns.Omission) bool { return o.Cluster == c.Cluster }) {
				t.Fatalf("cluster %s is neither behind an address nor reported: %+v", c.Cluster, plan)
			}
		}
	})
}

// expectZoneTakes checks what every plan must satisfy: the strict in-memory zone of example.com
// takes it, and its Diff against itself is empty.
func expectZoneTakes(t *testing.T, eps []*dns.Endpoint) {
	t.Helper()
	z := inmemory.New(inmemory.Domain("example.com"))
	if err := z.Replace(eps); err != nil {
		t.Fatalf("the strict zone refuses the plan: %v\n%v", err, eps)
	}
	changes, err := dns.Diff(eps, eps)
	if err != nil || !changes.Empty() {
		t.Fatalf("Diff of the plan against itself: %+v, %v", changes, err)
	}
}
