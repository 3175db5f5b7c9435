package builtin

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	kfeddns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/inmemory"
)

const (
	global = "web.shop.myfed.svc.example.com"
	region = "web.shop.myfed.svc.europe-west1.example.com"
	zoneN  = "web.shop.myfed.svc.europe-west1-b.europe-west1.example.com"
)

func ep(name, typ string, targets ...string) *kfeddns.Endpoint {
	return &kfeddns.Endpoint{DNSName: name, RecordType: typ, Targets: targets, TTL: 30}
}

func bigTargets(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.9.%d.%d", i/250, i%250+1)
	}
	return out
}

func records() []*kfeddns.Endpoint {
	return []*kfeddns.Endpoint{
		ep(global, "A", "10.0.0.1", "10.0.1.1"),
		ep(global, "AAAA", "2001:db8::1"),
		ep("web.shop.myfed.svc.us-east1.example.com", "A", "10.0.0.1"),
		ep(region, "CNAME", global),
		ep(zoneN, "CNAME", region),
		ep("out.example.com", "CNAME", "lb.example.net"),
		ep("dangling.example.com", "CNAME", "missing.example.com"),
		ep("other-zone.example.com", "CNAME", "www.example.org"),
		ep("loop1.example.com", "CNAME", "loop2.example.com"),
		ep("loop2.example.com", "CNAME", "loop1.example.com"),
		ep("txt.example.com", "TXT", "heritage=kfed,kfed/owner=a,kfed/resource=FederatedService/shop/web"),
		ep("big.example.com", "A", bigTargets(200)...),
	}
}

// seen is what the selection hook was handed, for the geo tests.
type seen struct {
	mu      sync.Mutex
	clients []Client
}

func (s *seen) hook(c Client, _ string, _ uint16, sets []RecordSet) []dns.RR {
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	var out []dns.RR
	for _, rs := range sets {
		out = append(out, rs.RRs...)
	}
	return out
}

func (s *seen) last() Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clients[len(s.clients)-1]
}

type fixture struct {
	srv   *Server
	store *inmemory.Zone
	seen  *seen
}

