package rfc2136_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/rfc2136"
	"github.com/kfed-io/kfed/test/framework"
)

const (
	zone    = "example.com"
	keyName = "kfed-test-key"
)

func newSecret(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// startNamed starts a real BIND 9 for the test; a machine without it fails the test, never
// skips it.
func startNamed(t testing.TB) *framework.Named {
	t.Helper()
	n, err := framework.StartNamed(t.Context(), t.TempDir(), zone, keyName, newSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return n
}

func providerFor(t testing.TB, n *framework.Named, mod func(*rfc2136.Config)) *rfc2136.Provider {
	t.Helper()
	cfg := rfc2136.Config{Server: n.Addr, Zone: n.Zone, TSIGKeyName: n.KeyName, TSIGAlgorithm: n.KeyAlgorithm,
		TSIGSecret: n.KeySecret, Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	p, err := rfc2136.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// records returns what Records reads, without the zone's own ns1 address.
func records(t testing.TB, p *rfc2136.Provider) []*kdns.Endpoint {
	t.Helper()
	eps, err := p.Records(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(eps, func(e *kdns.Endpoint) bool { return e.DNSName == "ns1."+zone })
}

func TestWritesRecordsThatBINDServes(t *testing.T) {
	n := startNamed(t)
	p := providerFor(t, n, nil)
	ctx := t.Context()

	long := strings.Repeat("heritage=kfed,", 30) // 420 bytes: two character-strings
	www := &kdns.Endpoint{DNSName: "www." + zone, RecordType: "A", Targets: []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}, TTL: 30}
	v6 := &kdns.Endpoint{DNSName: "v6." + zone, RecordType: "AAAA", Targets: []string{"2001:db8::1"}, TTL: 30}
	alias := &kdns.Endpoint{DNSName: "alias." + zone, RecordType: "CNAME", Targets: []string{"www." + zone}, TTL: 60}
	txt := &kdns.Endpoint{DNSName: "kfed-a-www." + zone, RecordType: "TXT", Targets: []string{long}, TTL: 30}
	if err := p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{www, v6, alias, txt}}); err != nil {
		t.Fatal(err)
	}
	framework.WantAnswer(t, n.Addr, "www."+zone, dns.TypeA, "NOERROR", "192.0.2.1", "192.0.2.2", "192.0.2.3")
	framework.WantAnswer(t, n.Addr, "v6."+zone, dns.TypeAAAA, "NOERROR", "2001:db8::1")
	framework.WantAnswer(t, n.Addr, "alias."+zone, dns.TypeCNAME, "NOERROR", "www."+zone+".")
	framework.WantAnswer(t, n.Addr, "kfed-a-www."+zone, dns.TypeTXT, "NOERROR", long)

	want := []*kdns.Endpoint{alias.Normalize(), txt.Normalize(), v6.Normalize(), www.Normalize()}
	if diff := cmp.Diff(want, records(t, p)); diff != "" {
		t.Errorf("Records after the create (-want +got):\n%s", diff)
	}

	// Update: the address set changes whole, and the TTL with it.
	www2 := &kdns.Endpoint{DNSName: www.DNSName, RecordType: "A", Targets: []string{"192.0.2.9"}, TTL: 10}
	if err := p.ApplyChanges(ctx, &kdns.Changes{UpdateOld: []*kdns.Endpoint{www}, UpdateNew: []*kdns.Endpoint{www2}}); err != nil {
		t.Fatal(err)
	}
	framework.WantAnswer(t, n.Addr, "www."+zone, dns.TypeA, "NOERROR", "192.0.2.9")

	// Delete everything: the names are gone.
	if err := p.ApplyChanges(ctx, &kdns.Changes{Delete: []*kdns.Endpoint{www2, v6, alias, txt}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"www", "v6", "alias", "kfed-a-www"} {
		framework.WantAnswer(t, n.Addr, name+"."+zone, dns.TypeA, "NXDOMAIN")
	}
	if got := records(t, p); len(got) != 0 {
		t.Errorf("Records after the delete: %v, want none", got)
	}
}

func TestPrerequisitesKeepAConcurrentWritersRecords(t *testing.T) {
	n := startNamed(t)
	p := providerFor(t, n, nil)
	other := providerFor(t, n, nil) // another writer with the same key
	ctx := t.Context()

	www := &kdns.Endpoint{DNSName: "www." + zone, RecordType: "A", Targets: []string{"192.0.2.1"}, TTL: 30}
	if err := p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{www}}); err != nil {
		t.Fatal(err)
	}
	theirs := &kdns.Endpoint{DNSName: www.DNSName, RecordType: "A", Targets: []string{"198.51.100.7"}, TTL: 30}
	if err := other.ApplyChanges(ctx, &kdns.Changes{UpdateOld: []*kdns.Endpoint{www}, UpdateNew: []*kdns.Endpoint{theirs}}); err != nil {
		t.Fatal(err)
	}

	// p still believes www holds 192.0.2.1: its update, its delete and a second create are refused.
	mine := &kdns.Endpoint{DNSName: www.DNSName, RecordType: "A", Targets: []string{"192.0.2.2"}, TTL: 30}
	for _, c := range []*kdns.Changes{
		{UpdateOld: []*kdns.Endpoint{www}, UpdateNew: []*kdns.Endpoint{mine}},
		{Delete: []*kdns.Endpoint{www}},
		{Create: []*kdns.Endpoint{mine}},
	} {
		err := p.ApplyChanges(ctx, c)
		framework.WantReason(t, err, kdns.ReasonConflict)
		if !strings.Contains(err.Error(), n.Addr) {
			t.Errorf("the error does not name the server %s: %v", n.Addr, err)
		}
	}
	framework.WantAnswer(t, n.Addr, "www."+zone, dns.TypeA, "NOERROR", "198.51.100.7")

	// A message is applied whole or not at all: a good create beside a stale delete is not applied.
	fresh := &kdns.Endpoint{DNSName: "fresh." + zone, RecordType: "A", Targets: []string{"192.0.2.5"}}
	framework.WantReason(t, p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{fresh}, Delete: []*kdns.Endpoint{www}}), kdns.ReasonConflict)
	framework.WantAnswer(t, n.Addr, "fresh."+zone, dns.TypeA, "NXDOMAIN")
}

