package inmemory

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kfed-io/kfed/internal/dns"
)

func ep(name, typ string, targets ...string) *dns.Endpoint {
	return &dns.Endpoint{DNSName: name, RecordType: typ, Targets: targets, TTL: 30}
}

func TestApplyChanges(t *testing.T) {
	start := []*dns.Endpoint{ep("a.example.com", "A", "10.0.0.1"), ep("c.example.com", "CNAME", "a.example.com")}
	tests := []struct {
		name    string
		changes dns.Changes
		want    []*dns.Endpoint // the zone after; nil means unchanged
		wantErr error
	}{
		{
			name: "create, update and delete in one change",
			changes: dns.Changes{
				Create:    []*dns.Endpoint{ep("B.example.com.", "AAAA", "2001:DB8::1")},
				UpdateOld: []*dns.Endpoint{ep("a.example.com", "A", "10.0.0.1")},
				UpdateNew: []*dns.Endpoint{ep("a.example.com", "A", "10.0.0.2", "10.0.0.1")},
				Delete:    []*dns.Endpoint{ep("c.example.com", "CNAME", "a.example.com")},
			},
			want: []*dns.Endpoint{ep("a.example.com", "A", "10.0.0.1", "10.0.0.2"), ep("b.example.com", "AAAA", "2001:db8::1")},
		},
		{
			name: "a name turns from CNAME into A: the delete goes first",
			changes: dns.Changes{
				Create: []*dns.Endpoint{ep("c.example.com", "A", "10.0.0.3")},
				Delete: []*dns.Endpoint{ep("c.example.com", "CNAME", "a.example.com")},
			},
			want: []*dns.Endpoint{ep("a.example.com", "A", "10.0.0.1"), ep("c.example.com", "A", "10.0.0.3")},
		},
		{
			name:    "creating a record set that exists",
			changes: dns.Changes{Create: []*dns.Endpoint{ep("a.example.com", "A", "10.0.0.9")}},
			wantErr: ErrRecordExists,
		},
		{
			name:    "updating one that does not",
			changes: dns.Changes{UpdateOld: []*dns.Endpoint{ep("x.example.com", "A", "10.0.0.9")}, UpdateNew: []*dns.Endpoint{ep("x.example.com", "A", "10.0.0.8")}},
			wantErr: ErrRecordNotFound,
		},
		{
			name:    "deleting one that does not",
			changes: dns.Changes{Delete: []*dns.Endpoint{ep("x.example.com", "A", "10.0.0.9")}},
			wantErr: ErrRecordNotFound,
		},
		{
			name:    "a CNAME beside an A",
			changes: dns.Changes{Create: []*dns.Endpoint{ep("a.example.com", "CNAME", "elsewhere.example.net")}},
			wantErr: ErrCNAMEConflict,
		},
		{
			name: "the whole change fails with one bad part",
			changes: dns.Changes{
				Create: []*dns.Endpoint{ep("ok.example.com", "A", "10.0.0.5")},
				Delete: []*dns.Endpoint{ep("missing.example.com", "A", "10.0.0.9")},
			},
			wantErr: ErrRecordNotFound,
		},
		{
			name:    "an update that changes the key",
			changes: dns.Changes{UpdateOld: []*dns.Endpoint{ep("a.example.com", "A", "10.0.0.1")}, UpdateNew: []*dns.Endpoint{ep("b.example.com", "A", "10.0.0.1")}},
			wantErr: ErrInvalidRecord,
		},
		{
			name:    "an A with an IPv6 address",
			changes: dns.Changes{Create: []*dns.Endpoint{ep("v6.example.com", "A", "2001:db8::1")}},
			wantErr: ErrInvalidRecord,
		},
		{
			name:    "a CNAME with two targets",
			changes: dns.Changes{Create: []*dns.Endpoint{ep("two.example.com", "CNAME", "a.example.com", "b.example.com")}},
			wantErr: ErrInvalidRecord,
		},
		{
			name:    "no targets",
			changes: dns.Changes{Create: []*dns.Endpoint{ep("none.example.com", "A")}},
			wantErr: ErrInvalidRecord,
		},
		{
			name:    "an unknown type",
			changes: dns.Changes{Create: []*dns.Endpoint{ep("mx.example.com", "MX", "mail.example.com")}},
			wantErr: ErrInvalidRecord,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := New()
			if err := z.Replace(start); err != nil {
				t.Fatal(err)
			}
			before := z.Snapshot()
			err := z.ApplyChanges(t.Context(), &tt.changes)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("want error %v, got %v", tt.wantErr, err)
			}
			want := tt.want
			if want == nil {
				want = start
			}
			got, _ := z.Records(t.Context())
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("zone after (-want +got):\n%s", diff)
			}
			if (tt.wantErr != nil) == (z.Snapshot() != before) {
				t.Errorf("the snapshot changed: %v, want changed only on success", z.Snapshot() != before)
			}
		})
	}
}

