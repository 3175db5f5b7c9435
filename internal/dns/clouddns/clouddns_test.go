package clouddns_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gdns "google.golang.org/api/dns/v1"

	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/cloudapi"
	"github.com/kfed-io/kfed/internal/dns/cloudapi/cloudapitest"
	"github.com/kfed-io/kfed/internal/dns/clouddns"
	"github.com/kfed-io/kfed/internal/dns/clouddns/fake"
)

const (
	project  = "kfed-test"
	zoneName = "example"
)

var fastBackoff = cloudapi.Backoff{Attempts: 6, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}

func newFake(t *testing.T) *fake.Server {
	t.Helper()
	s := fake.NewServer()
	t.Cleanup(s.Close)
	s.AddZone(project, zoneName, "example.com")
	return s
}

func newProvider(t *testing.T, s *fake.Server, mods ...func(*clouddns.Config)) *clouddns.Provider {
	t.Helper()
	cfg := clouddns.Config{
		Project: project, ManagedZone: zoneName, Endpoint: s.URL, HTTPClient: &http.Client{},
		Backoff: fastBackoff, PollInterval: time.Millisecond,
	}
	for _, m := range mods {
		m(&cfg)
	}
	p, err := clouddns.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ep(name, typ string, ttl int64, targets ...string) *kdns.Endpoint {
	return &kdns.Endpoint{DNSName: name, RecordType: typ, TTL: ttl, Targets: targets}
}

func routed(e *kdns.Endpoint, set string, r kdns.Routing) *kdns.Endpoint {
	e.SetIdentifier = set
	e.Routing = &r
	return e
}

func canons(rs []*gdns.ResourceRecordSet) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, fake.Canon(r))
	}
	return out
}

func creates(s *fake.Server) []*gdns.Change {
	var out []*gdns.Change
	for _, r := range s.Requests() {
		if r.Op == "changes.create" {
			out = append(out, r.Change)
		}
	}
	return out
}

// setList is the set list record set of the sets (sorted by identifier) as the provider
// documents it, built here from the entries' fields.
func setList(name, typ string, entries ...string) *gdns.ResourceRecordSet {
	r := &gdns.ResourceRecordSet{Name: clouddns.SetListName(name, typ) + ".", Type: "TXT", Ttl: 300}
	for _, e := range entries {
		r.Rrdatas = append(r.Rrdatas, cloudapi.QuoteTXT("kfed-set?"+e))
	}
	return r
}