func TestLargeChangesAreSplitAndSentOverTCP(t *testing.T) {
	n := startNamed(t)
	p := providerFor(t, n, func(c *rfc2136.Config) { c.MaxMessageSize = 2048 })
	create := make([]*kdns.Endpoint, 0, 150)
	for i := range 150 {
		create = append(create, &kdns.Endpoint{
			DNSName: fmt.Sprintf("svc-%03d.ns.myfed.svc.%s", i, zone), RecordType: "A", TTL: 30,
			Targets: []string{fmt.Sprintf("10.0.%d.1", i), fmt.Sprintf("10.0.%d.2", i), fmt.Sprintf("10.0.%d.3", i)},
		})
	}
	if err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: create}); err != nil {
		t.Fatal(err)
	}
	got := records(t, p)
	if len(got) != len(create) {
		t.Fatalf("Records has %d record sets, want %d", len(got), len(create))
	}
	for i, ep := range got {
		if diff := cmp.Diff(create[i].Normalize(), ep); diff != "" {
			t.Fatalf("record set %d (-want +got):\n%s", i, diff)
		}
	}
	framework.WantAnswer(t, n.Addr, create[149].DNSName, dns.TypeA, "NOERROR", create[149].Targets...)

	// A record set larger than a message is refused before anything is sent.
	huge := &kdns.Endpoint{DNSName: "huge." + zone, RecordType: "TXT", Targets: []string{strings.Repeat("x", 3000)}}
	framework.WantReason(t, p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{huge}}), kdns.ReasonInvalidRecord)
}

