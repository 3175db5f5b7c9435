package dns_test

import (
	"strings"
	"testing"

	"github.com/kfed-io/kfed/internal/dns"
)

// FuzzPlanService feeds the planner clusters built from arbitrary text and checks what must
// hold for every input: no panic; the strict in-memory zone takes the plan (no CNAME beside
// other records, valid addresses, one target per CNAME, names in the domain); Diff of the
// plan against itself is empty; every record carries its resource; and there are records only
// when there is a global one (no fallback CNAME into nothing).
func FuzzPlanService(f *testing.F) {
	f.Add("us-east1,us-east1-b,10.0.0.1,1;europe-west1,,2001:db8::1,0;,,lb.example.net,1")
	f.Add("r,z,,1;r,z,a.example.net b.example.net,1;R,Z,::ffff:1.2.3.4,1")
	f.Add("bad region,x,10.0.0.300,1;r,zone_1,host_name,1")
	f.Fuzz(func(t *testing.T, spec string) {
		clusters := strings.Split(spec, ";")
		targets := make([]dns.ServiceTarget, 0, len(clusters))
		for i, c := range clusters {
			fields := strings.Split(c, ",")
			for len(fields) < 4 {
				fields = append(fields, "")
			}
			tg := dns.ServiceTarget{Cluster: string(rune('a' + i%26)), Region: fields[0], Zone: fields[1], Healthy: fields[3] == "1"}
			for _, a := range strings.Fields(fields[2]) {
				if strings.ContainsAny(a, ":") || strings.Trim(a, "0123456789.") == "" {
					tg.IPs = append(tg.IPs, a)
				} else {
					tg.Hostnames = append(tg.Hostnames, a)
				}
			}
			targets = append(targets, tg)
		}
		plan, err := dns.PlanService(dns.ServiceInput{
			Name: "web", Namespace: "shop", FederationName: "myfed", Domain: "example.com", TTL: 30, Targets: targets,
		})
		if err != nil {
			t.Fatalf("PlanService refused valid service fields: %v", err)
		}
		expectZoneTakes(t, plan.Endpoints)
		hasGlobal := false
		for _, e := range plan.Endpoints {
			if e.DNSName == "web.shop.myfed.svc.example.com" {
				hasGlobal = true
			}
			if e.Labels[dns.LabelResource] != "FederatedService/shop/web" {
				t.Fatalf("%s carries no resource label", e)
			}
		}
		if hasGlobal != (len(plan.Endpoints) > 0) {
			t.Fatalf("records without a global name (or the reverse): %v", plan.Endpoints)
		}
	})
}
