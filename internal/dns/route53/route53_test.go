package route53_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/cloudapi"
	"github.com/kfed-io/kfed/internal/dns/cloudapi/cloudapitest"
	"github.com/kfed-io/kfed/internal/dns/route53"
	"github.com/kfed-io/kfed/internal/dns/route53/fake"
)

const zoneID = "Z0FAKE0000000001"

// fastBackoff keeps the tests' retries short; the jitter still applies.
var fastBackoff = cloudapi.Backoff{Attempts: 6, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}

func newFake(t *testing.T) *fake.Server {
	t.Helper()
	s := fake.NewServer()
	t.Cleanup(s.Close)
	s.AddZone(zoneID, "example.com")
	return s
}

func newProvider(t *testing.T, s *fake.Server, mods ...func(*route53.Config)) *route53.Provider {
	t.Helper()
	cfg := route53.Config{
		HostedZoneID: zoneID,
		Endpoint:     s.URL,
		Credentials:  &route53.Credentials{AccessKeyID: "AKIDFAKE", SecretAccessKey: "fake-secret"},
		Backoff:      fastBackoff,
	}
	for _, m := range mods {
		m(&cfg)
	}
	p, err := route53.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func i64(v int64) *int64 { return &v }

func changeBatches(s *fake.Server) [][]fake.Change {
	var out [][]fake.Change
	for _, r := range s.Requests() {
		if r.Op == "ChangeResourceRecordSets" {
			out = append(out, r.Batch)
		}
	}
	return out
}

func ep(name, typ string, ttl int64, targets ...string) *kdns.Endpoint {
	return &kdns.Endpoint{DNSName: name, RecordType: typ, TTL: ttl, Targets: targets}
}

func routed(e *kdns.Endpoint, set string, r kdns.Routing) *kdns.Endpoint {
	e.SetIdentifier = set
	e.Routing = &r
	return e
}

// TestStrategiesWriteTheseBatches checks the exact change batch of each strategy, that the
// zone reads back as AdjustEndpoints says (so a second plan changes nothing), and the UPSERT
// and DELETE of an update and a delete.
func TestStrategiesWriteTheseBatches(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name   string
		create []*kdns.Endpoint
		want   []fake.Change
	}{{
		name: "plain",
		create: []*kdns.Endpoint{
			ep("web.example.com", "A", 60, "192.0.2.2", "192.0.2.1"),
			ep("alias.example.com", "CNAME", 0, "web.example.com"),
			ep("txt.example.com", "TXT", 30, `say "hi"`, long),
		},
		want: []fake.Change{
			{Action: "CREATE", Record: fake.Record{Name: "alias.example.com.", Type: "CNAME", TTL: 300, Values: []string{"web.example.com."}}},
			{Action: "CREATE", Record: fake.Record{Name: "txt.example.com.", Type: "TXT", TTL: 30,
				Values: []string{`"say \"hi\""`, `"` + long[:255] + `" "` + long[255:] + `"`}}},
			{Action: "CREATE", Record: fake.Record{Name: "web.example.com.", Type: "A", TTL: 60, Values: []string{"192.0.2.2", "192.0.2.1"}}},
		},
	}, {
		name: "weighted within 0-255 keeps the weights",
		create: []*kdns.Endpoint{
			routed(ep("web.example.com", "A", 30, "192.0.2.1"), "east", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 3, Region: "us-east-1"}),
			routed(ep("web.example.com", "A", 30, "192.0.2.2"), "west", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 0}),
		},
		want: []fake.Change{
			{Action: "CREATE", Record: fake.Record{Name: "web.example.com.", Type: "A", SetIdentifier: "east", TTL: 30, Values: []string{"192.0.2.1"}, Weight: i64(3)}},
			{Action: "CREATE", Record: fake.Record{Name: "web.example.com.", Type: "A", SetIdentifier: "west", TTL: 30, Values: []string{"192.0.2.2"}, Weight: i64(0)}},
		},
	}, {
		name: "weighted over 255 is scaled to the largest",
		create: []*kdns.Endpoint{
			routed(ep("web.example.com", "A", 30, "192.0.2.1"), "a", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 1000}),
			routed(ep("web.example.com", "A", 30, "192.0.2.2"), "b", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 500}),
			routed(ep("web.example.com", "A", 30, "192.0.2.3"), "c", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 1}),
		},
		want: []fake.Change{
			{Action: "CREATE", Record: fake.Record{Name: "web.example.com.", Type: "A", SetIdentifier: "a", TTL: 30, Values: []string{"192.0.2.1"}, Weight: i64(255)}},
			{Action: "CREATE", Record: fake.Record{Name: "web.example.com.", Type: "A", SetIdentifier: "b", TTL: 30, Values: []string{"192.0.2.2"}, Weight: i64(128)}},
			{Action: "CREATE", Record: fake.Record{Name: "web.example.com.", Type: "A", SetIdentifier: "c", TTL: 30, Values: []string{"192.0.2.3"}, Weight: i64(1)}},
		},
	}, {
		name: "failover",
		create: []*kdns.Endpoint{
			routed(ep("web.example.com", "A", 30, "192.0.2.1"), "east", kdns.Routing{Policy: kdns.RoutingFailover, Primary: true}),
			routed(ep("web.example.com", "A", 30, "192.0.2.2"), "west", kdns.Routing{Policy: kdns.RoutingFailover}),
		},
		want: []fake.Change{
			{Action: "CREATE", Record: fake.Record{Name: "web.example.com.", Type: "A", SetIdentifier: "east", TTL: 30, Values: []string{"192.0.2.1"},
				Failover: "PRIMARY"}},
			{Action: "CREATE", Record: fake.Record{Name: "web.example.com.", Type: "A", SetIdentifier: "west", TTL: 30, Values: []string{"192.0.2.2"},
				Failover: "SECONDARY"}},
		},
	}, {
		name: "geo as latency records",
		create: []*kdns.Endpoint{
			routed(ep("web.example.com", "AAAA", 30, "2001:db8::1"), "east", kdns.Routing{Policy: kdns.RoutingGeo, Region: "us-east-1"}),
			routed(ep("web.example.com", "AAAA", 30, "2001:db8::2"), "eu", kdns.Routing{Policy: kdns.RoutingGeo, Region: "eu-west-1"}),
		},
		want: []fake.Change{
			{Action: "CREATE", Record: fake.Record{Name: "web.example.com.", Type: "AAAA", SetIdentifier: "east", TTL: 30, Values: []string{"2001:db8::1"},
				Region: "us-east-1"}},
			{Action: "CREATE", Record: fake.Record{Name: "web.example.com.", Type: "AAAA", SetIdentifier: "eu", TTL: 30, Values: []string{"2001:db8::2"},
				Region: "eu-west-1"}},
		},
	}, {
		name: "set identifier without routing is a multivalue answer",
		create: []*kdns.Endpoint{
			{DNSName: "kfed-a-web.example.com", RecordType: "TXT", SetIdentifier: "east", Targets: []string{"heritage=kfed"}},
		},
		want: []fake.Change{
			{Action: "CREATE", Record: fake.Record{Name: "kfed-a-web.example.com.", Type: "TXT", SetIdentifier: "east", TTL: 300,
				Values: []string{`"heritage=kfed"`}, MultiValue: true}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newFake(t)
			p := newProvider(t, s)
			ctx := t.Context()
			if err := p.ApplyChanges(ctx, &kdns.Changes{Create: tc.create}); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([][]fake.Change{tc.want}, changeBatches(s)); d != "" {
				t.Fatalf("change batches (-want +got):\n%s", d)
			}
			want, err := route53.AdjustEndpoints(tc.create)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Records(ctx)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := kdns.Diff(want, got)
			if err != nil {
				t.Fatal(err)
			}
			if !plan.Empty() {
				t.Fatalf("the zone does not read back as AdjustEndpoints says: plan %+v", plan)
			}

			if len(want) < 2 {
				return
			}
			// Update the first record (an UPSERT) and delete another as read (a DELETE).
			upd := *want[0]
			upd.TTL = 45
			var del *kdns.Endpoint
			for _, e := range got {
				if e.Key() != want[0].Key() {
					del = e
				}
			}
			before := len(changeBatches(s))
			if err := p.ApplyChanges(ctx, &kdns.Changes{UpdateOld: []*kdns.Endpoint{want[0]}, UpdateNew: []*kdns.Endpoint{&upd},
				Delete: []*kdns.Endpoint{del}}); err != nil {
				t.Fatal(err)
			}
			batches := changeBatches(s)[before:]
			var actions []string
			for _, b := range batches {
				for _, c := range b {
					actions = append(actions, c.Action+" "+c.Record.Name+" "+c.Record.Type+" "+c.Record.SetIdentifier)
				}
			}
			name := func(e *kdns.Endpoint) string { return e.DNSName + ". " + e.RecordType + " " + e.SetIdentifier }
			wantActions := []string{"DELETE " + name(del), "UPSERT " + name(want[0])}
			if del.DNSName > want[0].DNSName {
				wantActions = []string{"UPSERT " + name(want[0]), "DELETE " + name(del)}
			}
			if len(batches) != 1 {
				t.Fatalf("the update and delete went in %d batches, want 1", len(batches))
			}
			if d := cmp.Diff(wantActions, actions); d != "" {
				t.Fatalf("update batch (-want +got):\n%s", d)
			}
		})
	}
}