func TestWrongKeyIsUnauthorizedAndTheMessageKeepsTheSecret(t *testing.T) {
	n := startNamed(t)
	wrong := newSecret(t)
	www := &kdns.Endpoint{DNSName: "www." + zone, RecordType: "A", Targets: []string{"192.0.2.1"}}
	for name, mod := range map[string]func(*rfc2136.Config){
		"wrong secret":    func(c *rfc2136.Config) { c.TSIGSecret = wrong },
		"unknown key":     func(c *rfc2136.Config) { c.TSIGKeyName = "nobody-key" },
		"wrong algorithm": func(c *rfc2136.Config) { c.TSIGAlgorithm = "hmac-sha512" },
		"unsigned":        func(c *rfc2136.Config) { c.TSIGKeyName, c.TSIGSecret = "", "" },
	} {
		t.Run(name, func(t *testing.T) {
			var cfg rfc2136.Config
			cfg.TSIGKeyName, cfg.TSIGSecret = n.KeyName, n.KeySecret
			mod(&cfg)
			p := providerFor(t, n, mod)
			_, rerr := p.Records(t.Context())
			aerr := p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{www}})
			for _, err := range []error{rerr, aerr} {
				framework.WantReason(t, err, kdns.ReasonUnauthorized)
				msg := err.Error()
				if !strings.Contains(msg, n.Addr) {
					t.Errorf("the message does not name the server %s: %s", n.Addr, msg)
				}
				if cfg.TSIGKeyName != "" && !strings.Contains(msg, cfg.TSIGKeyName) {
					t.Errorf("the message does not name the key %s: %s", cfg.TSIGKeyName, msg)
				}
				for _, secret := range []string{n.KeySecret, wrong} {
					if strings.Contains(msg, secret) {
						t.Errorf("the message holds a secret: %s", msg)
					}
				}
				t.Logf("%s", msg)
			}
		})
	}
	framework.WantAnswer(t, n.Addr, "www."+zone, dns.TypeA, "NXDOMAIN")
}

func TestZoneTheServerDoesNotServe(t *testing.T) {
	n := startNamed(t)
	p := providerFor(t, n, func(c *rfc2136.Config) { c.Zone = "other.test" })
	_, err := p.Records(t.Context())
	framework.WantReason(t, err, kdns.ReasonZoneNotFound)
	err = p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{
		{DNSName: "www.other.test", RecordType: "A", Targets: []string{"192.0.2.1"}},
	}})
	framework.WantReason(t, err, kdns.ReasonZoneNotFound)
	t.Logf("%v", err)
}

func TestServerDownIsUnreachableAndConvergesWhenBack(t *testing.T) {
	n := startNamed(t)
	p := providerFor(t, n, func(c *rfc2136.Config) { c.Timeout = time.Second })
	ctx := t.Context()
	a := &kdns.Endpoint{DNSName: "a." + zone, RecordType: "A", Targets: []string{"192.0.2.1", "192.0.2.2"}, TTL: 30}
	if err := p.ApplyChanges(ctx, &kdns.Changes{Create: []*kdns.Endpoint{a}}); err != nil {
		t.Fatal(err)
	}

	n.Stop()
	b := &kdns.Endpoint{DNSName: "b." + zone, RecordType: "A", Targets: []string{"192.0.2.3"}, TTL: 30}
	changes := &kdns.Changes{Create: []*kdns.Endpoint{b}}
	start := time.Now()
	_, err := p.Records(ctx)
	framework.WantReason(t, err, kdns.ReasonProviderUnreachable)
	framework.WantReason(t, p.ApplyChanges(ctx, changes), kdns.ReasonProviderUnreachable)
	t.Logf("both calls failed in %s: %v", time.Since(start), err)

	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.ApplyChanges(ctx, changes); err != nil {
		t.Fatal(err)
	}
	// The journal kept a; b is there once; nothing is doubled.
	want := []*kdns.Endpoint{a.Normalize(), b.Normalize()}
	if diff := cmp.Diff(want, records(t, p)); diff != "" {
		t.Errorf("Records after the restart (-want +got):\n%s", diff)
	}
	framework.WantAnswer(t, n.Addr, "a."+zone, dns.TypeA, "NOERROR", "192.0.2.1", "192.0.2.2")
}