// TestStrategiesWriteTheseChanges checks the exact change of each strategy, that the zone
// reads back as the Endpoints written (so a second plan changes nothing), and the replacement
// an update writes.
func TestStrategiesWriteTheseChanges(t *testing.T) {
	tests := []struct {
		name   string
		create []*kdns.Endpoint
		want   []*gdns.ResourceRecordSet
	}{{
		name: "plain",
		create: []*kdns.Endpoint{
			ep("web.example.com", "A", 60, "192.0.2.2", "192.0.2.1"),
			ep("alias.example.com", "CNAME", 0, "web.example.com"),
			ep("txt.example.com", "TXT", 30, `say "hi"`),
		},
		want: []*gdns.ResourceRecordSet{
			{Name: "alias.example.com.", Type: "CNAME", Ttl: 300, Rrdatas: []string{"web.example.com."}},
			{Name: "txt.example.com.", Type: "TXT", Ttl: 30, Rrdatas: []string{`"say \"hi\""`}},
			{Name: "web.example.com.", Type: "A", Ttl: 60, Rrdatas: []string{"192.0.2.1", "192.0.2.2"}},
		},
	}, {
		name: "weighted",
		create: []*kdns.Endpoint{
			routed(ep("web.example.com", "A", 30, "192.0.2.1"), "east", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 3}),
			routed(ep("web.example.com", "A", 30, "192.0.2.2"), "west", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 1000}),
		},
		want: []*gdns.ResourceRecordSet{
			{Name: "web.example.com.", Type: "A", Ttl: 30,
				RoutingPolicy: &gdns.RRSetRoutingPolicy{Wrr: &gdns.RRSetRoutingPolicyWrrPolicy{Items: []*gdns.RRSetRoutingPolicyWrrPolicyWrrPolicyItem{
					{Weight: 3, Rrdatas: []string{"192.0.2.1"}}, {Weight: 1000, Rrdatas: []string{"192.0.2.2"}},
				}}}},
			setList("web.example.com", "A", "id=east&p=Weighted&r=&t=192.0.2.1&ttl=30&w=3", "id=west&p=Weighted&r=&t=192.0.2.2&ttl=30&w=1000"),
		},
	}, {
		name: "geo",
		create: []*kdns.Endpoint{
			routed(ep("web.example.com", "A", 30, "192.0.2.1"), "east", kdns.Routing{Policy: kdns.RoutingGeo, Region: "us-east1"}),
			routed(ep("web.example.com", "A", 30, "192.0.2.2"), "eu", kdns.Routing{Policy: kdns.RoutingGeo, Region: "europe-west1"}),
		},
		want: []*gdns.ResourceRecordSet{
			{Name: "web.example.com.", Type: "A", Ttl: 30,
				RoutingPolicy: &gdns.RRSetRoutingPolicy{Geo: &gdns.RRSetRoutingPolicyGeoPolicy{Items: []*gdns.RRSetRoutingPolicyGeoPolicyGeoPolicyItem{
					{Location: "us-east1", Rrdatas: []string{"192.0.2.1"}}, {Location: "europe-west1", Rrdatas: []string{"192.0.2.2"}},
				}}}},
			setList("web.example.com", "A", "id=east&p=Geo&r=us-east1&t=192.0.2.1&ttl=30&w=0", "id=eu&p=Geo&r=europe-west1&t=192.0.2.2&ttl=30&w=0"),
		},
	}, {
		name: "failover",
		create: []*kdns.Endpoint{
			routed(ep("web.example.com", "A", 30, "192.0.2.1"), "east", kdns.Routing{Policy: kdns.RoutingFailover, Primary: true, Region: "us-east1"}),
			routed(ep("web.example.com", "A", 30, "192.0.2.2"), "west", kdns.Routing{Policy: kdns.RoutingFailover, Region: "us-west1"}),
		},
		want: []*gdns.ResourceRecordSet{
			{Name: "web.example.com.", Type: "A", Ttl: 30, RoutingPolicy: &gdns.RRSetRoutingPolicy{PrimaryBackup: &gdns.RRSetRoutingPolicyPrimaryBackupPolicy{
				PrimaryTargets: &gdns.RRSetRoutingPolicyHealthCheckTargets{ExternalEndpoints: []string{"192.0.2.1"}},
				BackupGeoTargets: &gdns.RRSetRoutingPolicyGeoPolicy{Items: []*gdns.RRSetRoutingPolicyGeoPolicyGeoPolicyItem{{Location: "us-west1",
					Rrdatas: []string{"192.0.2.2"}}}},
			}}},
			setList("web.example.com", "A", "id=east&p=Failover&pr=1&r=us-east1&t=192.0.2.1&ttl=30&w=0", "id=west&p=Failover&r=us-west1&t=192.0.2.2&ttl=30&w=0"),
		},
	}, {
		name: "sets without routing",
		create: []*kdns.Endpoint{
			{DNSName: "kfed-a-web.example.com", RecordType: "TXT", SetIdentifier: "east", Targets: []string{"heritage=kfed"}},
			{DNSName: "kfed-a-web.example.com", RecordType: "TXT", SetIdentifier: "west", Targets: []string{"heritage=kfed"}},
		},
		want: []*gdns.ResourceRecordSet{
			{Name: "kfed-a-web.example.com.", Type: "TXT", Ttl: 300, Rrdatas: []string{`"heritage=kfed"`}},
			setList("kfed-a-web.example.com", "TXT", "id=east&t=heritage%3Dkfed&ttl=300", "id=west&t=heritage%3Dkfed&ttl=300"),
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
			got := creates(s)
			if len(got) != 1 {
				t.Fatalf("%d changes, want 1", len(got))
			}
			if d := cmp.Diff(canons(tc.want), canons(got[0].Additions)); d != "" {
				t.Fatalf("additions (-want +got):\n%s", d)
			}
			if len(got[0].Deletions) != 0 {
				t.Fatalf("deletions %v", canons(got[0].Deletions))
			}
			want := clouddns.AdjustEndpoints(tc.create)
			read, err := p.Records(ctx)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := kdns.Diff(want, read)
			if err != nil {
				t.Fatal(err)
			}
			if !plan.Empty() {
				t.Fatalf("the zone does not read back as written: %+v", plan)
			}

			// Update one set: its group is replaced in one change, old record sets deleted.
			upd := *want[len(want)-1]
			upd.Targets = map[string][]string{"A": {"192.0.2.77"}, "AAAA": {"2001:db8::77"}, "TXT": {"changed"}, "CNAME": {"other.example.com"}}[upd.RecordType]
			before := s.RRSets(project, zoneName)
			if err := p.ApplyChanges(ctx, &kdns.Changes{UpdateOld: []*kdns.Endpoint{want[len(want)-1]}, UpdateNew: []*kdns.Endpoint{&upd}}); err != nil {
				t.Fatal(err)
			}
			c := creates(s)[1]
			var wantDel []*gdns.ResourceRecordSet
			for _, r := range before {
				if r.Name == fqdn(upd.DNSName) && r.Type == upd.RecordType || r.Name == clouddns.SetListName(upd.DNSName, upd.RecordType)+"." {
					wantDel = append(wantDel, r)
				}
			}
			if d := cmp.Diff(canons(wantDel), sortedCanons(c.Deletions)); d != "" {
				t.Fatalf("the update's deletions (-want +got):\n%s", d)
			}
			if len(c.Additions) != len(wantDel) {
				t.Fatalf("the update adds %d record sets, want %d", len(c.Additions), len(wantDel))
			}
			read, err = p.Records(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want[len(want)-1] = upd.Normalize()
			if plan, err := kdns.Diff(want, read); err != nil || !plan.Empty() {
				t.Fatalf("after the update: %+v %v", plan, err)
			}
		})
	}
}

