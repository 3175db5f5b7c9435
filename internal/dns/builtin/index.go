package builtin

import (
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"

	kfeddns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/inmemory"
)

// RecordSet is one Endpoint of the store and the resource records it stands for.
type RecordSet struct {
	Endpoint *kfeddns.Endpoint
	RRs      []dns.RR
}

// index is one snapshot of a zone, laid out for answering: record sets by owner name (fully
// qualified, lower case) and type, the empty non-terminals, and the apex's SOA and NS.
type index struct {
	generation uint64
	names      map[string]map[uint16][]RecordSet
	ents       map[string]bool
	soa        *dns.SOA
	ns         []dns.RR
	// skipped counts store records the index could not express (bad addresses); the store
	// validates what it takes, so this stays 0 unless the store's rules are loosened.
	skipped int
}

// buildIndex lays out snap for the zone apex (fully qualified).
func buildIndex(apex string, cfg *Zone, snap *inmemory.Snapshot) *index {
	idx := &index{
		generation: snap.Generation,
		names:      map[string]map[uint16][]RecordSet{},
		ents:       map[string]bool{},
	}
	for _, e := range snap.Records {
		name := dns.Fqdn(e.DNSName)
		if !dns.IsSubDomain(apex, name) {
			idx.skipped++
			continue
		}
		rrs, qtype, err := toRRs(name, e)
		if err != nil {
			idx.skipped++
			continue
		}
		byType := idx.names[name]
		if byType == nil {
			byType = map[uint16][]RecordSet{}
			idx.names[name] = byType
		}
		byType[qtype] = append(byType[qtype], RecordSet{Endpoint: e, RRs: rrs})
		for p := parent(name); p != "" && p != apex && dns.IsSubDomain(apex, p); p = parent(p) {
			idx.ents[p] = true
		}
	}
	ttl := cfg.negativeTTL()
	nsNames := cfg.nameServers(apex)
	idx.soa = &dns.SOA{
		Hdr:     dns.RR_Header{Name: apex, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:      nsNames[0],
		Mbox:    "hostmaster." + apex,
		Serial:  snap.Serial,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  ttl,
	}
	for _, n := range nsNames {
		idx.ns = append(idx.ns, &dns.NS{Hdr: dns.RR_Header{Name: apex, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: ttl}, Ns: n})
	}
	return idx
}

// exists tells whether name is in the zone: it owns records, is an empty non-terminal, or is the apex.
func (idx *index) exists(apex, name string) bool {
	return name == apex || idx.names[name] != nil || idx.ents[name]
}

func parent(name string) string {
	_, rest, ok := strings.Cut(name, ".")
	if !ok || rest == "" {
		return ""
	}
	return rest
}

// toRRs turns an Endpoint into resource records.
func toRRs(name string, e *kfeddns.Endpoint) ([]dns.RR, uint16, error) {
	ttl := uint32(min(max(e.TTL, 0), 1<<31-1)) //nolint:gosec // clamped to the range of a TTL
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	var out []dns.RR
	switch e.RecordType {
	case kfeddns.RecordTypeA, kfeddns.RecordTypeAAAA:
		v4 := e.RecordType == kfeddns.RecordTypeA
		for _, t := range e.Targets {
			ip := net.ParseIP(t)
			if ip == nil || (ip.To4() != nil) != v4 {
				return nil, 0, fmt.Errorf("%s: %q is not an address of the type", e, t)
			}
			if v4 {
				out = append(out, &dns.A{Hdr: hdr(dns.TypeA), A: ip.To4()})
			} else {
				out = append(out, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: ip})
			}
		}
		if v4 {
			return out, dns.TypeA, nil
		}
		return out, dns.TypeAAAA, nil
	case kfeddns.RecordTypeCNAME:
		if len(e.Targets) != 1 {
			return nil, 0, fmt.Errorf("%s: a CNAME holds one target", e)
		}
		return []dns.RR{&dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: dns.Fqdn(e.Targets[0])}}, dns.TypeCNAME, nil
	case kfeddns.RecordTypeTXT:
		for _, t := range e.Targets {
			out = append(out, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: chunks(t, 255)})
		}
		return out, dns.TypeTXT, nil
	default:
		return nil, 0, fmt.Errorf("%s: type %s is not served", e, e.RecordType)
	}
}

// chunks splits a TXT value into character-strings of at most n bytes.
func chunks(s string, n int) []string {
	if s == "" {
		return []string{""}
	}
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}
