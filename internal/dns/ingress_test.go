package dns

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	shop   = "shop.example.com"
	ingRes = "FederatedIngress/shop/web"
)

func ingInput(strategy string, clusters ...IngressCluster) IngressInput {
	in := IngressInput{Name: "web", Namespace: "shop", Host: shop, Domain: "example.com", TTL: 30, Strategy: strategy, Clusters: clusters}
	if strategy == RoutingFailover {
		in.PrimaryRegion = "us-east1"
	}
	return in
}

// up is a healthy cluster: Ready, with its load-balancer targets and endpoints ready endpoints.
func up(name, region string, endpoints int64, targets ...string) IngressCluster {
	c := IngressCluster{Cluster: name, Region: region, Ready: true, ReadyEndpoints: endpoints}
	for _, t := range targets {
		if strings.ContainsAny(t, ":") || strings.Trim(t, "0123456789.") == "" {
			c.IPs = append(c.IPs, t)
		} else {
			c.Hostnames = append(c.Hostnames, t)
		}
	}
	return c
}

func notReady(c IngressCluster) IngressCluster { c.Ready = false; return c }

func draining(c IngressCluster) IngressCluster { c.Draining = true; return c }

func ingRec(typ, set string, routing *Routing, targets ...string) *Endpoint {
	return &Endpoint{
		DNSName: shop, RecordType: typ, Targets: targets, TTL: 30, SetIdentifier: set, Routing: routing,
		Labels: map[string]string{LabelResource: ingRes},
	}
}

func weighted(w int64, region string) *Routing {
	return &Routing{Policy: RoutingWeighted, Weight: w, Region: region}
}
func geo(region string) *Routing { return &Routing{Policy: RoutingGeo, Region: region} }

var (
	primary   = &Routing{Policy: RoutingFailover, Primary: true, Region: "us-east1"}
	secondary = &Routing{Policy: RoutingFailover}
)

func addr(ip string, clusters ...string) IngressAddress {
	return IngressAddress{IP: ip, Clusters: clusters}
}
func hostAddr(h string, clusters ...string) IngressAddress {
	return IngressAddress{Hostname: h, Clusters: clusters}
}
func omitted(cluster, target, reason string) Omission {
	return Omission{Name: shop, Cluster: cluster, Target: target, Reason: reason}
}

// fleet is the fixture of most cases: us-a and us-b in the primary region, eu and asia elsewhere.
func fleet() []IngressCluster {
	return []IngressCluster{
		up("us-a", "us-east1", 3, "10.0.0.1"),
		up("us-b", "us-east1", 2, "10.0.0.2"),
		up("eu", "europe-west1", 4, "10.0.1.1", "2001:db8::1"),
		up("asia", "asia-east1", 1, "10.0.2.1"),
	}
}

// fleetAddresses are the addresses of fleet() when every cluster is reached.
func fleetAddresses() []IngressAddress {
	return []IngressAddress{
		addr("10.0.0.1", "us-a"), addr("10.0.0.2", "us-b"), addr("10.0.1.1", "eu"), addr("10.0.2.1", "asia"), addr("2001:db8::1", "eu"),
	}
}

// down breaks the named clusters of fleet() in three different ways, in turn.
func down(names ...string) []IngressCluster {
	cs := fleet()
	for i := range cs {
		for j, n := range names {
			if cs[i].Cluster != n {
				continue
			}
			switch j % 3 {
			case 0:
				cs[i].Ready = false
			case 1:
				cs[i].ReadyEndpoints = 0
			case 2:
				cs[i].IPs = nil
			}
		}
	}
	return cs
}