func fqdn(n string) string { return n + "." }

func sortedCanons(rs []*gdns.ResourceRecordSet) []string {
	out := canons(rs)
	// The fake lists by name and type; the set list name sorts before or after its record
	// set's depending on the name, so compare as the fake sorts.
	byName := map[string]string{}
	names := make([]string, 0, len(rs))
	for i, r := range rs {
		k := r.Name + "\x00" + r.Type
		byName[k] = out[i]
		names = append(names, k)
	}
	sortStrings(names)
	out = out[:0]
	for _, n := range names {
		out = append(out, byName[n])
	}
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestGeoNeedsOneGCPRegionPerSet refuses a region that is not a Google Cloud region, naming
// it, and two sets in one region, before anything is sent.
func TestGeoNeedsOneGCPRegionPerSet(t *testing.T) {
	s := newFake(t)
	p := newProvider(t, s)
	for _, tc := range []struct {
		sets []*kdns.Endpoint
		say  string
	}{
		{[]*kdns.Endpoint{routed(ep("web.example.com", "A", 30, "192.0.2.1"), "a", kdns.Routing{Policy: kdns.RoutingGeo, Region: "us-east-1"})}, `"us-east-1"`},
		{[]*kdns.Endpoint{
			routed(ep("web.example.com", "A", 30, "192.0.2.1"), "a", kdns.Routing{Policy: kdns.RoutingGeo, Region: "us-east1"}),
			routed(ep("web.example.com", "A", 30, "192.0.2.2"), "b", kdns.Routing{Policy: kdns.RoutingGeo, Region: "us-east1"}),
		}, "both in region us-east1"},
		{[]*kdns.Endpoint{
			routed(ep("web.example.com", "A", 30, "192.0.2.1"), "a", kdns.Routing{Policy: kdns.RoutingGeo, Region: "us-east1"}),
			routed(ep("web.example.com", "A", 30, "192.0.2.2"), "b", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 1}),
		}, "one routing policy"},
	} {
		err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: tc.sets})
		if kdns.ReasonOf(err) != kdns.ReasonInvalidRecord || !strings.Contains(err.Error(), tc.say) {
			t.Fatalf("got %v, want InvalidRecord saying %s", err, tc.say)
		}
	}
	if n := len(creates(s)); n != 0 {
		t.Fatalf("%d changes sent", n)
	}
}