// TestGeoRegionMustBeAWS refuses a Geo set whose region is not an AWS region, naming it,
// before anything is sent.
func TestGeoRegionMustBeAWS(t *testing.T) {
	s := newFake(t)
	p := newProvider(t, s)
	err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{
		routed(ep("web.example.com", "A", 30, "192.0.2.1"), "eu", kdns.Routing{Policy: kdns.RoutingGeo, Region: "europe-west1"}),
	}})
	if kdns.ReasonOf(err) != kdns.ReasonInvalidRecord || !strings.Contains(err.Error(), `"europe-west1"`) {
		t.Fatalf("got %v (%s), want InvalidRecord naming europe-west1", err, kdns.ReasonOf(err))
	}
	if n := len(changeBatches(s)); n != 0 {
		t.Fatalf("%d batches sent", n)
	}
}

func TestScaleWeights(t *testing.T) {
	tests := []struct {
		name    string
		weights []int64
		want    []int64
	}{
		{"all within 255 kept", []int64{0, 1, 255}, []int64{0, 1, 255}},
		{"proportional to the largest", []int64{1000, 500, 250}, []int64{255, 128, 64}},
		{"non-zero never 0", []int64{100000, 1, 0}, []int64{255, 1, 0}},
		{"one set", []int64{7000}, []int64{255}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var eps []*kdns.Endpoint
			for i, w := range tc.weights {
				eps = append(eps, routed(ep("web.example.com", "A", 30, "192.0.2.1"), fmt.Sprint(i), kdns.Routing{Policy: kdns.RoutingWeighted, Weight: w}))
			}
			// Another name's sets are scaled on their own.
			eps = append(eps, routed(ep("other.example.com", "A", 30, "192.0.2.1"), "x", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 9}))
			got, err := route53.ScaleWeights(eps)
			if err != nil {
				t.Fatal(err)
			}
			var gotW []int64
			for _, e := range eps[:len(tc.weights)] {
				gotW = append(gotW, got[e])
			}
			if d := cmp.Diff(tc.want, gotW); d != "" {
				t.Fatalf("weights (-want +got):\n%s", d)
			}
			if got[eps[len(eps)-1]] != 9 {
				t.Fatalf("another name's weight became %d", got[eps[len(eps)-1]])
			}
		})
	}
	if _, err := route53.ScaleWeights([]*kdns.Endpoint{routed(ep("w.example.com", "A", 1, "192.0.2.1"), "a", kdns.Routing{Policy: kdns.RoutingWeighted,
		Weight: -1})}); kdns.ReasonOf(err) != kdns.ReasonInvalidRecord {
		t.Fatalf("negative weight: %v", err)
	}
}

