package dns

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	global = "web.shop.myfed.svc.example.com"
	usE    = "web.shop.myfed.svc.us-east1.example.com"
	usEb   = "web.shop.myfed.svc.us-east1-b.us-east1.example.com"
	usEc   = "web.shop.myfed.svc.us-east1-c.us-east1.example.com"
	euW    = "web.shop.myfed.svc.europe-west1.example.com"
	euWb   = "web.shop.myfed.svc.europe-west1-b.europe-west1.example.com"
	res    = "FederatedService/shop/web"
)

func rec(name, typ string, targets ...string) *Endpoint {
	return &Endpoint{DNSName: name, RecordType: typ, Targets: targets, TTL: 30, Labels: map[string]string{LabelResource: res}}
}

func input(targets ...ServiceTarget) ServiceInput {
	return ServiceInput{Name: "web", Namespace: "shop", FederationName: "myfed", Domain: "example.com", TTL: 30, Targets: targets}
}

func healthy(cluster, region, zone string, ips ...string) ServiceTarget {
	return ServiceTarget{Cluster: cluster, Region: region, Zone: zone, IPs: ips, Healthy: true}
}

func unhealthy(cluster, region, zone string, ips ...string) ServiceTarget {
	t := healthy(cluster, region, zone, ips...)
	t.Healthy = false
	return t
}