// TestBatching2500 writes 2,500 record sets in changes within the limits (the fake refuses
// any that is not) and reads them back across pages.
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
	changes := creates(s)
	if len(changes) != 3 {
		t.Fatalf("%d changes, want 3", len(changes))
	}
	for i, c := range changes {
		size := 0
		for _, r := range c.Additions {
			size += clouddns.RecordDataBytes(r)
		}
		if len(c.Additions) > clouddns.MaxAdditions || size > clouddns.MaxRrdataBytes {
			t.Fatalf("change %d: %d additions, %d bytes", i, len(c.Additions), size)
		}
	}
	if n := len(s.Applied()); n != 3 {
		t.Fatalf("%d changes applied, want 3", n)
	}
	got, err := p.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2500 {
		t.Fatalf("read %d back, want 2500", len(got))
	}
	pages := 0
	for _, r := range s.Requests() {
		if r.Op == "resourceRecordSets.list" {
			pages++
		}
	}
	if pages != 1+25 { // the ApplyChanges read of the empty zone and the Records read, 100 a page
		t.Fatalf("%d list pages, want 26", pages)
	}

	// Record data binds before the count: 150 TXT record sets of 2,000 bytes.
	s2 := newFake(t)
	p2 := newProvider(t, s2)
	txts := make([]*kdns.Endpoint, 0, 150)
	for i := range 150 {
		txts = append(txts, ep(fmt.Sprintf("t%03d.example.com", i), "TXT", 60, strings.Repeat("v", 2000)))
	}
	if err := p2.ApplyChanges(ctx, &kdns.Changes{Create: txts}); err != nil {
		t.Fatal(err)
	}
	if n := len(creates(s2)); n != 4 { // 2,024 bytes each: 49 a change
		t.Fatalf("%d changes, want 4", n)
	}
}

// TestThrottlingRetriedWithoutDuplicate: throttled calls are sent again and applied once.
func TestThrottlingRetriedWithoutDuplicate(t *testing.T) {
	s := newFake(t)
	p := newProvider(t, s)
	s.Inject(fake.Fault{Op: "changes.create", Kind: fake.FaultRateLimit, Count: 2})
	s.Inject(fake.Fault{Op: "changes.create", Kind: fake.FaultRateLimit403, Count: 1})
	s.Inject(fake.Fault{Op: "resourceRecordSets.list", Kind: fake.FaultRateLimit, Count: 1})
	s.Inject(fake.Fault{Op: "changes.get", Kind: fake.FaultRateLimit, Count: 1})
	s.SetPendingPolls(2)
	if err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{ep("web.example.com", "A", 60, "192.0.2.1")}}); err != nil {
		t.Fatal(err)
	}
	if n, m := len(creates(s)), len(s.Applied()); n != 4 || m != 1 {
		t.Fatalf("%d changes sent and %d applied, want 4 and 1", n, m)
	}
	polls := 0
	for _, r := range s.Requests() {
		if r.Op == "changes.get" {
			polls++
		}
	}
	if polls != 4 { // pending, pending, throttled, done
		t.Fatalf("%d changes.get, want 4", polls)
	}

	s.Inject(fake.Fault{Op: "changes.create", Kind: fake.FaultRateLimit, Count: 100})
	err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{ep("b.example.com", "A", 60, "192.0.2.1")}})
	if err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("got %v, want a throttling error", err)
	}
}

// TestChangeWaitIsBounded: a change that stays pending is an error after the timeout.
func TestChangeWaitIsBounded(t *testing.T) {
	s := newFake(t)
	p := newProvider(t, s, func(c *clouddns.Config) { c.ChangeTimeout = 50 * time.Millisecond })
	s.SetPendingPolls(1 << 30)
	err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{ep("web.example.com", "A", 60, "192.0.2.1")}})
	if err == nil || !strings.Contains(err.Error(), "still pending") {
		t.Fatalf("got %v, want still pending", err)
	}
}

// TestLostAnswerNotAppliedTwice: a change applied whose answer was lost is found applied by
// reading the zone; one refused with a server error is sent again.
func TestLostAnswerNotAppliedTwice(t *testing.T) {
	for _, tc := range []struct {
		fault      string
		sent, done int
	}{{fake.FaultLoseResponse, 1, 1}, {fake.FaultServerError, 2, 1}} {
		t.Run(tc.fault, func(t *testing.T) {
			s := newFake(t)
			p := newProvider(t, s)
			old := ep("old.example.com", "A", 60, "192.0.2.9")
			if err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{old}}); err != nil {
				t.Fatal(err)
			}
			s.Inject(fake.Fault{Op: "changes.create", Kind: tc.fault, Count: 1})
			err := p.ApplyChanges(t.Context(), &kdns.Changes{
				Create: []*kdns.Endpoint{routed(ep("web.example.com", "A", 60, "192.0.2.1"), "a", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 1})},
				Delete: []*kdns.Endpoint{old},
			})
			if err != nil {
				t.Fatal(err)
			}
			if n, m := len(creates(s))-1, len(s.Applied())-1; n != tc.sent || m != tc.done {
				t.Fatalf("%d changes sent and %d applied, want %d and %d", n, m, tc.sent, tc.done)
			}
		})
	}
}