// TestBatching2500 writes 2,500 record sets: the batches stay within the limits (the fake
// refuses any that does not), UPSERTs count twice, and the zone reads back across pages.
func TestBatching2500(t *testing.T) {
	s := newFake(t)
	p := newProvider(t, s)
	ctx := t.Context()
	create := make([]*kdns.Endpoint, 0, 2500)
	for i := range 2500 {
		create = append(create, ep(fmt.Sprintf("r%04d.example.com", i), "A", 60, fmt.Sprintf("10.%d.%d.1", i/256, i%256)))
	}
	if err := p.ApplyChanges(ctx, &kdns.Changes{Create: create}); err != nil {
		t.Fatal(err)
	}
	check := func(what string, want int) {
		t.Helper()
		batches := changeBatches(s)
		if len(batches) != want {
			t.Fatalf("%s: %d batches, want %d", what, len(batches), want)
		}
		for i, b := range batches {
			r, c := fake.BatchCost(b)
			if r > route53.MaxRecordsPerBatch || c > route53.MaxValueChars {
				t.Fatalf("%s: batch %d holds %d records and %d characters", what, i, r, c)
			}
		}
		if n := len(s.Applied()); n != want {
			t.Fatalf("%s: %d batches applied, want %d", what, n, want)
		}
	}
	check("creates", 3) // 1,000 + 1,000 + 500 records
	got, err := p.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2500 {
		t.Fatalf("read %d records back, want 2500", len(got))
	}
	pages := 0
	for _, r := range s.Requests() {
		if r.Op == "ListResourceRecordSets" {
			pages++
		}
	}
	if pages != 9 { // 2,500 / 300 per page
		t.Fatalf("read the zone in %d pages, want 9", pages)
	}

	upd := make([]*kdns.Endpoint, len(got))
	for i, e := range got {
		c := *e
		c.TTL = 120
		upd[i] = &c
	}
	if err := p.ApplyChanges(ctx, &kdns.Changes{UpdateOld: got, UpdateNew: upd}); err != nil {
		t.Fatal(err)
	}
	check("upserts", 3+5) // 500 UPSERTs of one record each fill a batch
	for _, b := range changeBatches(s)[3:] {
		if len(b) != 500 {
			t.Fatalf("an UPSERT batch holds %d changes, want 500", len(b))
		}
	}

	// Values long enough that the character limit binds before the record limit.
	s2 := newFake(t)
	p2 := newProvider(t, s2)
	txts := make([]*kdns.Endpoint, 0, 100)
	for i := range 100 {
		txts = append(txts, ep(fmt.Sprintf("t%03d.example.com", i), "TXT", 60, strings.Repeat("v", 1000)))
	}
	if err := p2.ApplyChanges(ctx, &kdns.Changes{Create: txts}); err != nil {
		t.Fatal(err)
	}
	for i, b := range changeBatches(s2) {
		if r, c := fake.BatchCost(b); c > route53.MaxValueChars || r > route53.MaxRecordsPerBatch {
			t.Fatalf("TXT batch %d holds %d characters", i, c)
		}
	}
	if n := len(changeBatches(s2)); n != 4 { // 1,008 characters per value: 31 a batch
		t.Fatalf("100 TXT values of 1,000 characters went in %d batches, want 4", n)
	}
}