func TestPlanIngress(t *testing.T) {
	allDown := []Omission{
		omitted("asia", "", OmitNoReadyEndpoints),
		omitted("eu", "", OmitClusterNotReady),
		omitted("us-a", "", OmitClusterNotReady),
		omitted("us-b", "", OmitNoLoadBalancerAddress),
	}
	tests := []struct {
		name          string
		in            IngressInput
		want          []*Endpoint
		wantAddresses []IngressAddress
		wantOmitted   []Omission
	}{
		{
			name: "RoundRobin, every cluster healthy: one plain set of every address, IPv6 as AAAA",
			in:   ingInput(StrategyRoundRobin, fleet()...),
			want: []*Endpoint{
				ingRec("A", "", nil, "10.0.0.1", "10.0.0.2", "10.0.1.1", "10.0.2.1"),
				ingRec("AAAA", "", nil, "2001:db8::1"),
			},
			wantAddresses: fleetAddresses(),
		},
		{
			name: "RoundRobin: not Ready, no ready endpoint and no load-balancer address each leave a cluster out",
			in:   ingInput(StrategyRoundRobin, down("eu", "asia", "us-b")...),
			want: []*Endpoint{
				ingRec("A", "", nil, "10.0.0.1"),
			},
			wantAddresses: []IngressAddress{addr("10.0.0.1", "us-a")},
			wantOmitted: []Omission{
				omitted("asia", "", OmitNoReadyEndpoints),
				omitted("eu", "", OmitClusterNotReady),
				omitted("us-b", "", OmitNoLoadBalancerAddress),
			},
		},
		{
			name:        "RoundRobin, nothing healthy: no record",
			in:          ingInput(StrategyRoundRobin, down("eu", "asia", "us-b", "us-a")...),
			wantOmitted: allDown,
		},
		{
			name: "Weighted: one set per cluster, weighted by its ready endpoints",
			in:   ingInput(RoutingWeighted, fleet()...),
			want: []*Endpoint{
				ingRec("A", "asia", weighted(1, "asia-east1"), "10.0.2.1"),
				ingRec("A", "eu", weighted(4, "europe-west1"), "10.0.1.1"),
				ingRec("A", "us-a", weighted(3, "us-east1"), "10.0.0.1"),
				ingRec("A", "us-b", weighted(2, "us-east1"), "10.0.0.2"),
				ingRec("AAAA", "eu", weighted(4, "europe-west1"), "2001:db8::1"),
			},
			wantAddresses: fleetAddresses(),
		},
		{
			name: "Weighted: an unhealthy cluster has no set; 0 ready endpoints is out, not weight 0",
			in:   ingInput(RoutingWeighted, down("eu", "asia")...),
			want: []*Endpoint{
				ingRec("A", "us-a", weighted(3, "us-east1"), "10.0.0.1"),
				ingRec("A", "us-b", weighted(2, "us-east1"), "10.0.0.2"),
			},
			wantAddresses: []IngressAddress{addr("10.0.0.1", "us-a"), addr("10.0.0.2", "us-b")},
			wantOmitted:   []Omission{omitted("asia", "", OmitNoReadyEndpoints), omitted("eu", "", OmitClusterNotReady)},
		},
		{
			name: "Weighted: the weight follows the endpoint count",
			in: ingInput(RoutingWeighted,
				up("us-a", "us-east1", 250, "10.0.0.1"),
				up("eu", "europe-west1", 750, "10.0.1.1"),
			),
			want: []*Endpoint{
				ingRec("A", "eu", weighted(750, "europe-west1"), "10.0.1.1"),
				ingRec("A", "us-a", weighted(250, "us-east1"), "10.0.0.1"),
			},
			wantAddresses: []IngressAddress{addr("10.0.0.1", "us-a"), addr("10.0.1.1", "eu")},
		},
		{
			name:        "Weighted, nothing healthy: no record",
			in:          ingInput(RoutingWeighted, down("eu", "asia", "us-b", "us-a")...),
			wantOmitted: allDown,
		},
		{
			name: "Failover, primary region healthy: the primary set answers, the others stand by in the secondary set",
			in:   ingInput(RoutingFailover, fleet()...),
			want: []*Endpoint{
				ingRec("A", SetPrimary, primary, "10.0.0.1", "10.0.0.2"),
				ingRec("A", SetSecondary, secondary, "10.0.1.1", "10.0.2.1"),
				ingRec("AAAA", SetSecondary, secondary, "2001:db8::1"),
			},
			wantAddresses: []IngressAddress{addr("10.0.0.1", "us-a"), addr("10.0.0.2", "us-b")},
			wantOmitted:   []Omission{omitted("asia", "", OmitStandby), omitted("eu", "", OmitStandby)},
		},
		{
			name: "Failover, primary region partly down: the primary set holds the healthy primary",
			in:   ingInput(RoutingFailover, down("us-a")...),
			want: []*Endpoint{
				ingRec("A", SetPrimary, primary, "10.0.0.2"),
				ingRec("A", SetSecondary, secondary, "10.0.1.1", "10.0.2.1"),
				ingRec("AAAA", SetSecondary, secondary, "2001:db8::1"),
			},
			wantAddresses: []IngressAddress{addr("10.0.0.2", "us-b")},
			wantOmitted: []Omission{
				omitted("asia", "", OmitStandby), omitted("eu", "", OmitStandby), omitted("us-a", "", OmitClusterNotReady),
			},
		},
		{
			name: "Failover, primary region down: no primary set, the secondary answers",
			in:   ingInput(RoutingFailover, down("us-a", "us-b", "asia")...),
			want: []*Endpoint{
				ingRec("A", SetSecondary, secondary, "10.0.1.1"),
				ingRec("AAAA", SetSecondary, secondary, "2001:db8::1"),
			},
			wantAddresses: []IngressAddress{addr("10.0.1.1", "eu"), addr("2001:db8::1", "eu")},
			wantOmitted: []Omission{
				omitted("asia", "", OmitNoLoadBalancerAddress), omitted("us-a", "", OmitClusterNotReady), omitted("us-b", "", OmitNoReadyEndpoints),
			},
		},
		{
			name: "Failover, only the primary region healthy: no secondary set",
			in:   ingInput(RoutingFailover, down("eu", "asia")...),
			want: []*Endpoint{
				ingRec("A", SetPrimary, primary, "10.0.0.1", "10.0.0.2"),
			},
			wantAddresses: []IngressAddress{addr("10.0.0.1", "us-a"), addr("10.0.0.2", "us-b")},
			wantOmitted:   []Omission{omitted("asia", "", OmitNoReadyEndpoints), omitted("eu", "", OmitClusterNotReady)},
		},
		{
			name:        "Failover, nothing healthy: no record",
			in:          ingInput(RoutingFailover, down("eu", "asia", "us-b", "us-a")...),
			wantOmitted: allDown,
		},
		{
			name: "Geo: one set per region, holding every cluster of the region",
			in:   ingInput(RoutingGeo, fleet()...),
			want: []*Endpoint{
				ingRec("A", "asia-east1", geo("asia-east1"), "10.0.2.1"),
				ingRec("A", "europe-west1", geo("europe-west1"), "10.0.1.1"),
				ingRec("A", "us-east1", geo("us-east1"), "10.0.0.1", "10.0.0.2"),
				ingRec("AAAA", "europe-west1", geo("europe-west1"), "2001:db8::1"),
			},
			wantAddresses: fleetAddresses(),
		},
		{
			name:          "RoundRobin: a draining cluster leaves the answer though healthy",
			in:            ingInput(StrategyRoundRobin, up("us-a", "us-east1", 3, "10.0.0.1"), draining(up("eu", "europe-west1", 4, "10.0.1.1"))),
			want:          []*Endpoint{ingRec("A", "", nil, "10.0.0.1")},
			wantAddresses: []IngressAddress{addr("10.0.0.1", "us-a")},
			wantOmitted:   []Omission{omitted("eu", "", OmitDraining)},
		},
		{
			name: "Geo: a cluster of no known region is a set of its own",
			in:   ingInput(RoutingGeo, up("lab", "", 1, "10.0.9.1"), up("eu", "europe-west1", 1, "10.0.1.1")),
			want: []*Endpoint{
				ingRec("A", "europe-west1", geo("europe-west1"), "10.0.1.1"),
				ingRec("A", "lab", geo(""), "10.0.9.1"),
			},
			wantAddresses: []IngressAddress{addr("10.0.1.1", "eu"), addr("10.0.9.1", "lab")},
		},
		{
			name: "Geo: an unhealthy cluster has no set",
			in:   ingInput(RoutingGeo, down("us-a", "us-b")...),
			want: []*Endpoint{
				ingRec("A", "asia-east1", geo("asia-east1"), "10.0.2.1"),
				ingRec("A", "europe-west1", geo("europe-west1"), "10.0.1.1"),
				ingRec("AAAA", "europe-west1", geo("europe-west1"), "2001:db8::1"),
			},
			wantAddresses: []IngressAddress{addr("10.0.1.1", "eu"), addr("10.0.2.1", "asia"), addr("2001:db8::1", "eu")},
			wantOmitted:   []Omission{omitted("us-a", "", OmitClusterNotReady), omitted("us-b", "", OmitNoReadyEndpoints)},
		},
		{
			name:        "Geo, nothing healthy: no record",
			in:          ingInput(RoutingGeo, down("eu", "asia", "us-b", "us-a")...),
			wantOmitted: allDown,
		},
		{
			name: "RoundRobin with hostnames only: a CNAME to the first cluster's, the others reported",
			in: ingInput(StrategyRoundRobin,
				up("us-b", "us-east1", 1, "LB-B.example.NET."),
				up("us-a", "us-east1", 1, "lb-a.example.net"),
			),
			want:          []*Endpoint{ingRec("CNAME", "", nil, "lb-a.example.net")},
			wantAddresses: []IngressAddress{hostAddr("lb-a.example.net", "us-a")},
			wantOmitted:   []Omission{omitted("us-b", "lb-b.example.net", OmitCNAMEHoldsOne)},
		},
		{
			name: "Weighted with hostnames only: one CNAME set per cluster",
			in: ingInput(RoutingWeighted,
				up("us-a", "us-east1", 2, "lb-a.example.net"),
				up("eu", "europe-west1", 5, "lb-e.example.net"),
			),
			want: []*Endpoint{
				ingRec("CNAME", "eu", weighted(5, "europe-west1"), "lb-e.example.net"),
				ingRec("CNAME", "us-a", weighted(2, "us-east1"), "lb-a.example.net"),
			},
			wantAddresses: []IngressAddress{hostAddr("lb-a.example.net", "us-a"), hostAddr("lb-e.example.net", "eu")},
		},
		{
			name: "a hostname beside addresses is left out; a cluster with only a hostname is then not reached",
			in: ingInput(RoutingWeighted,
				up("us-a", "us-east1", 2, "10.0.0.1", "lb-a.example.net"),
				up("eu", "europe-west1", 5, "lb-e.example.net"),
			),
			want:          []*Endpoint{ingRec("A", "us-a", weighted(2, "us-east1"), "10.0.0.1")},
			wantAddresses: []IngressAddress{addr("10.0.0.1", "us-a")},
			wantOmitted: []Omission{
				omitted("eu", "lb-e.example.net", OmitHostnameWithAddrs),
				omitted("us-a", "lb-a.example.net", OmitHostnameWithAddrs),
			},
		},
		{
			name: "one address behind two clusters is one target and one address with both",
			in: ingInput(StrategyRoundRobin,
				up("us-a", "us-east1", 1, "10.0.0.9", "::ffff:10.0.0.1"),
				up("eu", "europe-west1", 1, "10.0.0.9"),
			),
			want:          []*Endpoint{ingRec("A", "", nil, "10.0.0.1", "10.0.0.9")},
			wantAddresses: []IngressAddress{addr("10.0.0.1", "us-a"), addr("10.0.0.9", "eu", "us-a")},
		},
		{
			name: "bad targets are reported; a cluster with nothing else has no address",
			in: ingInput(StrategyRoundRobin,
				IngressCluster{Cluster: "us-a", Region: "us-east1", Ready: true, ReadyEndpoints: 1, IPs: []string{"10.0.0.1", "10.0.0.300"}},
				IngressCluster{Cluster: "eu", Region: "europe-west1", Ready: true, ReadyEndpoints: 1, IPs: []string{"fe80::1%eth0"}, Hostnames: []string{"bad_host"}},
			),
			want:          []*Endpoint{ingRec("A", "", nil, "10.0.0.1")},
			wantAddresses: []IngressAddress{addr("10.0.0.1", "us-a")},
			wantOmitted: []Omission{
				omitted("eu", "", OmitNoLoadBalancerAddress),
				omitted("eu", "bad_host", OmitBadHostname),
				omitted("eu", "fe80::1%eth0", OmitNotAnAddress),
				omitted("us-a", "10.0.0.300", OmitNotAnAddress),
			},
		},
		{
			name: "a cluster that is not Ready is out whatever it reports",
			in:   ingInput(StrategyRoundRobin, notReady(up("us-a", "us-east1", 9, "10.0.0.1"))),
			wantOmitted: []Omission{
				omitted("us-a", "", OmitClusterNotReady),
			},
		},
		{
			name: "the host is published at the domain's apex too",
			in: func() IngressInput {
				in := ingInput(StrategyRoundRobin, up("us-a", "us-east1", 1, "10.0.0.1"))
				in.Host = "example.com"
				return in
			}(),
			want: []*Endpoint{{
				DNSName: "example.com", RecordType: "A", Targets: []string{"10.0.0.1"}, TTL: 30,
				Labels: map[string]string{LabelResource: ingRes},
			}},
			wantAddresses: []IngressAddress{addr("10.0.0.1", "us-a")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PlanIngress(tt.in)
			if err != nil {
				t.Fatalf("PlanIngress: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Endpoints); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantAddresses, got.Addresses); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOmitted, got.Omitted); diff != "" {
				t.Errorf("omitted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanIngressIsDeterministic(t *testing.T) {
	for _, s := range []string{StrategyRoundRobin, RoutingWeighted, RoutingFailover, RoutingGeo} {
		cs := fleet()
		a := ingInput(s, cs...)
		b := ingInput(s, cs[3], cs[1], cs[0], cs[2])
		pa, err := PlanIngress(a)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := PlanIngress(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(pa, pb); diff != "" {
			t.Errorf("%s: the order of the clusters changed the plan (-a +b):\n%s", s, diff)
		}
	}
}

func TestPlanIngressRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*IngressInput)
		want string
	}{
		{"TTL 0", func(in *IngressInput) { in.TTL = 0 }, "TTL 0 is below 1 second"},
		{"host outside the domain", func(in *IngressInput) { in.Host = "shop.example.org" }, `host "shop.example.org" is not in the domain example.com`},
		{"host that only ends like the domain", func(in *IngressInput) { in.Host = "shopexample.com" }, `is not in the domain example.com`},
		{"host with an underscore", func(in *IngressInput) { in.Host = "shop_1.example.com" }, `host "shop_1.example.com" is not a DNS name`},
		{"empty host", func(in *IngressInput) { in.Host = "" }, `host "" is not a DNS name`},
		{"domain with a trailing dot", func(in *IngressInput) { in.Domain = "example.com." }, `domain "example.com." is not a DNS name`},
		{"unknown strategy", func(in *IngressInput) { in.Strategy = "Latency" }, `strategy "Latency" is not one of RoundRobin, Weighted, Failover, Geo`},
		{"failover without primary region", func(in *IngressInput) { in.Strategy, in.PrimaryRegion = RoutingFailover, "" },
			"strategy Failover needs a primary region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ingInput(StrategyRoundRobin, fleet()...)
			tt.mod(&in)
			_, err := PlanIngress(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error containing %q, got %v", tt.want, err)
			}
			if !strings.Contains(err.Error(), "FederatedIngress shop/web") {
				t.Errorf("the error does not name the FederatedIngress: %v", err)
			}
		})
	}
}