// TestRegistryLeavesForeignRecords: wrapped in the ownership registry, kfed changes no record
// it does not own; a routed record set another wrote is not even read as kfed's.
func TestRegistryLeavesForeignRecords(t *testing.T) {
	s := newFake(t)
	p := newProvider(t, s)
	foreign := []*gdns.ResourceRecordSet{
		{Name: "shop.example.com.", Type: "A", Ttl: 60, Rrdatas: []string{"198.51.100.7"}},
		{Name: "lb.example.com.", Type: "A", Ttl: 60, RoutingPolicy: &gdns.RRSetRoutingPolicy{Wrr: &gdns.RRSetRoutingPolicyWrrPolicy{
			Items: []*gdns.RRSetRoutingPolicyWrrPolicyWrrPolicyItem{{Weight: 1, Rrdatas: []string{"198.51.100.8"}}},
		}}},
	}
	s.Put(project, zoneName, foreign...)
	reg, err := kdns.NewRegistry(p, "fed-a")
	if err != nil {
		t.Fatal(err)
	}
	mine := routed(ep("web.example.com", "A", 60, "192.0.2.1"), "east", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 2})
	mine.Labels = map[string]string{kdns.LabelResource: "FederatedService/default/web"}
	err = reg.ApplyChanges(t.Context(), &kdns.Changes{
		Create: []*kdns.Endpoint{mine},
		Delete: []*kdns.Endpoint{ep("shop.example.com", "A", 60, "198.51.100.7")},
	})
	if c := kdns.Conflicts(err); len(c) != 1 || strings.Contains(err.Error(), "applying") {
		t.Fatalf("got %v, want one conflict and the rest applied", err)
	}
	lb := routed(ep("lb.example.com", "A", 60, "192.0.2.1"), "east", kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 2})
	lb.Labels = map[string]string{kdns.LabelResource: "FederatedService/default/lb"}
	if err := reg.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{lb}}); kdns.ReasonOf(err) != kdns.ReasonConflict {
		t.Fatalf("creating a set beside another's routed record set: %v, want Conflict", err)
	}
	have := map[string]string{}
	for _, r := range s.RRSets(project, zoneName) {
		have[r.Name+" "+r.Type] = fake.Canon(r)
	}
	for _, f := range foreign {
		if have[f.Name+" "+f.Type] != fake.Canon(f) {
			t.Fatalf("%s changed: %s", f.Name, have[f.Name+" "+f.Type])
		}
	}
	owned, err := reg.Records(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) != 1 || owned[0].DNSName != "web.example.com" || owned[0].SetIdentifier != "east" {
		t.Fatalf("owned %v, want web.example.com [east] alone", owned)
	}
}

// serviceAccountKey makes a service account key whose token endpoint is the fake's.
func serviceAccountKey(t *testing.T, tokenURL string) (keyJSON []byte, secret string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	b, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": "0123456789abcdef0123456789abcdef01234567",
		"private_key": pemKey, "client_email": "kfed@" + project + ".iam.gserviceaccount.com", "client_id": "1",
		"token_uri": tokenURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	// A line from the middle of the key: the part that must never be shown.
	lines := strings.Split(pemKey, "\n")
	return b, lines[len(lines)/2]
}