func TestPlanService(t *testing.T) {
	tests := []struct {
		name        string
		in          ServiceInput
		want        []*Endpoint
		wantOmitted []Omission
	}{
		{
			name: "every cluster healthy: every level holds its own addresses",
			in: input(
				healthy("us-b", "us-east1", "us-east1-b", "10.0.0.1"),
				healthy("eu-b", "europe-west1", "europe-west1-b", "10.0.1.1"),
			),
			want: []*Endpoint{
				rec(global, "A", "10.0.0.1", "10.0.1.1"),
				rec(euW, "A", "10.0.1.1"),
				rec(euWb, "A", "10.0.1.1"),
				rec(usEb, "A", "10.0.0.1"),
				rec(usE, "A", "10.0.0.1"),
			},
		},
		{
			name: "zone with nothing healthy falls back to a CNAME to its region",
			in: input(
				healthy("us-b", "us-east1", "us-east1-b", "10.0.0.1"),
				unhealthy("us-c", "us-east1", "us-east1-c", "10.0.0.2"),
			),
			want: []*Endpoint{
				rec(global, "A", "10.0.0.1"),
				rec(usEb, "A", "10.0.0.1"),
				rec(usEc, "CNAME", usE),
				rec(usE, "A", "10.0.0.1"),
			},
		},
		{
			name: "region with nothing healthy: region CNAMEs to global, zone CNAMEs to region",
			in: input(
				healthy("us-b", "us-east1", "us-east1-b", "10.0.0.1"),
				unhealthy("eu-b", "europe-west1", "europe-west1-b", "10.0.1.1"),
			),
			want: []*Endpoint{
				rec(global, "A", "10.0.0.1"),
				rec(euW, "CNAME", global),
				rec(euWb, "CNAME", euW),
				rec(usEb, "A", "10.0.0.1"),
				rec(usE, "A", "10.0.0.1"),
			},
		},
		{
			name: "healthy nowhere: no record at all, not even the fallback CNAMEs",
			in: input(
				unhealthy("us-b", "us-east1", "us-east1-b", "10.0.0.1"),
				unhealthy("eu-b", "europe-west1", "europe-west1-b", "10.0.1.1"),
			),
			want: nil,
		},
		{
			name: "healthy but without any address counts as nowhere",
			in:   input(healthy("us-b", "us-east1", "us-east1-b")),
			want: nil,
		},
		{
			name: "no clusters",
			in:   input(),
			want: nil,
		},
		{
			name: "IPv6 addresses are AAAA, beside the A of IPv4 ones; IPv4-mapped IPv6 is IPv4",
			in: input(
				healthy("us-b", "us-east1", "us-east1-b", "2001:DB8::1", "10.0.0.1"),
				healthy("eu-b", "europe-west1", "", "::ffff:10.0.1.1", "2001:db8::2"),
			),
			want: []*Endpoint{
				rec(global, "A", "10.0.0.1", "10.0.1.1"),
				rec(global, "AAAA", "2001:db8::1", "2001:db8::2"),
				rec(euW, "A", "10.0.1.1"),
				rec(euW, "AAAA", "2001:db8::2"),
				rec(usEb, "A", "10.0.0.1"),
				rec(usEb, "AAAA", "2001:db8::1"),
				rec(usE, "A", "10.0.0.1"),
				rec(usE, "AAAA", "2001:db8::1"),
			},
		},
		{
			name: "a cluster without region is only in the global name; one without zone has no zone name",
			in: input(
				healthy("nowhere", "", "", "10.0.9.9"),
				healthy("us", "us-east1", "", "10.0.0.1"),
			),
			want: []*Endpoint{
				rec(global, "A", "10.0.0.1", "10.0.9.9"),
				rec(usE, "A", "10.0.0.1"),
			},
		},
		{
			name: "one load-balancer hostname where a name has one target: CNAME to it",
			in: input(
				ServiceTarget{Cluster: "us-b", Region: "us-east1", Zone: "us-east1-b", Hostnames: []string{"LB-1.ELB.Amazonaws.com."}, Healthy: true},
			),
			want: []*Endpoint{
				rec(global, "CNAME", "lb-1.elb.amazonaws.com"),
				rec(usEb, "CNAME", "lb-1.elb.amazonaws.com"),
				rec(usE, "CNAME", "lb-1.elb.amazonaws.com"),
			},
		},
		{
			name: "several hostnames: each zone CNAMEs to its own; a shared name CNAMEs to the first cluster's and reports the rest",
			in: input(
				ServiceTarget{Cluster: "us-c", Region: "us-east1", Zone: "us-east1-c", Hostnames: []string{"lb-c.example.net"}, Healthy: true},
				ServiceTarget{Cluster: "us-b", Region: "us-east1", Zone: "us-east1-b", Hostnames: []string{"lb-b.example.net"}, Healthy: true},
			),
			want: []*Endpoint{
				rec(global, "CNAME", "lb-b.example.net"),
				rec(usEb, "CNAME", "lb-b.example.net"),
				rec(usEc, "CNAME", "lb-c.example.net"),
				rec(usE, "CNAME", "lb-b.example.net"),
			},
			wantOmitted: []Omission{
				{Name: global, Cluster: "us-c", Target: "lb-c.example.net", Reason: OmitCNAMEHoldsOne},
				{Name: usE, Cluster: "us-c", Target: "lb-c.example.net", Reason: OmitCNAMEHoldsOne},
			},
		},
		{
			name: "a hostname beside addresses: the addresses are published, the hostname reported",
			in: input(
				healthy("eu-b", "europe-west1", "europe-west1-b", "10.0.1.1"),
				ServiceTarget{Cluster: "us-b", Region: "us-east1", Zone: "us-east1-b", Hostnames: []string{"lb-b.example.net"}, Healthy: true},
			),
			want: []*Endpoint{
				rec(global, "A", "10.0.1.1"),
				rec(euW, "A", "10.0.1.1"),
				rec(euWb, "A", "10.0.1.1"),
				rec(usEb, "CNAME", "lb-b.example.net"),
				rec(usE, "CNAME", "lb-b.example.net"),
			},
			wantOmitted: []Omission{{Name: global, Cluster: "us-b", Target: "lb-b.example.net", Reason: OmitHostnameWithAddrs}},
		},
		{
			name: "the same hostname from two clusters is one target",
			in: input(
				ServiceTarget{Cluster: "a", Region: "us-east1", Hostnames: []string{"lb.example.net"}, Healthy: true},
				ServiceTarget{Cluster: "b", Region: "us-east1", Hostnames: []string{"lb.example.net"}, Healthy: true},
			),
			want: []*Endpoint{
				rec(global, "CNAME", "lb.example.net"),
				rec(usE, "CNAME", "lb.example.net"),
			},
		},
		{
			name: "bad addresses, hostnames, regions and zones are left out and reported; the rest stands",
			in: input(
				ServiceTarget{Cluster: "us-b", Region: "us-east1", Zone: "Zone_B", IPs: []string{"10.0.0.1", "not-an-ip", "fe80::1%eth0"}, Healthy: true},
				ServiceTarget{Cluster: "odd", Region: "eu west", Zone: "x", IPs: []string{"10.0.5.5"}, Hostnames: []string{"bad_host"}, Healthy: true},
			),
			want: []*Endpoint{
				rec(global, "A", "10.0.0.1", "10.0.5.5"),
				rec(usE, "A", "10.0.0.1"),
			},
			wantOmitted: []Omission{
				{Name: global, Cluster: "odd", Target: "bad_host", Reason: OmitBadHostname},
				{Name: global, Cluster: "odd", Target: "eu west", Reason: OmitBadRegionOrZone},
				{Name: global, Cluster: "us-b", Target: "fe80::1%eth0", Reason: OmitNotAnAddress},
				{Name: global, Cluster: "us-b", Target: "not-an-ip", Reason: OmitNotAnAddress},
				{Name: global, Cluster: "us-b", Target: "zone_b", Reason: OmitBadRegionOrZone},
			},
		},
		{
			name: "region and zone are lower-cased; addresses are deduplicated",
			in: input(
				healthy("a", "US-East1", "US-East1-B", "10.0.0.1", "10.0.0.1"),
				healthy("b", "us-east1", "us-east1-b", "10.0.0.1"),
			),
			want: []*Endpoint{
				rec(global, "A", "10.0.0.1"),
				rec(usEb, "A", "10.0.0.1"),
				rec(usE, "A", "10.0.0.1"),
			},
		},
		{
			name: "the TTL is every record's",
			in: func() ServiceInput {
				in := input(healthy("us-b", "us-east1", "us-east1-b", "10.0.0.1"), unhealthy("eu-b", "europe-west1", "", "10.0.1.1"))
				in.TTL = 7
				return in
			}(),
			want: func() []*Endpoint {
				eps := []*Endpoint{rec(global, "A", "10.0.0.1"), rec(euW, "CNAME", global), rec(usEb, "A", "10.0.0.1"), rec(usE, "A", "10.0.0.1")}
				for _, e := range eps {
					e.TTL = 7
				}
				return eps
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PlanService(tt.in)
			if err != nil {
				t.Fatalf("PlanService: %v", err)
			}
			slices.SortFunc(tt.want, compareEndpoints)
			if diff := cmp.Diff(tt.want, got.Endpoints); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOmitted, got.Omitted); diff != "" {
				t.Errorf("omitted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanServiceIsDeterministic(t *testing.T) {
	a := input(healthy("b", "r2", "z2", "10.0.0.2"), healthy("a", "r1", "z1", "10.0.0.1"), unhealthy("c", "r3", "z3"))
	b := input(a.Targets[2], a.Targets[0], a.Targets[1])
	pa, err := PlanService(a)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := PlanService(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pa, pb); diff != "" {
		t.Errorf("the order of the targets changed the plan (-a +b):\n%s", diff)
	}
}

func TestPlanServiceRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*ServiceInput)
		want string
	}{
		{"TTL 0", func(in *ServiceInput) { in.TTL = 0 }, "TTL 0 is below 1 second"},
		{"domain with a trailing dot", func(in *ServiceInput) { in.Domain = "example.com." }, `domain "example.com." is not a DNS name`},
		{"upper-case service name", func(in *ServiceInput) { in.Name = "Web" }, `service name "Web" is not a DNS label`},
		{"empty namespace", func(in *ServiceInput) { in.Namespace = "" }, `namespace "" is not a DNS label`},
		{"federation name with a dot", func(in *ServiceInput) { in.FederationName = "my.fed" }, `federation name "my.fed" is not a DNS label`},
		{"global name too long", func(in *ServiceInput) {
			in.Domain = strings.Repeat("d", 60) + "." + strings.Repeat("e", 60) + "." + strings.Repeat("f", 60) + "." + strings.Repeat("g", 58)
		},
			"longer than 253 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(healthy("a", "r", "z", "10.0.0.1"))
			tt.mod(&in)
			_, err := PlanService(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error containing %q, got %v", tt.want, err)
			}
			if !strings.Contains(err.Error(), "FederatedService") {
				t.Errorf("the error does not name the FederatedService: %v", err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	got := Names("web", "shop", "myfed", "example.com", "us-east1", "us-east1-b")
	want := ServiceNames{Global: global, Region: usE, Zone: usEb}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := Names("web", "shop", "myfed", "example.com", "", "us-east1-b"); got.Region != "" || got.Zone != "" {
		t.Errorf("without a region there is neither region nor zone name: %+v", got)
	}
}
