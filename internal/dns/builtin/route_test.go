package builtin

import (
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	kfeddns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/inmemory"
)

const shop = "shop.example.com"

// glb is a builtin server answering one zone whose records come from PlanIngress, as the
// Ingress controller will put them there: the whole path from planner to answer.
type glb struct {
	srv   *Server
	store *inmemory.Zone
}

// startGLB serves example.com with a geo table: 10.1.0.0/16 is us-east1, 10.2.0.0/16
// europe-west1, and the loopback source of queries without a client subnet europe-west1.
func startGLB(t testing.TB) *glb {
	t.Helper()
	geo, err := NewGeoTable([]GeoRegion{
		{Region: "us-east1", CIDRs: []string{"10.1.0.0/16"}},
		{Region: "europe-west1", CIDRs: []string{"10.2.0.0/16", "127.0.0.0/8"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	g := &glb{srv: NewServer(), store: inmemory.New(inmemory.Domain("example.com"))}
	if err := g.srv.SetZone(Zone{Name: "example.com", Store: g.store, Geo: geo}); err != nil {
		t.Fatal(err)
	}
	serve(t, g.srv)
	return g
}

// publish plans the global address of the clusters with strategy and puts it in the store.
func (g *glb) publish(t testing.TB, strategy string, clusters ...kfeddns.IngressCluster) {
	t.Helper()
	plan, err := kfeddns.PlanIngress(kfeddns.IngressInput{
		Name: "web", Namespace: "shop", Host: shop, Domain: "example.com", TTL: 5,
		Strategy: strategy, PrimaryRegion: "us-east1", Clusters: clusters,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.store.Replace(plan.Endpoints); err != nil {
		t.Fatal(err)
	}
}

func cluster(name, region string, endpoints int64, ips ...string) kfeddns.IngressCluster {
	return kfeddns.IngressCluster{Cluster: name, Region: region, Ready: true, IPs: ips, ReadyEndpoints: endpoints}
}

// ask queries shop.example.com A over UDP, with a client subnet when subnet is not empty, and
// returns the addresses answered and the scope of the echoed subnet (-1 when none came back).
func (g *glb) ask(t *testing.T, subnet string, bits uint8) (addrs []string, scope int) {
	t.Helper()
	m := query(shop, dns.TypeA)
	if subnet != "" {
		m = ecsQuery(shop, 1, subnet, bits)
	}
	c := &dns.Client{Net: "udp", Timeout: 30 * time.Second}
	r, _, err := c.Exchange(m, g.srv.Addr())
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if r.Rcode != dns.RcodeSuccess {
		t.Fatalf("rcode %s", dns.RcodeToString[r.Rcode])
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			addrs = append(addrs, a.A.String())
		}
	}
	scope = -1
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_SUBNET); ok {
				scope = int(e.SourceScope)
			}
		}
	}
	return sorted(addrs), scope
}

func expectAddrs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: answered %v, want %v", what, got, want)
	}
}

func TestGeoAnswersTheClientsRegion(t *testing.T) {
	g := startGLB(t)
	us := cluster("us", "us-east1", 2, "192.0.2.1")
	eu := cluster("eu", "europe-west1", 2, "192.0.2.2")
	g.publish(t, kfeddns.RoutingGeo, us, eu)

	got, scope := g.ask(t, "10.1.2.0", 24)
	expectAddrs(t, "a client subnet in us-east1", got, "192.0.2.1")
	if scope != 24 {
		t.Errorf("scope %d for an answer picked by the client's region, want the source prefix 24", scope)
	}
	got, _ = g.ask(t, "10.2.3.0", 24)
	expectAddrs(t, "a client subnet in europe-west1", got, "192.0.2.2")
	got, scope = g.ask(t, "198.51.100.0", 24)
	expectAddrs(t, "a client subnet in no region", got, "192.0.2.1", "192.0.2.2")
	if scope != 24 {
		t.Errorf("scope %d for a subnet in no region (another subnet may get another answer), want 24", scope)
	}
	got, _ = g.ask(t, "", 0)
	expectAddrs(t, "no client subnet: the source address (loopback, europe-west1)", got, "192.0.2.2")

	// us-east1's cluster goes down: the planner drops its set, and both clients get the survivor.
	us.ReadyEndpoints = 0
	g.publish(t, kfeddns.RoutingGeo, us, eu)
	for _, subnet := range []string{"10.1.2.0", "10.2.3.0"} {
		got, _ = g.ask(t, subnet, 24)
		expectAddrs(t, "with us-east1 down, client "+subnet, got, "192.0.2.2")
	}
}

// share asks n times and returns the fraction of answers that were want; every answer must
// hold exactly one address.
func (g *glb) share(t *testing.T, n int, want string) float64 {
	t.Helper()
	hits := 0
	for range n {
		got, scope := g.ask(t, "10.1.2.0", 24)
		if len(got) != 1 {
			t.Fatalf("a weighted answer holds %v, want one address", got)
		}
		if scope != 0 {
			t.Fatalf("scope %d for a weighted answer, which does not depend on the client; want 0", scope)
		}
		if got[0] == want {
			hits++
		}
	}
	return float64(hits) / float64(n)
}