// TestBatchOrderKeepsANameTogether replaces a simple record set by weighted ones, which
// Route 53 takes only in one batch (or deletes first), next to enough other changes to fill
// several batches.
func TestBatchOrderKeepsANameTogether(t *testing.T) {
	s := newFake(t)
	p := newProvider(t, s)
	ctx := t.Context()
	s.Put(zoneID, fake.Record{Name: "m.example.com", Type: "A", TTL: 30, Values: []string{"192.0.2.9"}})
	create := make([]*kdns.Endpoint, 0, 1503)
	for i := range 1500 {
		create = append(create, ep(fmt.Sprintf("a%04d.example.com", i), "A", 60, "192.0.2.1"))
	}
	for i := range 3 {
		create = append(create, routed(ep("m.example.com", "A", 30, fmt.Sprintf("192.0.2.%d", i+1)), fmt.Sprint(i),
			kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 1}))
	}
	err := p.ApplyChanges(ctx, &kdns.Changes{Create: create, Delete: []*kdns.Endpoint{ep("m.example.com", "A", 30, "192.0.2.9")}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Records(zoneID)); n != 1503 {
		t.Fatalf("the zone holds %d records, want 1503", n)
	}
}

// TestThrottlingRetriedWithoutDuplicate: throttled batches are sent again until they pass,
// and are applied once.
func TestThrottlingRetriedWithoutDuplicate(t *testing.T) {
	s := newFake(t)
	p := newProvider(t, s)
	for _, k := range []string{fake.FaultThrottle, fake.FaultPriorRequestNotComplete, fake.FaultTooManyRequests} {
		s.Inject(fake.Fault{Op: "ChangeResourceRecordSets", Kind: k, Count: 1})
	}
	s.Inject(fake.Fault{Op: "ListResourceRecordSets", Kind: fake.FaultThrottle, Count: 2})
	create := []*kdns.Endpoint{ep("web.example.com", "A", 60, "192.0.2.1")}
	if err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: create}); err != nil {
		t.Fatal(err)
	}
	if n := len(changeBatches(s)); n != 4 {
		t.Fatalf("%d ChangeResourceRecordSets requests, want 4 (3 throttled)", n)
	}
	if n := len(s.Applied()); n != 1 {
		t.Fatalf("%d batches applied, want 1", n)
	}
	got, err := p.Records(t.Context())
	if err != nil || len(got) != 1 {
		t.Fatalf("records after throttled reads: %v %v", got, err)
	}

	// Throttled for good: an error after the attempts, nothing applied.
	s.Inject(fake.Fault{Op: "ChangeResourceRecordSets", Kind: fake.FaultThrottle, Count: 100})
	err = p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{ep("b.example.com", "A", 60, "192.0.2.1")}})
	if err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("got %v, want a throttling error", err)
	}
	if n := len(s.Applied()); n != 1 {
		t.Fatalf("%d batches applied, want 1", n)
	}
}