// TestCredentialsNeverShown: with a service account key the requests are authorized, and no
// part of the key appears in a log line or an error.
func TestCredentialsNeverShown(t *testing.T) {
	s := newFake(t)
	s.RequireAuth()
	key, secret := serviceAccountKey(t, s.URL+"/token")
	var logs cloudapitest.Logs
	p := newProvider(t, s, func(c *clouddns.Config) { c.HTTPClient = nil; c.CredentialsJSON = key; c.Logger = logs.Logger() })
	ctx := t.Context()
	s.Inject(fake.Fault{Op: "resourceRecordSets.list", Kind: fake.FaultRateLimit, Count: 2})
	if err := p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{ep("web.example.com", "A", 60, "192.0.2.1")}}); err != nil {
		t.Fatal(err)
	}
	errs := make([]string, 0, 3)
	s.Inject(fake.Fault{Kind: fake.FaultForbidden, Count: 1})
	_, err := p.Records(ctx)
	if kdns.ReasonOf(err) != kdns.ReasonUnauthorized {
		t.Fatalf("got %v, want Unauthorized", err)
	}
	errs = append(errs, err.Error())
	s.Inject(fake.Fault{Kind: fake.FaultServerError, Count: 100})
	_, err = p.Records(ctx)
	errs = append(errs, fmt.Sprintf("%v", err))
	_, err = clouddns.New(ctx, clouddns.Config{Project: project, ManagedZone: zoneName, CredentialsJSON: append([]byte(`{"type":"user",`), key[1:]...)})
	errs = append(errs, fmt.Sprintf("%v", err))
	if !strings.Contains(logs.String(), "Retrying") {
		t.Fatalf("no retry logged:\n%s", logs.String())
	}
	authorized, tokens := false, 0
	for _, r := range s.Requests() {
		if r.Op == "token" {
			tokens++
		}
		authorized = authorized || (r.Op == "changes.create" && strings.HasPrefix(r.Authorization, "Bearer "))
	}
	if !authorized || tokens == 0 {
		t.Fatalf("authorized change: %v; token requests: %d (the key's token endpoint is the fake's)", authorized, tokens)
	}
	all := logs.String() + strings.Join(errs, "\n")
	if strings.Contains(all, secret) || strings.Contains(all, "PRIVATE KEY") {
		t.Fatalf("the key is shown:\n%s", all)
	}
}

// TestErrorReasons maps the API's failures onto the providers' reasons.
func TestErrorReasons(t *testing.T) {
	ctx := t.Context()
	deadURL := cloudapitest.ClosedURL(t)
	records := func(p *clouddns.Provider) error { _, err := p.Records(ctx); return err }
	create := func(eps ...*kdns.Endpoint) func(*clouddns.Provider) error {
		return func(p *clouddns.Provider) error { return p.ApplyChanges(ctx, &kdns.Changes{Create: eps}) }
	}
	tests := []struct {
		name  string
		setup func(*fake.Server)
		mod   func(*clouddns.Config)
		do    func(*clouddns.Provider) error
		want  string
	}{
		{"no such managed zone", nil, func(c *clouddns.Config) { c.ManagedZone = "other" }, records, kdns.ReasonZoneNotFound},
		{"forbidden", func(s *fake.Server) { s.Inject(fake.Fault{Kind: fake.FaultForbidden, Count: 1}) }, nil, records, kdns.ReasonUnauthorized},
		{"unauthenticated", func(s *fake.Server) { s.RequireAuth() }, nil, records, kdns.ReasonUnauthorized},
		{"connection refused", nil, func(c *clouddns.Config) { c.Endpoint = deadURL }, records, kdns.ReasonProviderUnreachable},
		{"create of an existing record", func(s *fake.Server) {
			s.Put(project, zoneName, &gdns.ResourceRecordSet{Name: "web.example.com.", Type: "A", Ttl: 60, Rrdatas: []string{"192.0.2.1"}})
		}, nil, create(ep("web.example.com", "A", 60, "192.0.2.2")), kdns.ReasonConflict},
		{"CNAME beside an A", func(s *fake.Server) {
			s.Put(project, zoneName, &gdns.ResourceRecordSet{Name: "web.example.com.", Type: "A", Ttl: 60, Rrdatas: []string{"192.0.2.1"}})
		}, nil, create(ep("web.example.com", "CNAME", 60, "other.example.com")), kdns.ReasonInvalidRecord},
		{"name outside the zone", nil, nil, create(ep("web.example.org", "A", 60, "192.0.2.1")), kdns.ReasonInvalidRecord},
		{"failover of a CNAME", nil, nil, create(
			routed(ep("web.example.com", "CNAME", 60, "a.example.com"), "a", kdns.Routing{Policy: kdns.RoutingFailover, Primary: true}),
		), kdns.ReasonInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newFake(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			var mods []func(*clouddns.Config)
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
