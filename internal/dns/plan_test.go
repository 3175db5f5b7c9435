package dns

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ep(name, typ string, ttl int64, targets ...string) *Endpoint {
	return &Endpoint{DNSName: name, RecordType: typ, Targets: targets, TTL: ttl}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name             string
		desired, current []*Endpoint
		want             *Changes
	}{
		{
			name: "nothing on either side",
			want: &Changes{},
		},
		{
			name:    "all new",
			desired: []*Endpoint{ep("b.example.com", "A", 30, "10.0.0.2"), ep("a.example.com", "A", 30, "10.0.0.1")},
			want:    &Changes{Create: []*Endpoint{ep("a.example.com", "A", 30, "10.0.0.1"), ep("b.example.com", "A", 30, "10.0.0.2")}},
		},
		{
			name:    "all gone",
			current: []*Endpoint{ep("b.example.com", "A", 30, "10.0.0.2"), ep("a.example.com", "CNAME", 30, "b.example.com")},
			want:    &Changes{Delete: []*Endpoint{ep("a.example.com", "CNAME", 30, "b.example.com"), ep("b.example.com", "A", 30, "10.0.0.2")}},
		},
		{
			name:    "same content in another spelling: nothing to do",
			desired: []*Endpoint{ep("A.Example.com.", "A", 30, "10.0.0.2", "10.0.0.1"), ep("c.example.com", "CNAME", 30, "B.example.com.")},
			current: []*Endpoint{ep("a.example.com", "A", 30, "10.0.0.1", "10.0.0.2"), ep("c.example.com", "CNAME", 30, "b.example.com")},
			want:    &Changes{},
		},
		{
			name:    "other targets or another TTL: update",
			desired: []*Endpoint{ep("a.example.com", "A", 30, "10.0.0.1"), ep("b.example.com", "A", 60, "10.0.0.2")},
			current: []*Endpoint{ep("a.example.com", "A", 30, "10.0.0.1", "10.0.0.9"), ep("b.example.com", "A", 30, "10.0.0.2")},
			want: &Changes{
				UpdateOld: []*Endpoint{ep("a.example.com", "A", 30, "10.0.0.1", "10.0.0.9"), ep("b.example.com", "A", 30, "10.0.0.2")},
				UpdateNew: []*Endpoint{ep("a.example.com", "A", 30, "10.0.0.1"), ep("b.example.com", "A", 60, "10.0.0.2")},
			},
		},
		{
			name:    "a name that turns from A into CNAME: delete the A, create the CNAME",
			desired: []*Endpoint{ep("r.example.com", "CNAME", 30, "g.example.com")},
			current: []*Endpoint{ep("r.example.com", "A", 30, "10.0.0.1")},
			want: &Changes{
				Create: []*Endpoint{ep("r.example.com", "CNAME", 30, "g.example.com")},
				Delete: []*Endpoint{ep("r.example.com", "A", 30, "10.0.0.1")},
			},
		},
		{
			name: "set identifiers are part of the key",
			desired: []*Endpoint{
				{DNSName: "a.example.com", RecordType: "A", SetIdentifier: "us", Targets: []string{"10.0.0.1"}, TTL: 30},
				{DNSName: "a.example.com", RecordType: "A", SetIdentifier: "eu", Targets: []string{"10.0.1.1"}, TTL: 30},
			},
			current: []*Endpoint{{DNSName: "a.example.com", RecordType: "A", SetIdentifier: "us", Targets: []string{"10.0.0.1"}, TTL: 30}},
			want: &Changes{Create: []*Endpoint{
				{DNSName: "a.example.com", RecordType: "A", SetIdentifier: "eu", Targets: []string{"10.0.1.1"}, TTL: 30},
			}},
		},
		{
			name: "another weight, or a set that gains a routing: update; the same routing: nothing",
			desired: []*Endpoint{
				{DNSName: "w.example.com", RecordType: "A", SetIdentifier: "m0", Targets: []string{"10.0.0.1"}, TTL: 30,
					Routing: &Routing{Policy: RoutingWeighted, Weight: 3}},
				{DNSName: "w.example.com", RecordType: "A", SetIdentifier: "m1", Targets: []string{"10.0.0.2"}, TTL: 30,
					Routing: &Routing{Policy: RoutingWeighted, Weight: 1}},
				{DNSName: "g.example.com", RecordType: "A", SetIdentifier: "m0", Targets: []string{"10.0.0.1"}, TTL: 30,
					Routing: &Routing{Policy: RoutingGeo, Region: "eu"}},
			},
			current: []*Endpoint{
				{DNSName: "w.example.com", RecordType: "A", SetIdentifier: "m0", Targets: []string{"10.0.0.1"}, TTL: 30,
					Routing: &Routing{Policy: RoutingWeighted, Weight: 2}},
				{DNSName: "w.example.com", RecordType: "A", SetIdentifier: "m1", Targets: []string{"10.0.0.2"}, TTL: 30,
					Routing: &Routing{Policy: RoutingWeighted, Weight: 1}},
				{DNSName: "g.example.com", RecordType: "A", SetIdentifier: "m0", Targets: []string{"10.0.0.1"}, TTL: 30},
			},
			want: &Changes{
				UpdateOld: []*Endpoint{
					{DNSName: "g.example.com", RecordType: "A", SetIdentifier: "m0", Targets: []string{"10.0.0.1"}, TTL: 30},
					{DNSName: "w.example.com", RecordType: "A", SetIdentifier: "m0", Targets: []string{"10.0.0.1"}, TTL: 30,
						Routing: &Routing{Policy: RoutingWeighted, Weight: 2}},
				},
				UpdateNew: []*Endpoint{
					{DNSName: "g.example.com", RecordType: "A", SetIdentifier: "m0", Targets: []string{"10.0.0.1"}, TTL: 30,
						Routing: &Routing{Policy: RoutingGeo, Region: "eu"}},
					{DNSName: "w.example.com", RecordType: "A", SetIdentifier: "m0", Targets: []string{"10.0.0.1"}, TTL: 30,
						Routing: &Routing{Policy: RoutingWeighted, Weight: 3}},
				},
			},
		},
		{
			name:    "labels are not compared; an update carries the desired labels",
			desired: []*Endpoint{{DNSName: "a.example.com", RecordType: "A", Targets: []string{"10.0.0.2"}, TTL: 30, Labels: map[string]string{"resource": "x"}}},
			current: []*Endpoint{{DNSName: "a.example.com", RecordType: "A", Targets: []string{"10.0.0.1"}, TTL: 30, Labels: map[string]string{"resource": "y"}}},
			want: &Changes{
				UpdateOld: []*Endpoint{{DNSName: "a.example.com", RecordType: "A", Targets: []string{"10.0.0.1"}, TTL: 30, Labels: map[string]string{"resource": "y"}}},
				UpdateNew: []*Endpoint{{DNSName: "a.example.com", RecordType: "A", Targets: []string{"10.0.0.2"}, TTL: 30, Labels: map[string]string{"resource": "x"}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Diff(tt.desired, tt.current)
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiffOfSameLabelsOnlyIsEmpty(t *testing.T) {
	got, err := Diff(
		[]*Endpoint{{DNSName: "a.example.com", RecordType: "A", Targets: []string{"10.0.0.1"}, TTL: 30, Labels: map[string]string{"resource": "x"}}},
		[]*Endpoint{{DNSName: "a.example.com", RecordType: "A", Targets: []string{"10.0.0.1"}, TTL: 30}})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Empty() {
		t.Errorf("want no changes, got %+v", got)
	}
}

func TestDiffRejectsAKeyTwice(t *testing.T) {
	for side, args := range map[string][2][]*Endpoint{
		"desired": {{ep("a.example.com", "A", 30, "10.0.0.1"), ep("A.example.com.", "A", 30, "10.0.0.2")}, nil},
		"current": {nil, {ep("a.example.com", "A", 30, "10.0.0.1"), ep("a.example.com", "A", 60, "10.0.0.1")}},
	} {
		t.Run(side, func(t *testing.T) {
			_, err := Diff(args[0], args[1])
			if err == nil || !strings.Contains(err.Error(), "the "+side+" records hold a.example.com A twice") {
				t.Fatalf("want an error naming the %s record held twice, got %v", side, err)
			}
		})
	}
}