// TestLostAnswerNotAppliedTwice: a batch that was applied but whose answer was lost is found
// applied by reading the zone, not sent again; one that failed with a server error is sent
// again; one whose starting point another writer changed is a Conflict.
func TestLostAnswerNotAppliedTwice(t *testing.T) {
	t.Run("applied, answer lost", func(t *testing.T) {
		s := newFake(t)
		p := newProvider(t, s)
		s.Put(zoneID, fake.Record{Name: "old.example.com", Type: "A", TTL: 60, Values: []string{"192.0.2.9"}})
		s.Inject(fake.Fault{Op: "ChangeResourceRecordSets", Kind: fake.FaultLoseResponse, Count: 1})
		err := p.ApplyChanges(t.Context(), &kdns.Changes{
			Create: []*kdns.Endpoint{ep("web.example.com", "A", 60, "192.0.2.1")},
			Delete: []*kdns.Endpoint{ep("old.example.com", "A", 60, "192.0.2.9")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, m := len(changeBatches(s)), len(s.Applied()); n != 1 || m != 1 {
			t.Fatalf("%d batches sent and %d applied, want 1 and 1", n, m)
		}
	})
	t.Run("server error, sent again", func(t *testing.T) {
		s := newFake(t)
		p := newProvider(t, s)
		s.Inject(fake.Fault{Op: "ChangeResourceRecordSets", Kind: fake.FaultServerError, Count: 1})
		if err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{ep("web.example.com", "A", 60, "192.0.2.1")}}); err != nil {
			t.Fatal(err)
		}
		if n, m := len(changeBatches(s)), len(s.Applied()); n != 2 || m != 1 {
			t.Fatalf("%d batches sent and %d applied, want 2 and 1", n, m)
		}
	})
	t.Run("upsert, answer lost", func(t *testing.T) {
		s := newFake(t)
		p := newProvider(t, s)
		old := ep("web.example.com", "A", 60, "192.0.2.1")
		if err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{old}}); err != nil {
			t.Fatal(err)
		}
		s.Inject(fake.Fault{Op: "ChangeResourceRecordSets", Kind: fake.FaultLoseResponse, Count: 1})
		if err := p.ApplyChanges(t.Context(), &kdns.Changes{UpdateOld: []*kdns.Endpoint{old}, UpdateNew: []*kdns.Endpoint{ep("web.example.com", "A", 60,
			"192.0.2.2")}}); err != nil {
			t.Fatal(err)
		}
		if n, m := len(changeBatches(s)), len(s.Applied()); n != 2 || m != 2 {
			t.Fatalf("%d batches sent and %d applied, want 2 and 2", n, m)
		}
	})
}

