package coredns_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/coredns"
	"github.com/kfed-io/kfed/test/framework"
)

const zone = "example.com"

// servers are a real etcd and, when asked, a real CoreDNS serving it.
type servers struct {
	etcd    *framework.Etcd
	coredns *framework.CoreDNS
	raw     *clientv3.Client // to look at the keys as CoreDNS sees them
}

func start(t testing.TB, withCoreDNS bool) *servers {
	t.Helper()
	dir := t.TempDir()
	e, err := framework.StartEtcd(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	s := &servers{etcd: e}
	if withCoreDNS {
		if s.coredns, err = framework.StartCoreDNS(t.Context(), dir, zone, coredns.DefaultPrefix, e.ClientURL); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.coredns.Stop)
	}
	s.raw, err = clientv3.New(clientv3.Config{Endpoints: []string{e.ClientURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.raw.Close() })
	return s
}

func (s *servers) provider(t testing.TB) *coredns.Provider {
	t.Helper()
	p, err := coredns.New(coredns.Config{Endpoints: []string{s.etcd.ClientURL}, Zone: zone, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// keys returns the keys under path and their values.
func (s *servers) keys(t testing.TB, path string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := s.raw.Get(ctx, path, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = string(kv.Value)
	}
	return out
}

func records(t testing.TB, p *coredns.Provider) []*kdns.Endpoint {
	t.Helper()
	eps, err := p.Records(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

func TestRecordsInEtcdThatCoreDNSServes(t *testing.T) {
	s := start(t, true)
	p := s.provider(t)
	ctx := t.Context()
	global := "k8shserver.default.myfed.svc." + zone
	www := &kdns.Endpoint{DNSName: global, RecordType: "A", Targets: []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}, TTL: 30}
	v6 := &kdns.Endpoint{DNSName: "v6." + zone, RecordType: "AAAA", Targets: []string{"2001:db8::1", "2001:db8::2"}, TTL: 30}
	alias := &kdns.Endpoint{DNSName: "k8shserver.default.myfed.svc.us-east1." + zone, RecordType: "CNAME", Targets: []string{global}, TTL: 30}
	txt := &kdns.Endpoint{DNSName: "kfed-a-k8shserver.default.myfed.svc." + zone, RecordType: "TXT",
		Targets: []string{"heritage=kfed,kfed/owner=test,kfed/resource=service/default/k8shserver"}, TTL: 30}
	changes := &kdns.Changes{Create: []*kdns.Endpoint{www, v6, alias, txt}}
	if err := p.ApplyChanges(ctx, changes); err != nil {
		t.Fatal(err)
	}

	// The SkyDNS layout: one child key per address under the name's reversed path.
	path := "/skydns/com/example/svc/myfed/default/k8shserver/"
	keys := s.keys(t, path)
	if len(keys) != 3 {
		t.Fatalf("keys under %s: %v, want 3", path, keys)
	}
	for k, v := range keys {
		var got map[string]any
		if err := json.Unmarshal([]byte(v), &got); err != nil || got["ttl"] != float64(30) || !strings.HasPrefix(got["host"].(string), "192.0.2.") {
			t.Errorf("%s = %s, want {\"host\": \"192.0.2.x\", \"ttl\": 30}", k, v)
		}
	}

	addr := s.coredns.Addr
	framework.WantAnswer(t, addr, global, dns.TypeA, "NOERROR", "192.0.2.1", "192.0.2.2", "192.0.2.3")
	framework.WantAnswer(t, addr, "v6."+zone, dns.TypeAAAA, "NOERROR", "2001:db8::1", "2001:db8::2")
	framework.WantAnswer(t, addr, alias.DNSName, dns.TypeCNAME, "NOERROR", global+".")
	// An A question for the alias follows the CNAME inside the zone.
	framework.WantAnswer(t, addr, alias.DNSName, dns.TypeA, "NOERROR", "192.0.2.1", "192.0.2.2", "192.0.2.3")
	if keys := s.keys(t, "/skydns/com/example/us-east1/svc/myfed/default/k8shserver"); len(keys) != 1 {
		t.Errorf("the CNAME is not the one key of its name: %v", keys)
	}
	framework.WantAnswer(t, addr, txt.DNSName, dns.TypeTXT, "NOERROR", txt.Targets...)

	want := []*kdns.Endpoint{alias.Normalize(), txt.Normalize(), www.Normalize(), v6.Normalize()}
	slices.SortFunc(want, func(a, b *kdns.Endpoint) int { return strings.Compare(a.DNSName, b.DNSName) })
	if diff := cmp.Diff(want, records(t, p)); diff != "" {
		t.Errorf("Records (-want +got):\n%s", diff)
	}

	// Applying the same Changes again writes nothing and doubles nothing.
	before := s.keys(t, "/skydns/")
	rev := revision(t, s)
	if err := p.ApplyChanges(ctx, changes); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, s.keys(t, "/skydns/")); diff != "" {
		t.Errorf("keys after applying again (-before +after):\n%s", diff)
	}
	if got := revision(t, s); got != rev {
		t.Errorf("applying again wrote to etcd: revision %d, was %d", got, rev)
	}

	// Update: one address left, one key left.
	www2 := &kdns.Endpoint{DNSName: global, RecordType: "A", Targets: []string{"192.0.2.2"}, TTL: 10}
	if err := p.ApplyChanges(ctx, &kdns.Changes{UpdateOld: []*kdns.Endpoint{www}, UpdateNew: []*kdns.Endpoint{www2}}); err != nil {
		t.Fatal(err)
	}
	framework.WantAnswer(t, addr, global, dns.TypeA, "NOERROR", "192.0.2.2")
	if keys := s.keys(t, path); len(keys) != 1 {
		t.Errorf("keys under %s after the update: %v, want 1", path, keys)
	}

	// Delete: the names are gone and so are their keys.
	if err := p.ApplyChanges(ctx, &kdns.Changes{Delete: []*kdns.Endpoint{www2, v6, alias, txt}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{global, v6.DNSName, alias.DNSName, txt.DNSName} {
		framework.WantAnswer(t, addr, name, dns.TypeA, "NXDOMAIN")
	}
	if keys := s.keys(t, "/skydns/"); len(keys) != 0 {
		t.Errorf("keys left after the delete: %v", keys)
	}
}

// A zone name falls back from its addresses to a CNAME of the region name and back, as the
// planner asks when the zone's cluster goes unhealthy and recovers: CoreDNS follows each step.
func TestAZoneNameFallsBackToACNAMEAndBack(t *testing.T) {
	s := start(t, true)
	p := s.provider(t)
	ctx := t.Context()
	region := &kdns.Endpoint{DNSName: "k8shserver.default.myfed.svc.us-east1." + zone, RecordType: "A", Targets: []string{"192.0.2.9"}, TTL: 30}
	name := "k8shserver.default.myfed.svc.us-east1-b.us-east1." + zone
	addrs := &kdns.Endpoint{DNSName: name, RecordType: "A", Targets: []string{"192.0.2.1", "192.0.2.2"}, TTL: 30}
	cname := &kdns.Endpoint{DNSName: name, RecordType: "CNAME", Targets: []string{region.DNSName}, TTL: 30}
	if err := p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{region, addrs}}); err != nil {
		t.Fatal(err)
	}
	framework.WantAnswer(t, s.coredns.Addr, name, dns.TypeA, "NOERROR", "192.0.2.1", "192.0.2.2")

	if err := p.ApplyChanges(ctx, &kdns.Changes{Delete: []*kdns.Endpoint{addrs}, Create: []*kdns.Endpoint{cname}}); err != nil {
		t.Fatal(err)
	}
	framework.WantAnswer(t, s.coredns.Addr, name, dns.TypeCNAME, "NOERROR", region.DNSName+".")
	framework.WantAnswer(t, s.coredns.Addr, name, dns.TypeA, "NOERROR", "192.0.2.9")

	if err := p.ApplyChanges(ctx, &kdns.Changes{Delete: []*kdns.Endpoint{cname}, Create: []*kdns.Endpoint{addrs}}); err != nil {
		t.Fatal(err)
	}
	framework.WantAnswer(t, s.coredns.Addr, name, dns.TypeA, "NOERROR", "192.0.2.1", "192.0.2.2")
	// CoreDNS answers a CNAME question from the name's own key alone, so a name with only
	// addresses (child keys) gets NXDOMAIN there, not NODATA: its quirk, not kfed's.
	framework.WantAnswer(t, s.coredns.Addr, name, dns.TypeCNAME, "NXDOMAIN")
	want := []*kdns.Endpoint{addrs.Normalize(), region.Normalize()}
	if diff := cmp.Diff(want, records(t, p)); diff != "" {
		t.Errorf("Records (-want +got):\n%s", diff)
	}
}

func revision(t testing.TB, s *servers) int64 {
	t.Helper()
	resp, err := s.raw.Get(t.Context(), "/")
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

func TestOtherWritersKeysAreReadAndLeftAlone(t *testing.T) {
	s := start(t, false)
	p := s.provider(t)
	ctx := t.Context()
	foreign := map[string]string{
		"/skydns/com/example/legacy":      `{"host":"198.51.100.1","ttl":60}`,
		"/skydns/com/example/www/x1":      `{"host":"198.51.100.2"}`,
		"/skydns/org/example/outside":     `{"host":"198.51.100.3"}`, // another zone
		"/skydns/com/example/broken":      `not json`,
		"/skydns/com/example/text/_other": `{"text":"hello"}`,
	}
	for k, v := range foreign {
		if _, err := s.raw.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	want := []*kdns.Endpoint{
		{DNSName: "_other.text." + zone, RecordType: "TXT", Targets: []string{"hello"}},
		{DNSName: "legacy." + zone, RecordType: "A", Targets: []string{"198.51.100.1"}, TTL: 60},
		{DNSName: "x1.www." + zone, RecordType: "A", Targets: []string{"198.51.100.2"}},
	}
	if diff := cmp.Diff(want, records(t, p)); diff != "" {
		t.Errorf("Records (-want +got):\n%s", diff)
	}
	// kfed's record of www, written and deleted, leaves the other writer's keys as they were.
	www := &kdns.Endpoint{DNSName: "www." + zone, RecordType: "A", Targets: []string{"192.0.2.1"}}
	if err := p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{www}}); err != nil {
		t.Fatal(err)
	}
	if err := p.ApplyChanges(ctx, &kdns.Changes{Delete: []*kdns.Endpoint{www}}); err != nil {
		t.Fatal(err)
	}
	// A CNAME is its name's own key: kfed does not overwrite another writer's record there.
	cname := &kdns.Endpoint{DNSName: "legacy." + zone, RecordType: "CNAME", Targets: []string{"www." + zone}}
	framework.WantReason(t, p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{cname}}), kdns.ReasonConflict)
	if err := p.ApplyChanges(ctx, &kdns.Changes{Delete: []*kdns.Endpoint{cname}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(foreign, s.keys(t, "/skydns/")); diff != "" {
		t.Errorf("other writers' keys (-want +got):\n%s", diff)
	}
}

func TestManyRecordSetsSpanTransactions(t *testing.T) {
	s := start(t, false)
	p := s.provider(t)
	create := make([]*kdns.Endpoint, 0, 200)
	for i := range 200 {
		create = append(create, &kdns.Endpoint{
			DNSName: fmt.Sprintf("svc-%03d.ns.myfed.svc.%s", i, zone), RecordType: "A", TTL: 30,
			Targets: []string{fmt.Sprintf("10.0.%d.1", i), fmt.Sprintf("10.0.%d.2", i)},
		})
	}
	if err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: create}); err != nil {
		t.Fatal(err)
	}
	got := records(t, p)
	if len(got) != len(create) {
		t.Fatalf("Records has %d record sets, want %d", len(got), len(create))
	}
	for i := range got {
		if diff := cmp.Diff(create[i].Normalize(), got[i]); diff != "" {
			t.Fatalf("record set %d (-want +got):\n%s", i, diff)
		}
	}
	if keys := s.keys(t, "/skydns/"); len(keys) != 400 {
		t.Errorf("%d keys, want 400", len(keys))
	}
}

func TestEtcdDownIsUnreachableAndConvergesWhenBack(t *testing.T) {
	s := start(t, true)
	p := s.provider(t)
	ctx := t.Context()
	a := &kdns.Endpoint{DNSName: "a." + zone, RecordType: "A", Targets: []string{"192.0.2.1", "192.0.2.2"}, TTL: 30}
	if err := p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{a}}); err != nil {
		t.Fatal(err)
	}

	s.etcd.Stop()
	a2 := &kdns.Endpoint{DNSName: a.DNSName, RecordType: "A", Targets: []string{"192.0.2.2", "192.0.2.3"}, TTL: 30}
	b := &kdns.Endpoint{DNSName: "b." + zone, RecordType: "A", Targets: []string{"192.0.2.4"}, TTL: 30}
	changes := &kdns.Changes{Create: []*kdns.Endpoint{b}, UpdateOld: []*kdns.Endpoint{a}, UpdateNew: []*kdns.Endpoint{a2}}
	start := time.Now()
	_, err := p.Records(ctx)
	framework.WantReason(t, err, kdns.ReasonProviderUnreachable)
	aerr := p.ApplyChanges(ctx, changes)
	framework.WantReason(t, aerr, kdns.ReasonProviderUnreachable)
	if !strings.Contains(err.Error(), s.etcd.ClientURL) {
		t.Errorf("the error does not name etcd %s: %v", s.etcd.ClientURL, err)
	}
	t.Logf("both calls failed in %s: %v", time.Since(start), aerr)
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(a.DNSName), dns.TypeA)
	if r, _, err := (&dns.Client{Timeout: 10 * time.Second}).Exchange(m, s.coredns.Addr); err != nil {
		t.Logf("CoreDNS gives no answer while etcd is away: %v", err)
	} else {
		t.Logf("CoreDNS answers %s while etcd is away", dns.RcodeToString[r.Rcode])
	}

	if err := s.etcd.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// The controller retries the same Changes until etcd takes them (the client reconnects
	// first), then once more, which finds nothing to do.
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := p.ApplyChanges(ctx, changes)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd is back, but ApplyChanges still fails after 60 s: %v", err)
		}
		framework.WantReason(t, err, kdns.ReasonProviderUnreachable)
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("converged %s after etcd's restart", time.Since(deadline.Add(-60*time.Second)))
	if err := p.ApplyChanges(ctx, changes); err != nil {
		t.Fatal(err)
	}
	want := []*kdns.Endpoint{a2.Normalize(), b.Normalize()}
	if diff := cmp.Diff(want, records(t, p)); diff != "" {
		t.Errorf("Records after the restart (-want +got):\n%s", diff)
	}
	if keys := s.keys(t, "/skydns/"); len(keys) != 3 {
		t.Errorf("keys after the restart: %v, want 3", keys)
	}
	framework.WantAnswer(t, s.coredns.Addr, a.DNSName, dns.TypeA, "NOERROR", "192.0.2.2", "192.0.2.3")
	framework.WantAnswer(t, s.coredns.Addr, b.DNSName, dns.TypeA, "NOERROR", "192.0.2.4")
}