func TestSerialGrowsWithEveryChangeOnly(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	z := newZone(func() time.Time { return now })
	changed := z.Changed()
	if err := z.Replace([]*dns.Endpoint{ep("a.example.com", "A", "10.0.0.1")}); err != nil {
		t.Fatal(err)
	}
	s1 := z.Snapshot()
	if s1.Serial != 1_700_000_000 || s1.Generation != 1 {
		t.Errorf("first change: serial %d generation %d, want the Unix time and 1", s1.Serial, s1.Generation)
	}
	select {
	case <-changed:
	default:
		t.Error("Changed was not closed by a change")
	}

	// The same content again changes nothing.
	if err := z.Replace([]*dns.Endpoint{ep("A.example.com.", "A", "10.0.0.1")}); err != nil {
		t.Fatal(err)
	}
	if z.Snapshot() != s1 {
		t.Error("replacing with the same content made a new snapshot")
	}

	// Two changes within one second still give two serials.
	for i := range 2 {
		if err := z.Replace([]*dns.Endpoint{ep("a.example.com", "A", fmt.Sprintf("10.0.0.%d", i+2))}); err != nil {
			t.Fatal(err)
		}
	}
	if s := z.Snapshot(); s.Serial != s1.Serial+2 || s.Generation != 3 {
		t.Errorf("after two more changes in the same second: serial %d generation %d, want %d and 3", s.Serial, s.Generation, s1.Serial+2)
	}
	// A TTL change is a change.
	if err := z.Replace([]*dns.Endpoint{{DNSName: "a.example.com", RecordType: "A", Targets: []string{"10.0.0.3"}, TTL: 60}}); err != nil {
		t.Fatal(err)
	}
	if z.Snapshot().Generation != 4 {
		t.Error("a TTL change did not change the zone")
	}
}

func TestReplaceRejectsBadRecords(t *testing.T) {
	z := New()
	for name, records := range map[string][]*dns.Endpoint{
		"a key twice":         {ep("a.example.com", "A", "10.0.0.1"), ep("a.example.com.", "A", "10.0.0.2")},
		"a CNAME beside an A": {ep("a.example.com", "A", "10.0.0.1"), ep("a.example.com", "CNAME", "b.example.com")},
		"an invalid address":  {ep("a.example.com", "A", "10.0.0")},
	} {
		if err := z.Replace(records); err == nil {
			t.Errorf("%s: Replace took it", name)
		}
	}
	if z.Snapshot().Generation != 0 {
		t.Error("a refused Replace changed the zone")
	}
}

func TestRecordsAreCopies(t *testing.T) {
	z := New()
	if err := z.Replace([]*dns.Endpoint{ep("a.example.com", "A", "10.0.0.1")}); err != nil {
		t.Fatal(err)
	}
	got, _ := z.Records(t.Context())
	got[0].Targets[0] = "10.9.9.9"
	again, _ := z.Records(t.Context())
	if again[0].Targets[0] != "10.0.0.1" {
		t.Error("changing what Records returned changed the zone")
	}
}

// TestConcurrentUse runs writers and readers at once; `go test -race` proves the locking.
func TestConcurrentUse(t *testing.T) {
	z := New()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 100 {
				e := ep(fmt.Sprintf("w%d-%d.example.com", w, i), "A", "10.0.0.1")
				if err := z.ApplyChanges(t.Context(), &dns.Changes{Create: []*dns.Endpoint{e}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			for range 100 {
				if _, err := z.Records(t.Context()); err != nil {
					t.Error(err)
					return
				}
				_ = z.Snapshot()
			}
		})
	}
	wg.Wait()
	if got := len(z.Snapshot().Records); got != 400 {
		t.Errorf("want 400 records, got %d", got)
	}
}