// TestRegistryLeavesForeignRecords: wrapped in the ownership registry, the provider never
// changes a record kfed does not own, and the rest of the plan is applied.
func TestRegistryLeavesForeignRecords(t *testing.T) {
	s := newFake(t)
	p := newProvider(t, s)
	foreign := fake.Record{Name: "shop.example.com", Type: "A", TTL: 60, Values: []string{"198.51.100.7"}}
	s.Put(zoneID, foreign)
	reg, err := kdns.NewRegistry(p, "fed-a")
	if err != nil {
		t.Fatal(err)
	}
	mine := ep("web.example.com", "A", 60, "192.0.2.1")
	mine.Labels = map[string]string{kdns.LabelResource: "FederatedService/default/web"}
	takeover := ep("shop.example.com", "A", 60, "192.0.2.1")
	takeover.Labels = map[string]string{kdns.LabelResource: "FederatedService/default/shop"}
	err = reg.ApplyChanges(t.Context(), &kdns.Changes{
		Create: []*kdns.Endpoint{mine},
		Delete: []*kdns.Endpoint{ep("shop.example.com", "A", 60, "198.51.100.7")},
	})
	if c := kdns.Conflicts(err); len(c) != 1 {
		t.Fatalf("got %v, want one conflict", err)
	}
	err = reg.ApplyChanges(t.Context(), &kdns.Changes{UpdateOld: []*kdns.Endpoint{ep("shop.example.com", "A", 60, "198.51.100.7")},
		UpdateNew: []*kdns.Endpoint{takeover}})
	if c := kdns.Conflicts(err); len(c) != 1 {
		t.Fatalf("got %v, want one conflict", err)
	}
	var shop []fake.Record
	for _, r := range s.Records(zoneID) {
		if r.Name == "shop.example.com." {
			shop = append(shop, r)
		}
	}
	if d := cmp.Diff([]fake.Record{{Name: "shop.example.com.", Type: "A", TTL: 60, Values: []string{"198.51.100.7"}}}, shop); d != "" {
		t.Fatalf("the foreign record changed (-want +got):\n%s", d)
	}
	owned, err := reg.Records(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) != 1 || owned[0].DNSName != "web.example.com" {
		t.Fatalf("owned records %v, want web.example.com alone", owned)
	}
	// The ownership TXT was written beside kfed's record.
	found := false
	for _, r := range s.Records(zoneID) {
		found = found || r.Name == kdns.OwnershipName("web.example.com", "A")+"."
	}
	if !found {
		t.Fatal("no ownership record")
	}
}