func start(t testing.TB) *fixture {
	t.Helper()
	store := inmemory.New(inmemory.Domain("example.com"))
	if err := store.Replace(records()); err != nil {
		t.Fatal(err)
	}
	geo, err := NewGeoTable([]GeoRegion{
		{Region: "us-east1", CIDRs: []string{"10.1.0.0/16", "2001:db8:1::/48"}},
		{Region: "us-east1-special", CIDRs: []string{"10.1.7.0/24"}},
		{Region: "local", CIDRs: []string{"127.0.0.0/8"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	other := inmemory.New()
	if err := other.Replace([]*kfeddns.Endpoint{ep("www.example.org", "A", "192.0.2.1")}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: NewServer(), store: store, seen: &seen{}}
	if err := f.srv.SetZone(Zone{Name: "example.com", Store: store, Geo: geo, Select: f.seen.hook, NegativeTTL: 15}); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.SetZone(Zone{Name: "example.org.", Store: other}); err != nil {
		t.Fatal(err)
	}
	serve(t, f.srv)
	return f
}

// serve starts srv on a free loopback port until the test ends.
func serve(t testing.TB, srv *Server) {
	t.Helper()
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
}

func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	return m
}

func (f *fixture) exchange(t testing.TB, network string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 30 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, f.srv.Addr())
	if err != nil {
		t.Fatalf("exchange over %s: %v", network, err)
	}
	return r
}

// rrs renders records without TTL variance, sorted, for comparison.
func rrs(list []dns.RR) []string {
	out := make([]string, 0, len(list))
	for _, rr := range list {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	slices.Sort(out)
	return out
}

func TestAnswers(t *testing.T) {
	f := start(t)
	serial := f.store.Snapshot().Serial
	soa := fmt.Sprintf("example.com. 15 IN SOA ns1.example.com. hostmaster.example.com. %d 3600 600 86400 15", serial)
	tests := []struct {
		name      string
		qname     string
		qtype     uint16
		rcode     int
		answer    []string
		authority []string
	}{
		{name: "A of the global name", qname: global, qtype: dns.TypeA,
			answer: []string{global + ". 30 IN A 10.0.0.1", global + ". 30 IN A 10.0.1.1"}},
		{name: "AAAA", qname: global, qtype: dns.TypeAAAA, answer: []string{global + ". 30 IN AAAA 2001:db8::1"}},
		{name: "names are case-insensitive", qname: strings.ToUpper(global), qtype: dns.TypeAAAA,
			answer: []string{global + ". 30 IN AAAA 2001:db8::1"}},
		{name: "zone -> region -> global CNAME chain is followed into the answer", qname: zoneN, qtype: dns.TypeA,
			answer: []string{
				global + ". 30 IN A 10.0.0.1", global + ". 30 IN A 10.0.1.1",
				region + ". 30 IN CNAME " + global + ".", zoneN + ". 30 IN CNAME " + region + ".",
			}},
		{name: "a CNAME asked for is answered alone", qname: zoneN, qtype: dns.TypeCNAME,
			answer: []string{zoneN + ". 30 IN CNAME " + region + "."}},
		{name: "a CNAME out of the server's zones ends the chain", qname: "out.example.com", qtype: dns.TypeA,
			answer: []string{"out.example.com. 30 IN CNAME lb.example.net."}},
		{name: "a CNAME into another served zone is followed", qname: "other-zone.example.com", qtype: dns.TypeA,
			answer: []string{"other-zone.example.com. 30 IN CNAME www.example.org.", "www.example.org. 30 IN A 192.0.2.1"}},
		{name: "a CNAME to a missing name: NXDOMAIN with the CNAME and the SOA", qname: "dangling.example.com", qtype: dns.TypeA,
			rcode:     dns.RcodeNameError,
			answer:    []string{"dangling.example.com. 30 IN CNAME missing.example.com."},
			authority: []string{soa}},
		{name: "a CNAME loop stops", qname: "loop1.example.com", qtype: dns.TypeA,
			answer: []string{"loop1.example.com. 30 IN CNAME loop2.example.com.", "loop2.example.com. 30 IN CNAME loop1.example.com."}},
		{name: "TXT", qname: "txt.example.com", qtype: dns.TypeTXT,
			answer: []string{`txt.example.com. 30 IN TXT "heritage=kfed,kfed/owner=a,kfed/resource=FederatedService/shop/web"`}},
		{name: "SOA at the apex carries the store's serial", qname: "example.com", qtype: dns.TypeSOA, answer: []string{soa}},
		{name: "NS at the apex", qname: "example.com", qtype: dns.TypeNS, answer: []string{"example.com. 15 IN NS ns1.example.com."}},
		{name: "NXDOMAIN with the SOA in authority", qname: "nothing.example.com", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, authority: []string{soa}},
		{name: "NODATA: the name exists, not the type", qname: "txt.example.com", qtype: dns.TypeA, authority: []string{soa}},
		{name: "NODATA for an empty non-terminal, not NXDOMAIN", qname: "shop.myfed.svc.example.com", qtype: dns.TypeA,
			authority: []string{soa}},
		{name: "NODATA for a type the server does not hold at the apex", qname: "example.com", qtype: dns.TypeMX, authority: []string{soa}},
		{name: "below an existing name is NXDOMAIN", qname: "x." + global, qtype: dns.TypeA,
			rcode: dns.RcodeNameError, authority: []string{soa}},
		{name: "outside the zones: REFUSED", qname: "example.net", qtype: dns.TypeA, rcode: dns.RcodeRefused},
		{name: "a parent of a zone: REFUSED", qname: "com", qtype: dns.TypeSOA, rcode: dns.RcodeRefused},
		{name: "zone transfer: REFUSED", qname: "example.com", qtype: dns.TypeAXFR, rcode: dns.RcodeRefused},
	}
	for _, tt := range tests {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(tt.name+"/"+network, func(t *testing.T) {
				r := f.exchange(t, network, query(tt.qname, tt.qtype))
				if r.Rcode != tt.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
				}
				if want := tt.rcode != dns.RcodeRefused; r.Authoritative != want {
					t.Errorf("authoritative %v, want %v", r.Authoritative, want)
				}
				if diff := cmp.Diff(sorted(tt.answer), rrs(r.Answer)); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(sorted(tt.authority), rrs(r.Ns)); diff != "" {
					t.Errorf("authority (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func TestSerialAndAnswersFollowTheStore(t *testing.T) {
	f := start(t)
	soaSerial := func() uint32 {
		r := f.exchange(t, "udp", query("example.com", dns.TypeSOA))
		return r.Answer[0].(*dns.SOA).Serial
	}
	before := soaSerial()
	err := f.store.ApplyChanges(t.Context(), &kfeddns.Changes{
		UpdateOld: []*kfeddns.Endpoint{ep(global, "A", "10.0.0.1", "10.0.1.1")},
		UpdateNew: []*kfeddns.Endpoint{ep(global, "A", "10.0.0.1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := soaSerial(); after <= before {
		t.Errorf("serial %d after a change, was %d: want it to grow", after, before)
	}
	r := f.exchange(t, "udp", query(global, dns.TypeA))
	if diff := cmp.Diff([]string{global + ". 30 IN A 10.0.0.1"}, rrs(r.Answer)); diff != "" {
		t.Errorf("answer after the change (-want +got):\n%s", diff)
	}

	// The store replaced whole (as every replica does from host state): the global name goes.
	next := slices.DeleteFunc(records(), func(e *kfeddns.Endpoint) bool { return e.DNSName == global })
	next = slices.DeleteFunc(next, func(e *kfeddns.Endpoint) bool { return e.DNSName == region || e.DNSName == zoneN })
	if err := f.store.Replace(next); err != nil {
		t.Fatal(err)
	}
	if r := f.exchange(t, "udp", query(global, dns.TypeA)); r.Rcode != dns.RcodeNameError {
		t.Errorf("after the global name went: %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}

	// A zone removed is no longer answered.
	f.srv.RemoveZone("example.org")
	if r := f.exchange(t, "udp", query("www.example.org", dns.TypeA)); r.Rcode != dns.RcodeRefused {
		t.Errorf("after RemoveZone: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
}

func TestEDNS0(t *testing.T) {
	f := start(t)

	t.Run("the OPT is echoed with the server's size and the DO bit", func(t *testing.T) {
		m := query(global, dns.TypeA)
		m.SetEdns0(1232, true)
		r := f.exchange(t, "udp", m)
		opt := r.IsEdns0()
		if opt == nil {
			t.Fatal("no OPT in the answer")
		}
		if opt.UDPSize() != maxUDPSize || !opt.Do() || opt.Version() != 0 {
			t.Errorf("OPT size %d DO %v version %d, want %d true 0", opt.UDPSize(), opt.Do(), opt.Version(), maxUDPSize)
		}
	})
	t.Run("no OPT in the query, none in the answer", func(t *testing.T) {
		if r := f.exchange(t, "udp", query(global, dns.TypeA)); r.IsEdns0() != nil {
			t.Error("an OPT in the answer to a query without one")
		}
	})
	t.Run("an unknown EDNS version: BADVERS", func(t *testing.T) {
		m := query(global, dns.TypeA)
		m.SetEdns0(1232, false)
		m.IsEdns0().SetVersion(1)
		r := f.exchange(t, "udp", m)
		if r.Rcode != dns.RcodeBadVers || len(r.Answer) != 0 {
			t.Errorf("rcode %d with %d answers, want BADVERS (16) and none", r.Rcode, len(r.Answer))
		}
	})
}

func TestTruncationAndTCP(t *testing.T) {
	f := start(t)
	tests := []struct {
		name    string
		network string
		udpSize uint16 // 0: no EDNS0
		wantTC  bool
		wantAll bool
	}{
		{name: "UDP without EDNS0: 512 bytes, truncated", network: "udp", wantTC: true},
		{name: "UDP with a 1232-byte buffer: truncated", network: "udp", udpSize: 1232, wantTC: true},
		{name: "UDP with a 4096-byte buffer: the whole answer fits", network: "udp", udpSize: 4096, wantAll: true},
		{name: "TCP: the whole answer", network: "tcp", wantAll: true},
		{name: "TCP with EDNS0 and a small buffer: still the whole answer", network: "tcp", udpSize: 512, wantAll: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := query("big.example.com", dns.TypeA)
			if tt.udpSize > 0 {
				m.SetEdns0(tt.udpSize, false)
			}
			r := f.exchange(t, tt.network, m)
			if r.Truncated != tt.wantTC {
				t.Errorf("TC %v, want %v", r.Truncated, tt.wantTC)
			}
			if got := len(r.Answer); (got == 200) != tt.wantAll {
				t.Errorf("%d of 200 records answered", got)
			}
			size := 512
			if tt.udpSize > 0 {
				size = int(tt.udpSize)
			}
			r.Compress = true // as sent: Len of an unpacked message counts it uncompressed
			if tt.network == "udp" && r.Len() > size {
				t.Errorf("a %d-byte UDP answer to a client that takes %d", r.Len(), size)
			}
			if tt.udpSize > 0 && r.IsEdns0() == nil {
				t.Error("the truncated answer lost its OPT")
			}
		})
	}
}

func ecsQuery(name string, family uint16, addr string, bits uint8) *dns.Msg {
	m := query(name, dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{
		Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: bits, Address: net.ParseIP(addr),
	})
	return m
}

func TestClientRegion(t *testing.T) {
	f := start(t)
	tests := []struct {
		name       string
		m          *dns.Msg
		wantClient Client
		wantScope  uint8
	}{
		{
			name:       "from the EDNS0 client subnet",
			m:          ecsQuery(global, 1, "10.1.2.0", 24),
			wantClient: Client{Addr: netip.MustParseAddr("127.0.0.1"), Subnet: netip.MustParsePrefix("10.1.2.0/24"), Region: "us-east1"},
			wantScope:  24,
		},
		{
			name:       "the longest prefix wins",
			m:          ecsQuery(global, 1, "10.1.7.9", 32),
			wantClient: Client{Addr: netip.MustParseAddr("127.0.0.1"), Subnet: netip.MustParsePrefix("10.1.7.9/32"), Region: "us-east1-special"},
			wantScope:  32,
		},
		{
			name:       "an IPv6 subnet",
			m:          ecsQuery(global, 2, "2001:db8:1:2ff::", 56),
			wantClient: Client{Addr: netip.MustParseAddr("127.0.0.1"), Subnet: netip.MustParsePrefix("2001:db8:1:200::/56"), Region: "us-east1"},
			wantScope:  56,
		},
		{
			name:       "a subnet in no region: no region, not the source's",
			m:          ecsQuery(global, 1, "192.0.2.0", 24),
			wantClient: Client{Addr: netip.MustParseAddr("127.0.0.1"), Subnet: netip.MustParsePrefix("192.0.2.0/24")},
			wantScope:  24,
		},
		{
			name:       "without a subnet, from the source address",
			m:          query(global, dns.TypeA),
			wantClient: Client{Addr: netip.MustParseAddr("127.0.0.1"), Region: "local"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.exchange(t, "udp", tt.m)
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
				t.Fatalf("rcode %s with %d answers", dns.RcodeToString[r.Rcode], len(r.Answer))
			}
			if diff := cmp.Diff(tt.wantClient, f.seen.last(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("client handed to the hook (-want +got):\n%s", diff)
			}
			if tt.m.IsEdns0() == nil || len(tt.m.IsEdns0().Option) == 0 {
				return
			}
			var echoed *dns.EDNS0_SUBNET
			for _, o := range r.IsEdns0().Option {
				if e, ok := o.(*dns.EDNS0_SUBNET); ok {
					echoed = e
				}
			}
			if echoed == nil {
				t.Fatal("the client subnet was not echoed")
			}
			if echoed.SourceScope != tt.wantScope {
				t.Errorf("scope %d, want %d", echoed.SourceScope, tt.wantScope)
			}
		})
	}
}

// TestMalformedClientSubnet checks the cases a well-behaved client library cannot even send.
func TestMalformedClientSubnet(t *testing.T) {
	src := netip.MustParseAddr("127.0.0.1")
	for name, e := range map[string]*dns.EDNS0_SUBNET{
		"unknown family":             {Family: 3, SourceNetmask: 8, Address: net.ParseIP("10.0.0.0")},
		"IPv4 prefix longer than 32": {Family: 1, SourceNetmask: 40, Address: net.ParseIP("10.0.0.0").To4()},
		"a scope in a query":         {Family: 1, SourceNetmask: 24, SourceScope: 24, Address: net.ParseIP("10.0.0.0").To4()},
		"no address":                 {Family: 2, SourceNetmask: 24},
	} {
		opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}, Option: []dns.EDNS0{e}}
		if _, _, ok := clientOf(opt, src); ok {
			t.Errorf("%s: taken", name)
		}
		m := query(global, dns.TypeA)
		m.Extra = append(m.Extra, opt)
		if r := NewServer().answer(m, src, false); r.Rcode != dns.RcodeFormatError {
			t.Errorf("%s: rcode %s, want FORMERR", name, dns.RcodeToString[r.Rcode])
		}
	}
}

func TestScopeIsZeroWithoutGeo(t *testing.T) {
	f := start(t)
	r := f.exchange(t, "udp", ecsQuery("www.example.org", 1, "10.1.2.0", 24))
	for _, o := range r.IsEdns0().Option {
		if e, ok := o.(*dns.EDNS0_SUBNET); ok && e.SourceScope != 0 {
			t.Errorf("scope %d for a zone whose answers do not depend on the client, want 0", e.SourceScope)
		}
	}
}

func TestNewGeoTableRejectsBadInput(t *testing.T) {
	for name, regions := range map[string][]GeoRegion{
		"not a CIDR":             {{Region: "a", CIDRs: []string{"10.0.0.0"}}},
		"no region":              {{CIDRs: []string{"10.0.0.0/8"}}},
		"one prefix two regions": {{Region: "a", CIDRs: []string{"10.0.0.0/8"}}, {Region: "b", CIDRs: []string{"10.1.0.0/8"}}},
	} {
		if _, err := NewGeoTable(regions); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSetZoneRejectsBadInput(t *testing.T) {
	s := NewServer()
	if err := s.SetZone(Zone{Name: "example.com"}); err == nil {
		t.Error("a zone without a store was accepted")
	}
	if err := s.SetZone(Zone{Name: "", Store: inmemory.New()}); err == nil {
		t.Error("a zone without a name was accepted")
	}
}

func TestStartOnATakenPortFails(t *testing.T) {
	f := start(t)
	s := NewServer()
	if err := s.Start(f.srv.Addr()); err == nil {
		_ = s.Shutdown(t.Context())
		t.Fatal("a second server started on the same address")
	}
}

// TestQueriesWhileTheStoreChanges runs queries over UDP while the store is replaced; run with
// -race it proves the index swap is safe, and every answer is one of the two contents.
func TestQueriesWhileTheStoreChanges(t *testing.T) {
	f := start(t)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			rs := records()
			rs[0] = ep(global, "A", fmt.Sprintf("10.0.0.%d", i%2+1))
			if err := f.store.Replace(rs); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 200 {
		r := f.exchange(t, "udp", query(global, dns.TypeA))
		if len(r.Answer) != 1 && len(r.Answer) != 2 {
			t.Fatalf("%d answers", len(r.Answer))
		}
	}
	cancel()
	wg.Wait()
}