func TestDomainRefusesNamesOutsideIt(t *testing.T) {
	z := New(Domain("Example.com."))
	for name, want := range map[string]error{
		"example.com":      nil,
		"a.b.example.com":  nil,
		"example.org":      ErrOutsideZone,
		"notexample.com":   ErrOutsideZone,
		"example.com.evil": ErrOutsideZone,
	} {
		err := z.ApplyChanges(t.Context(), &dns.Changes{Create: []*dns.Endpoint{ep(name, "A", "10.0.0.1")}})
		if !errors.Is(err, want) {
			t.Errorf("%s: error %v, want %v", name, err, want)
		}
	}
	if err := z.Replace([]*dns.Endpoint{ep("x.example.net", "A", "10.0.0.1")}); !errors.Is(err, ErrOutsideZone) {
		t.Errorf("Replace: error %v, want %v", err, ErrOutsideZone)
	}
}

func routed(set string, r *dns.Routing, typ string, targets ...string) *dns.Endpoint {
	e := ep("shop.example.com", typ, targets...)
	e.SetIdentifier, e.Routing = set, r
	return e
}

// TestRoutingIsKept proves the zone keeps each set's routing through Replace, ApplyChanges and
// Records, and that a change of routing alone is a change of the zone.
func TestRoutingIsKept(t *testing.T) {
	z := New()
	sets := []*dns.Endpoint{
		routed("eu", &dns.Routing{Policy: dns.RoutingWeighted, Weight: 3, Region: "europe-west1"}, "A", "10.0.1.1"),
		routed("us", &dns.Routing{Policy: dns.RoutingWeighted, Weight: 1, Region: "us-east1"}, "A", "10.0.0.1"),
	}
	if err := z.Replace(sets); err != nil {
		t.Fatal(err)
	}
	got, _ := z.Records(t.Context())
	if diff := cmp.Diff(sets, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	got[0].Routing.Weight = 99
	if again, _ := z.Records(t.Context()); again[0].Routing.Weight != 3 {
		t.Error("changing the routing Records returned changed the zone")
	}

	next := routed("eu", &dns.Routing{Policy: dns.RoutingWeighted, Weight: 5, Region: "europe-west1"}, "A", "10.0.1.1")
	gen := z.Snapshot().Generation
	if err := z.ApplyChanges(t.Context(), &dns.Changes{UpdateOld: sets[:1], UpdateNew: []*dns.Endpoint{next}}); err != nil {
		t.Fatal(err)
	}
	if z.Snapshot().Generation == gen {
		t.Fatal("a change of weight alone did not change the zone")
	}
	if w := z.Snapshot().Records[0].Routing.Weight; w != 5 {
		t.Errorf("weight %d after the update, want 5", w)
	}
	gen = z.Snapshot().Generation
	if err := z.Replace([]*dns.Endpoint{next, sets[1]}); err != nil {
		t.Fatal(err)
	}
	if z.Snapshot().Generation != gen {
		t.Error("replacing with the same routing changed the zone")
	}
}

func TestRoutedSetsFollowTheCNAMERule(t *testing.T) {
	w := func(n int64) *dns.Routing { return &dns.Routing{Policy: dns.RoutingWeighted, Weight: n} }
	z := New()
	if err := z.Replace([]*dns.Endpoint{
		routed("a", w(1), "CNAME", "lb-a.example.net"), routed("b", w(2), "CNAME", "lb-b.example.net"),
	}); err != nil {
		t.Errorf("two weighted CNAME sets of one name were refused: %v", err)
	}
	for name, records := range map[string][]*dns.Endpoint{
		"a CNAME set beside an A set":    {routed("a", w(1), "CNAME", "lb-a.example.net"), routed("b", w(1), "A", "10.0.0.1")},
		"routing without set identifier": {routed("", w(1), "A", "10.0.0.1")},
		"an unknown routing policy":      {routed("a", &dns.Routing{Policy: "Latency"}, "A", "10.0.0.1")},
		"a negative weight":              {routed("a", w(-1), "A", "10.0.0.1")},
	} {
		if err := z.Replace(records); !errors.Is(err, ErrInvalidRecord) && !errors.Is(err, ErrCNAMEConflict) {
			t.Errorf("%s: Replace answered %v", name, err)
		}
	}
}