func TestBadRecordsAreRefusedBeforeAnythingIsWritten(t *testing.T) {
	// No etcd: every case must fail on its own, before any request.
	p, err := coredns.New(coredns.Config{Endpoints: []string{"http://127.0.0.1:1"}, Zone: zone, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	for name, ep := range map[string]*kdns.Endpoint{
		"outside the zone":  {DNSName: "www.example.org", RecordType: "A", Targets: []string{"192.0.2.1"}},
		"suffix, not zone":  {DNSName: "wwwexample.com", RecordType: "A", Targets: []string{"192.0.2.1"}},
		"not an address":    {DNSName: "www." + zone, RecordType: "A", Targets: []string{"www"}},
		"IPv6 in A":         {DNSName: "www." + zone, RecordType: "A", Targets: []string{"2001:db8::1"}},
		"IPv4 in AAAA":      {DNSName: "www." + zone, RecordType: "AAAA", Targets: []string{"192.0.2.1"}},
		"two CNAMEs":        {DNSName: "www." + zone, RecordType: "CNAME", Targets: []string{"a." + zone, "b." + zone}},
		"bad CNAME target":  {DNSName: "www." + zone, RecordType: "CNAME", Targets: []string{"a/b"}},
		"set identifier":    {DNSName: "www." + zone, RecordType: "A", Targets: []string{"192.0.2.1"}, SetIdentifier: "us"},
		"no targets":        {DNSName: "www." + zone, RecordType: "A"},
		"unknown type":      {DNSName: "www." + zone, RecordType: "MX", Targets: []string{"mail." + zone}},
		"negative TTL":      {DNSName: "www." + zone, RecordType: "A", Targets: []string{"192.0.2.1"}, TTL: -1},
		"slash in the name": {DNSName: "a/b." + zone, RecordType: "A", Targets: []string{"192.0.2.1"}},
		"empty TXT":         {DNSName: "t." + zone, RecordType: "TXT", Targets: []string{""}},
	} {
		t.Run(name, func(t *testing.T) {
			framework.WantReason(t, p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{ep}}), kdns.ReasonInvalidRecord)
		})
	}
	odd := &kdns.Changes{UpdateOld: []*kdns.Endpoint{{DNSName: "a." + zone, RecordType: "A", Targets: []string{"192.0.2.1"}}}}
	framework.WantReason(t, p.ApplyChanges(t.Context(), odd), kdns.ReasonInvalidRecord)
}

func TestConfigIsChecked(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  coredns.Config
		want string
	}{
		"no endpoints":    {coredns.Config{Zone: zone}, "no etcd endpoints"},
		"endpoint no URL": {coredns.Config{Endpoints: []string{"127.0.0.1:2379"}, Zone: zone}, "not an http"},
		"relative prefix": {coredns.Config{Endpoints: []string{"http://127.0.0.1:2379"}, Prefix: "skydns", Zone: zone}, "not an etcd path"},
		"no zone":         {coredns.Config{Endpoints: []string{"http://127.0.0.1:2379"}}, "not a DNS name"},
		"bad zone":        {coredns.Config{Endpoints: []string{"http://127.0.0.1:2379"}, Zone: "a..b"}, "not a DNS name"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := coredns.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// BenchmarkSettle measures, on a real etcd and CoreDNS, the time from ApplyChanges returning to
// CoreDNS's answer changing, querying every 2 ms. A figure, not a bar.
func BenchmarkSettle(b *testing.B) {
	s := start(b, true)
	framework.BenchmarkSettle(b, s.provider(b), s.coredns.Addr, "settle."+zone)
}
