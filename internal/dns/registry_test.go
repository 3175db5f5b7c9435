package dns_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/inmemory"
)

const (
	web     = "web.shop.myfed.svc.example.com"
	webRes  = "FederatedService/shop/web"
	ownerID = "host-a"
)

func rec(name, typ string, targets ...string) *dns.Endpoint {
	return &dns.Endpoint{DNSName: name, RecordType: typ, Targets: targets, TTL: 30}
}

// forWeb labels a record as the web FederatedService's, as the planner does.
func forWeb(e *dns.Endpoint) *dns.Endpoint {
	e.Labels = map[string]string{dns.LabelResource: webRes}
	return e
}

// txt is an ownership record as the registry writes it.
func txt(name, typ, owner, resource string) *dns.Endpoint {
	return &dns.Endpoint{
		DNSName: dns.OwnershipName(name, typ), RecordType: "TXT", TTL: 300,
		Targets: []string{"heritage=kfed,kfed/owner=" + owner + ",kfed/resource=" + resource},
	}
}

func TestOwnershipName(t *testing.T) {
	long := strings.Repeat("x", 60)
	tests := []struct{ name, typ, want string }{
		{web, "A", "kfed-a-web.shop.myfed.svc.example.com"},
		{web, "AAAA", "kfed-aaaa-web.shop.myfed.svc.example.com"},
		{"Web.Example.com.", "CNAME", "kfed-cname-web.example.com"},
		{"example", "A", "kfed-a-example"},
		{long + ".example.com", "CNAME", "kfed-cname-" + long[:43] + "-8f2e3b9c.example.com"},
	}
	for _, tt := range tests {
		got := dns.OwnershipName(tt.name, tt.typ)
		if tt.name == long+".example.com" {
			// The hash part is checked for shape, the label for length.
			first, _, _ := strings.Cut(got, ".")
			if len(first) != 63 || !strings.HasPrefix(first, "kfed-cname-"+long[:43]+"-") {
				t.Errorf("OwnershipName(%q) = %q: want a 63-character label keeping the start of the name", tt.name, got)
			}
			if dns.OwnershipName(long+"y.example.com", tt.typ) == got {
				t.Errorf("two long names share the ownership name %q", got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("OwnershipName(%q, %s) = %q, want %q", tt.name, tt.typ, got, tt.want)
		}
	}
}

func TestRegistryRecordsReturnsOnlyWhatItsOwnerOwns(t *testing.T) {
	z := inmemory.New()
	must(t, z.Replace([]*dns.Endpoint{
		rec(web, "A", "10.0.0.1"), txt(web, "A", ownerID, webRes),
		rec(web, "AAAA", "2001:db8::1"), txt(web, "AAAA", "host-b", "FederatedService/shop/web"),
		rec("mine-cname.example.com", "CNAME", web), txt("mine-cname.example.com", "CNAME", ownerID, "FederatedService/shop/other"),
		rec("unowned.example.com", "A", "10.0.0.9"),
		rec("edns.example.com", "A", "10.0.0.8"),
		{DNSName: "edns.example.com", RecordType: "TXT", TTL: 300,
			Targets: []string{`"heritage=external-dns,external-dns/owner=x,external-dns/resource=service/default/web"`}},
		// A leftover ownership record whose record is gone is not a record.
		txt("gone.example.com", "A", ownerID, webRes),
	}))
	r, err := dns.NewRegistry(z, ownerID)
	must(t, err)
	got, err := r.Records(t.Context())
	must(t, err)
	want := []*dns.Endpoint{
		{DNSName: "mine-cname.example.com", RecordType: "CNAME", Targets: []string{web}, TTL: 30,
			Labels: map[string]string{dns.LabelOwner: ownerID, dns.LabelResource: "FederatedService/shop/other"}},
		{DNSName: web, RecordType: "A", Targets: []string{"10.0.0.1"}, TTL: 30,
			Labels: map[string]string{dns.LabelOwner: ownerID, dns.LabelResource: webRes}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRegistryApplyChanges(t *testing.T) {
	foreignTXT := &dns.Endpoint{DNSName: "edns.example.com", RecordType: "TXT", TTL: 300,
		Targets: []string{"heritage=external-dns,external-dns/owner=x,external-dns/resource=service/default/web"}}
	tests := []struct {
		name          string
		zone          []*dns.Endpoint
		changes       dns.Changes
		wantZone      []*dns.Endpoint
		wantConflicts []*dns.ConflictError
	}{
		{
			name:     "create writes the ownership record with the record",
			changes:  dns.Changes{Create: []*dns.Endpoint{forWeb(rec(web, "A", "10.0.0.1"))}},
			wantZone: []*dns.Endpoint{txt(web, "A", ownerID, webRes), rec(web, "A", "10.0.0.1")},
		},
		{
			name: "update of its own record; the ownership record stays",
			zone: []*dns.Endpoint{rec(web, "A", "10.0.0.1"), txt(web, "A", ownerID, webRes)},
			changes: dns.Changes{
				UpdateOld: []*dns.Endpoint{rec(web, "A", "10.0.0.1")},
				UpdateNew: []*dns.Endpoint{forWeb(rec(web, "A", "10.0.0.2"))},
			},
			wantZone: []*dns.Endpoint{txt(web, "A", ownerID, webRes), rec(web, "A", "10.0.0.2")},
		},
		{
			name: "update for another resource of the same owner rewrites the ownership record",
			zone: []*dns.Endpoint{rec(web, "A", "10.0.0.1"), txt(web, "A", ownerID, "FederatedService/shop/old")},
			changes: dns.Changes{
				UpdateOld: []*dns.Endpoint{rec(web, "A", "10.0.0.1")},
				UpdateNew: []*dns.Endpoint{forWeb(rec(web, "A", "10.0.0.1"))},
			},
			wantZone: []*dns.Endpoint{txt(web, "A", ownerID, webRes), rec(web, "A", "10.0.0.1")},
		},
		{
			name:     "delete takes the ownership record with it",
			zone:     []*dns.Endpoint{rec(web, "A", "10.0.0.1"), txt(web, "A", ownerID, webRes), rec("other.example.com", "A", "10.0.0.7")},
			changes:  dns.Changes{Delete: []*dns.Endpoint{rec(web, "A", "10.0.0.1")}},
			wantZone: []*dns.Endpoint{rec("other.example.com", "A", "10.0.0.7")},
		},
		{
			name:     "create over a leftover ownership record of its own takes it over",
			zone:     []*dns.Endpoint{txt(web, "A", ownerID, "FederatedService/shop/old")},
			changes:  dns.Changes{Create: []*dns.Endpoint{forWeb(rec(web, "A", "10.0.0.1"))}},
			wantZone: []*dns.Endpoint{txt(web, "A", ownerID, webRes), rec(web, "A", "10.0.0.1")},
		},
		{
			name: "a name turning from A to CNAME: delete and create with their ownership records",
			zone: []*dns.Endpoint{rec(web, "A", "10.0.0.1"), txt(web, "A", ownerID, webRes)},
			changes: dns.Changes{
				Create: []*dns.Endpoint{forWeb(rec(web, "CNAME", "lb.example.net"))},
				Delete: []*dns.Endpoint{rec(web, "A", "10.0.0.1")},
			},
			wantZone: []*dns.Endpoint{txt(web, "CNAME", ownerID, webRes), rec(web, "CNAME", "lb.example.net")},
		},
		{
			name:          "create over a record without ownership is refused",
			zone:          []*dns.Endpoint{rec(web, "A", "10.0.0.9")},
			changes:       dns.Changes{Create: []*dns.Endpoint{forWeb(rec(web, "A", "10.0.0.1"))}},
			wantConflicts: []*dns.ConflictError{{Record: web + " A"}},
		},
		{
			name: "update and delete of another owner's records are refused; the rest is applied",
			zone: []*dns.Endpoint{
				rec(web, "A", "10.0.0.9"), txt(web, "A", "host-b", "FederatedService/shop/web"),
				rec(web, "AAAA", "2001:db8::9"), txt(web, "AAAA", "host-b", "FederatedService/shop/web"),
			},
			changes: dns.Changes{
				Create:    []*dns.Endpoint{forWeb(rec("new.example.com", "A", "10.0.0.5"))},
				UpdateOld: []*dns.Endpoint{rec(web, "A", "10.0.0.9")},
				UpdateNew: []*dns.Endpoint{forWeb(rec(web, "A", "10.0.0.1"))},
				Delete:    []*dns.Endpoint{rec(web, "AAAA", "2001:db8::9")},
			},
			wantZone: []*dns.Endpoint{
				txt("new.example.com", "A", ownerID, webRes), txt(web, "A", "host-b", "FederatedService/shop/web"),
				txt(web, "AAAA", "host-b", "FederatedService/shop/web"),
				rec("new.example.com", "A", "10.0.0.5"),
				rec(web, "A", "10.0.0.9"), rec(web, "AAAA", "2001:db8::9"),
			},
			wantConflicts: []*dns.ConflictError{
				{Record: web + " A", Heritage: "kfed", Owner: "host-b", Resource: "FederatedService/shop/web"},
				{Record: web + " AAAA", Heritage: "kfed", Owner: "host-b", Resource: "FederatedService/shop/web"},
			},
		},
		{
			name:          "an external-dns record is refused, naming external-dns's owner",
			zone:          []*dns.Endpoint{rec("edns.example.com", "A", "10.0.0.8"), foreignTXT},
			changes:       dns.Changes{Delete: []*dns.Endpoint{rec("edns.example.com", "A", "10.0.0.8")}},
			wantConflicts: []*dns.ConflictError{{Record: "edns.example.com A", Heritage: "external-dns", Owner: "x", Resource: "service/default/web"}},
		},
		{
			name:          "a CNAME beside a record kfed does not own is refused",
			zone:          []*dns.Endpoint{rec(web, "AAAA", "2001:db8::9")},
			changes:       dns.Changes{Create: []*dns.Endpoint{forWeb(rec(web, "CNAME", "lb.example.net"))}},
			wantConflicts: []*dns.ConflictError{{Record: web + " AAAA"}},
		},
		{
			name:          "a record beside a CNAME kfed does not own is refused",
			zone:          []*dns.Endpoint{rec(web, "CNAME", "elsewhere.example.net")},
			changes:       dns.Changes{Create: []*dns.Endpoint{forWeb(rec(web, "A", "10.0.0.1"))}},
			wantConflicts: []*dns.ConflictError{{Record: web + " CNAME"}},
		},
		{
			name:    "an ownership name held by another owner is refused",
			zone:    []*dns.Endpoint{txt(web, "A", "host-b", "FederatedService/shop/web")},
			changes: dns.Changes{Create: []*dns.Endpoint{forWeb(rec(web, "A", "10.0.0.1"))}},
			wantConflicts: []*dns.ConflictError{
				{Record: dns.OwnershipName(web, "A") + " TXT", Heritage: "kfed", Owner: "host-b", Resource: "FederatedService/shop/web"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := inmemory.New()
			must(t, z.Replace(tt.zone))
			r, err := dns.NewRegistry(z, ownerID)
			must(t, err)
			err = r.ApplyChanges(t.Context(), &tt.changes)
			if diff := cmp.Diff(tt.wantConflicts, dns.Conflicts(err)); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s\nerror: %v", diff, err)
			}
			if len(tt.wantConflicts) == 0 && err != nil {
				t.Errorf("ApplyChanges: %v", err)
			}
			var ce *dns.ConflictError
			if len(tt.wantConflicts) > 0 && !errors.As(err, &ce) {
				t.Errorf("errors.As does not find a *ConflictError in %v", err)
			}
			want := tt.wantZone
			if want == nil {
				want = tt.zone
			}
			got, _ := z.Records(t.Context())
			if diff := cmp.Diff(normalized(t, want), got); diff != "" {
				t.Errorf("zone after (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRegistryRefusesChangesWithoutResource(t *testing.T) {
	r, err := dns.NewRegistry(inmemory.New(), ownerID)
	must(t, err)
	err = r.ApplyChanges(t.Context(), &dns.Changes{Create: []*dns.Endpoint{rec(web, "A", "10.0.0.1")}})
	if err == nil || !strings.Contains(err.Error(), `carries no "resource" label`) {
		t.Fatalf("want an error about the missing resource label, got %v", err)
	}
}

func TestNewRegistryRejectsBadOwner(t *testing.T) {
	for _, owner := range []string{"", "a,b", "a=b"} {
		if _, err := dns.NewRegistry(inmemory.New(), owner); err == nil {
			t.Errorf("owner %q was taken", owner)
		}
	}
}

func TestConflictErrorMessage(t *testing.T) {
	for _, tt := range []struct {
		err  *dns.ConflictError
		want string
	}{
		{&dns.ConflictError{Record: web + " A"}, "record " + web + " A exists and has no ownership record: kfed does not touch it"},
		{&dns.ConflictError{Record: web + " A", Heritage: "kfed", Owner: "host-b", Resource: webRes},
			`record ` + web + ` A is owned by kfed owner "host-b" (FederatedService/shop/web)`},
		{&dns.ConflictError{Record: web + " A", Heritage: "external-dns", Owner: "x"}, `record ` + web + ` A is owned by external-dns owner "x"`},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// TestPlanDiffRegistryRoundTrip runs what the controller will: plan, read through the
// registry, diff, apply; then a cluster goes unhealthy and the names fall back; then back again.
func TestPlanDiffRegistryRoundTrip(t *testing.T) {
	z := inmemory.New()
	r, err := dns.NewRegistry(z, ownerID)
	must(t, err)
	targets := []dns.ServiceTarget{
		{Cluster: "us", Region: "us-east1", Zone: "us-east1-b", IPs: []string{"10.0.0.1"}, Healthy: true},
		{Cluster: "eu", Region: "europe-west1", Zone: "europe-west1-b", IPs: []string{"10.0.1.1", "2001:db8::1"}, Healthy: true},
	}
	sync := func() {
		t.Helper()
		plan, err := dns.PlanService(dns.ServiceInput{Name: "web", Namespace: "shop", FederationName: "myfed", Domain: "example.com", TTL: 30, Targets: targets})
		must(t, err)
		current, err := r.Records(t.Context())
		must(t, err)
		changes, err := dns.Diff(plan.Endpoints, current)
		must(t, err)
		must(t, r.ApplyChanges(t.Context(), changes))
		// Converged: a second pass finds nothing to do.
		current, err = r.Records(t.Context())
		must(t, err)
		again, err := dns.Diff(plan.Endpoints, current)
		must(t, err)
		if !again.Empty() {
			t.Errorf("not converged after one apply: %+v", again)
		}
	}
	sync()
	targets[1].Healthy = false
	sync()
	got, _ := r.Records(t.Context())
	for _, e := range got {
		if e.DNSName == "web.shop.myfed.svc.europe-west1.example.com" && (e.RecordType != "CNAME" || e.Targets[0] != web) {
			t.Errorf("the region of the unhealthy cluster holds %s, want a CNAME to the global name", e)
		}
	}
	targets[0].Healthy = false
	sync()
	if all, _ := z.Records(t.Context()); len(all) != 0 {
		t.Errorf("healthy nowhere: the zone still holds %d records: %v", len(all), all)
	}
	targets[0].Healthy, targets[1].Healthy = true, true
	sync()
	if all, _ := z.Records(t.Context()); len(all) != 2*8 {
		t.Errorf("want 8 record sets and 8 ownership records, got %d: %v", len(all), all)
	}
}

// normalized is eps as a zone holds them: normalized, sorted, without labels.
func normalized(t *testing.T, eps []*dns.Endpoint) []*dns.Endpoint {
	t.Helper()
	z := inmemory.New()
	must(t, z.Replace(eps))
	out, err := z.Records(t.Context())
	must(t, err)
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestTwoServicesShareTheZone syncs two FederatedServices, each against its own records: the
// second one's plan leaves the first one's records alone, and deleting one takes only its own.
func TestTwoServicesShareTheZone(t *testing.T) {
	z := inmemory.New()
	r, err := dns.NewRegistry(z, ownerID)
	must(t, err)
	sync := func(name string, targets []dns.ServiceTarget) {
		t.Helper()
		plan, err := dns.PlanService(dns.ServiceInput{Name: name, Namespace: "shop", FederationName: "myfed", Domain: "example.com", TTL: 30, Targets: targets})
		must(t, err)
		current, err := r.RecordsFor(t.Context(), dns.ResourceOf("FederatedService", "shop", name))
		must(t, err)
		changes, err := dns.Diff(plan.Endpoints, current)
		must(t, err)
		must(t, r.ApplyChanges(t.Context(), changes))
	}
	up := []dns.ServiceTarget{{Cluster: "us", Region: "us-east1", IPs: []string{"10.0.0.1"}, Healthy: true}}
	sync("web", up)
	sync("api", up)
	names := func() []string {
		all, err := r.Records(t.Context())
		must(t, err)
		out := make([]string, 0, len(all))
		for _, e := range all {
			out = append(out, e.DNSName+" "+e.Labels[dns.LabelResource])
		}
		return out
	}
	want := []string{
		"api.shop.myfed.svc.example.com FederatedService/shop/api",
		"api.shop.myfed.svc.us-east1.example.com FederatedService/shop/api",
		"web.shop.myfed.svc.example.com FederatedService/shop/web",
		"web.shop.myfed.svc.us-east1.example.com FederatedService/shop/web",
	}
	if diff := cmp.Diff(want, names()); diff != "" {
		t.Errorf("after syncing both (-want +got):\n%s", diff)
	}
	sync("web", nil) // web is deleted: its plan is empty
	if diff := cmp.Diff(want[:2], names()); diff != "" {
		t.Errorf("after web is gone (-want +got):\n%s", diff)
	}
}