func TestWeightedAnswersFollowTheWeights(t *testing.T) {
	g := startGLB(t)
	const n = 400
	a := cluster("a", "us-east1", 3, "192.0.2.1")
	b := cluster("b", "europe-west1", 1, "192.0.2.2")
	g.publish(t, kfeddns.RoutingWeighted, a, b)
	if got := g.share(t, n, "192.0.2.1"); got < 0.65 || got > 0.85 {
		t.Errorf("weights 3:1: cluster a in %.0f%% of %d answers, want 75%% ± 10", 100*got, n)
	}

	// The replicas move: the endpoints (and so the weights) turn 1:3.
	a.ReadyEndpoints, b.ReadyEndpoints = 1, 3
	g.publish(t, kfeddns.RoutingWeighted, a, b)
	if got := g.share(t, n, "192.0.2.1"); got < 0.15 || got > 0.35 {
		t.Errorf("weights 1:3: cluster a in %.0f%% of %d answers, want 25%% ± 10", 100*got, n)
	}
}

func TestFailoverFlipsAndComesBack(t *testing.T) {
	g := startGLB(t)
	us1 := cluster("us-1", "us-east1", 1, "192.0.2.1")
	us2 := cluster("us-2", "us-east1", 1, "192.0.2.3")
	eu := cluster("eu", "europe-west1", 1, "192.0.2.2")
	g.publish(t, kfeddns.RoutingFailover, us1, us2, eu)
	got, _ := g.ask(t, "", 0)
	expectAddrs(t, "primary region healthy", got, "192.0.2.1", "192.0.2.3")

	us1.Ready = false
	g.publish(t, kfeddns.RoutingFailover, us1, us2, eu)
	got, _ = g.ask(t, "", 0)
	expectAddrs(t, "primary region partly down", got, "192.0.2.3")

	us2.Ready = false
	g.publish(t, kfeddns.RoutingFailover, us1, us2, eu)
	got, _ = g.ask(t, "", 0)
	expectAddrs(t, "primary region down", got, "192.0.2.2")

	us1.Ready, us2.Ready = true, true
	g.publish(t, kfeddns.RoutingFailover, us1, us2, eu)
	got, _ = g.ask(t, "", 0)
	expectAddrs(t, "primary region back", got, "192.0.2.1", "192.0.2.3")
}

// TestFailoverAtTheServer proves the server's own failover rule, with sets as a provider other
// than the planner may write them: several primaries, answered while one is there.
func TestFailoverAtTheServer(t *testing.T) {
	g := startGLB(t)
	set := func(id string, primary bool, ip string) *kfeddns.Endpoint {
		return &kfeddns.Endpoint{DNSName: shop, RecordType: "A", Targets: []string{ip}, TTL: 5, SetIdentifier: id,
			Routing: &kfeddns.Routing{Policy: kfeddns.RoutingFailover, Primary: primary}}
	}
	if err := g.store.Replace([]*kfeddns.Endpoint{set("p1", true, "192.0.2.1"), set("p2", true, "192.0.2.3"), set("s", false, "192.0.2.2")}); err != nil {
		t.Fatal(err)
	}
	got, _ := g.ask(t, "", 0)
	expectAddrs(t, "two primaries", got, "192.0.2.1", "192.0.2.3")
	if err := g.store.Replace([]*kfeddns.Endpoint{set("s", false, "192.0.2.2"), set("s2", false, "192.0.2.4")}); err != nil {
		t.Fatal(err)
	}
	got, _ = g.ask(t, "", 0)
	expectAddrs(t, "no primary", got, "192.0.2.2", "192.0.2.4")
}

// TestWeightedCNAMEAnswersOneTarget: load balancers known by name give one CNAME set per cluster;
// an answer holds one CNAME, picked by weight.
func TestWeightedCNAMEAnswersOneTarget(t *testing.T) {
	g := startGLB(t)
	plan, err := kfeddns.PlanIngress(kfeddns.IngressInput{
		Name: "web", Namespace: "shop", Host: shop, Domain: "example.com", TTL: 5, Strategy: kfeddns.RoutingWeighted,
		Clusters: []kfeddns.IngressCluster{
			{Cluster: "a", Ready: true, ReadyEndpoints: 1, Hostnames: []string{"lb-a.example.net"}},
			{Cluster: "b", Ready: true, ReadyEndpoints: 1, Hostnames: []string{"lb-b.example.net"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.store.Replace(plan.Endpoints); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range 100 {
		c := &dns.Client{Net: "udp", Timeout: 30 * time.Second}
		r, _, err := c.Exchange(query(shop, dns.TypeA), g.srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Answer) != 1 {
			t.Fatalf("answer %v, want one CNAME", r.Answer)
		}
		seen[r.Answer[0].(*dns.CNAME).Target]++
	}
	if seen["lb-a.example.net."] == 0 || seen["lb-b.example.net."] == 0 {
		t.Errorf("weights 1:1 answered %v over 100 queries, want both", seen)
	}
}
