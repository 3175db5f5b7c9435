package builtin

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	kfeddns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/inmemory"
)

// TestServesWhatThePlanPublishes runs the chain the DNS controller will run — plan, diff
// against the registry's records, apply through the registry into the store — and reads the
// answers with a DNS client: every level holds its addresses; a cluster turning unhealthy
// turns its zone and region names into CNAMEs and drops its address from the global name;
// nothing healthy leaves every name NXDOMAIN; and it all comes back.
func TestServesWhatThePlanPublishes(t *testing.T) {
	store := inmemory.New()
	srv := NewServer()
	if err := srv.SetZone(Zone{Name: "example.com", Store: store}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	f := &fixture{srv: srv, store: store}
	reg, err := kfeddns.NewRegistry(store, "host")
	if err != nil {
		t.Fatal(err)
	}
	targets := []kfeddns.ServiceTarget{
		{Cluster: "us", Region: "us-east1", Zone: "us-east1-b", IPs: []string{"10.0.0.1"}, Healthy: true},
		{Cluster: "eu", Region: "europe-west1", Zone: "europe-west1-b", IPs: []string{"10.0.1.1"}, Healthy: true},
	}
	publish := func() {
		t.Helper()
		plan, err := kfeddns.PlanService(kfeddns.ServiceInput{
			Name: "web", Namespace: "shop", FederationName: "myfed", Domain: "example.com", TTL: 30, Targets: targets})
		if err != nil {
			t.Fatal(err)
		}
		current, err := reg.Records(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		changes, err := kfeddns.Diff(plan.Endpoints, current)
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.ApplyChanges(t.Context(), changes); err != nil {
			t.Fatal(err)
		}
	}
	answer := func(name string) (string, []string) {
		t.Helper()
		r := f.exchange(t, "udp", query(name, dns.TypeA))
		return dns.RcodeToString[r.Rcode], rrs(r.Answer)
	}
	check := func(step, name, wantRcode string, wantAnswer ...string) {
		t.Helper()
		rcode, got := answer(name)
		if rcode != wantRcode {
			t.Errorf("%s: %s: rcode %s, want %s", step, name, rcode, wantRcode)
		}
		if diff := cmp.Diff(sorted(wantAnswer), got); diff != "" {
			t.Errorf("%s: %s (-want +got):\n%s", step, name, diff)
		}
	}

	publish()
	check("all healthy", global, "NOERROR", global+". 30 IN A 10.0.0.1", global+". 30 IN A 10.0.1.1")
	check("all healthy", zoneN, "NOERROR", zoneN+". 30 IN A 10.0.1.1")

	targets[1].Healthy = false
	publish()
	check("eu unhealthy", global, "NOERROR", global+". 30 IN A 10.0.0.1")
	check("eu unhealthy", zoneN, "NOERROR",
		zoneN+". 30 IN CNAME "+region+".", region+". 30 IN CNAME "+global+".", global+". 30 IN A 10.0.0.1")

	targets[0].Healthy = false
	publish()
	check("healthy nowhere", global, "NXDOMAIN")
	check("healthy nowhere", zoneN, "NXDOMAIN")

	targets[0].Healthy, targets[1].Healthy = true, true
	publish()
	check("back", zoneN, "NOERROR", zoneN+". 30 IN A 10.0.1.1")

	// The ownership records are served too (TXT, beside the names they own).
	r := f.exchange(t, "udp", query(kfeddns.OwnershipName(global, "A"), dns.TypeTXT))
	want := []string{kfeddns.OwnershipName(global, "A") + `. 300 IN TXT "heritage=kfed,kfed/owner=host,kfed/resource=FederatedService/shop/web"`}
	if diff := cmp.Diff(want, rrs(r.Answer)); diff != "" {
		t.Errorf("ownership record (-want +got):\n%s", diff)
	}
}