// TestCredentialsNeverShown: the secret access key and session token appear in no log line,
// no error and no request.
func TestCredentialsNeverShown(t *testing.T) {
	const secret, token = "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY", "SESSIONTOKENSECRETVALUE"
	s := newFake(t)
	var logs cloudapitest.Logs
	creds := &route53.Credentials{AccessKeyID: "AKIDFAKE", SecretAccessKey: secret, SessionToken: token}
	p := newProvider(t, s, func(c *route53.Config) { c.Credentials = creds; c.Logger = logs.Logger() })
	s.Inject(fake.Fault{Kind: fake.FaultThrottle, Count: 3})
	errs := make([]string, 0, 4)
	ctx := t.Context()
	if _, err := p.Records(ctx); err != nil {
		t.Fatal(err)
	}
	s.Inject(fake.Fault{Op: "ChangeResourceRecordSets", Kind: fake.FaultLoseResponse, Count: 1})
	if err := p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{ep("web.example.com", "A", 60, "192.0.2.1")}}); err != nil {
		t.Fatal(err)
	}
	s.RequireAccessKeyID("AKIDOTHER")
	_, err := p.Records(ctx)
	if kdns.ReasonOf(err) != kdns.ReasonUnauthorized {
		t.Fatalf("got %v, want Unauthorized", err)
	}
	errs = append(errs, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%v %+v %#v", *creds, *creds, *creds))
	s.Inject(fake.Fault{Kind: fake.FaultServerError, Count: 100})
	_, err = p.Records(ctx)
	errs = append(errs, err.Error())
	if !strings.Contains(logs.String(), "Retrying") {
		t.Fatalf("no retry was logged:\n%s", logs.String())
	}
	all := logs.String() + strings.Join(errs, "\n")
	for _, r := range s.Requests() {
		all += r.Authorization + r.Query
	}
	for _, sec := range []string{secret, token} {
		if strings.Contains(all, sec) {
			t.Fatalf("a secret is shown:\n%s", all)
		}
	}
}

// TestErrorReasons maps the API's failures onto the providers' reasons.
func TestErrorReasons(t *testing.T) {
	ctx := t.Context()
	deadURL := cloudapitest.ClosedURL(t)

	records := func(p *route53.Provider) error { _, err := p.Records(ctx); return err }
	tests := []struct {
		name  string
		setup func(*fake.Server)
		mod   func(*route53.Config)
		do    func(*route53.Provider) error
		want  string
	}{
		{"no such hosted zone", nil, func(c *route53.Config) { c.HostedZoneID = "ZNOTTHERE" }, records, kdns.ReasonZoneNotFound},
		{"access denied", func(s *fake.Server) { s.Inject(fake.Fault{Kind: fake.FaultAccessDenied, Count: 1}) }, nil, records, kdns.ReasonUnauthorized},
		{"invalid client token", func(s *fake.Server) { s.RequireAccessKeyID("AKIDOTHER") }, nil, records, kdns.ReasonUnauthorized},
		{"connection refused", nil, func(c *route53.Config) { c.Endpoint = deadURL }, records, kdns.ReasonProviderUnreachable},
		{"create of an existing record", func(s *fake.Server) {
			s.Put(zoneID, fake.Record{Name: "web.example.com", Type: "A", TTL: 60, Values: []string{"192.0.2.1"}})
		}, nil, func(p *route53.Provider) error {
			return p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{ep("web.example.com", "A", 60, "192.0.2.2")}})
		}, kdns.ReasonConflict},
		{"simple beside weighted", func(s *fake.Server) {
			s.Put(zoneID, fake.Record{Name: "web.example.com", Type: "A", TTL: 60, Values: []string{"192.0.2.1"}})
		}, nil, func(p *route53.Provider) error {
			return p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{routed(ep("web.example.com", "A", 60, "192.0.2.2"), "a",
				kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 1})}})
		}, kdns.ReasonInvalidRecord},
		{"two primaries", nil, nil, func(p *route53.Provider) error {
			return p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{
				routed(ep("web.example.com", "A", 60, "192.0.2.1"), "a", kdns.Routing{Policy: kdns.RoutingFailover, Primary: true}),
				routed(ep("web.example.com", "A", 60, "192.0.2.2"), "b", kdns.Routing{Policy: kdns.RoutingFailover, Primary: true}),
			}})
		}, kdns.ReasonInvalidRecord},
		{"name outside the zone", nil, nil, func(p *route53.Provider) error {
			return p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{ep("web.example.org", "A", 60, "192.0.2.1")}})
		}, kdns.ReasonInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newFake(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			mods := []func(*route53.Config){}
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			err := tc.do(newProvider(t, s, mods...))
			if got := kdns.ReasonOf(err); got != tc.want {
				t.Fatalf("got %q (%v), want %q", got, err, tc.want)
			}
			t.Logf("%v", err)
		})
	}
}