func TestBadRecordsAreRefusedBeforeAnythingIsSent(t *testing.T) {
	// No server: every case must fail on its own, before any exchange.
	p, err := rfc2136.New(rfc2136.Config{Server: "127.0.0.1:1", Zone: zone})
	if err != nil {
		t.Fatal(err)
	}
	for name, ep := range map[string]*kdns.Endpoint{
		"outside the zone": {DNSName: "www.example.org", RecordType: "A", Targets: []string{"192.0.2.1"}},
		"not an address":   {DNSName: "www." + zone, RecordType: "A", Targets: []string{"www"}},
		"IPv6 in A":        {DNSName: "www." + zone, RecordType: "A", Targets: []string{"2001:db8::1"}},
		"IPv4 in AAAA":     {DNSName: "www." + zone, RecordType: "AAAA", Targets: []string{"192.0.2.1"}},
		"two CNAMEs":       {DNSName: "www." + zone, RecordType: "CNAME", Targets: []string{"a." + zone, "b." + zone}},
		"bad CNAME target": {DNSName: "www." + zone, RecordType: "CNAME", Targets: []string{"a..b"}},
		"set identifier":   {DNSName: "www." + zone, RecordType: "A", Targets: []string{"192.0.2.1"}, SetIdentifier: "us"},
		"no targets":       {DNSName: "www." + zone, RecordType: "A"},
		"unknown type":     {DNSName: "www." + zone, RecordType: "MX", Targets: []string{"mail." + zone}},
		"negative TTL":     {DNSName: "www." + zone, RecordType: "A", Targets: []string{"192.0.2.1"}, TTL: -1},
		"bad name":         {DNSName: "a b." + zone, RecordType: "A", Targets: []string{"192.0.2.1"}},
	} {
		t.Run(name, func(t *testing.T) {
			err := p.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{ep}})
			framework.WantReason(t, err, kdns.ReasonInvalidRecord)
		})
	}
	err = p.ApplyChanges(t.Context(), &kdns.Changes{UpdateOld: []*kdns.Endpoint{{DNSName: "a." + zone, RecordType: "A", Targets: []string{"192.0.2.1"}}}})
	framework.WantReason(t, err, kdns.ReasonInvalidRecord)
	if err := p.ApplyChanges(t.Context(), &kdns.Changes{}); err != nil {
		t.Errorf("empty changes: %v", err)
	}
}

func TestConfigIsChecked(t *testing.T) {
	good := rfc2136.Config{Server: "127.0.0.1:53", Zone: zone, TSIGKeyName: keyName, TSIGSecret: "c2VjcmV0"}
	for name, tc := range map[string]struct {
		mod  func(*rfc2136.Config)
		want string // in the error; "" for none
	}{
		"good":                   {func(*rfc2136.Config) {}, ""},
		"unsigned":               {func(c *rfc2136.Config) { c.TSIGKeyName, c.TSIGSecret = "", "" }, ""},
		"server without port":    {func(c *rfc2136.Config) { c.Server = "127.0.0.1" }, "not host:port"},
		"no zone":                {func(c *rfc2136.Config) { c.Zone = "" }, "not a DNS name"},
		"bad zone":               {func(c *rfc2136.Config) { c.Zone = "a..b" }, "not a DNS name"},
		"secret without key":     {func(c *rfc2136.Config) { c.TSIGKeyName = "" }, "without a key name"},
		"key without secret":     {func(c *rfc2136.Config) { c.TSIGSecret = "" }, "has no secret"},
		"unknown algorithm":      {func(c *rfc2136.Config) { c.TSIGAlgorithm = "hmac-sha3" }, "is not one of"},
		"secret not base64":      {func(c *rfc2136.Config) { c.TSIGSecret = "not base64!" }, "is not base64"},
		"message size too small": {func(c *rfc2136.Config) { c.MaxMessageSize = 100 }, "maximum message size"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			tc.mod(&cfg)
			_, err := rfc2136.New(cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), cfg.TSIGSecret) && cfg.TSIGSecret != "":
				t.Fatalf("the error holds the secret: %v", err)
			}
		})
	}
}

// BenchmarkSettle measures, on a real BIND 9, the time from ApplyChanges returning to the
// server's answer changing, querying every 2 ms. A figure, not a bar.
func BenchmarkSettle(b *testing.B) {
	srv := startNamed(b)
	framework.BenchmarkSettle(b, providerFor(b, srv, nil), srv.Addr, "settle."+zone)
}
