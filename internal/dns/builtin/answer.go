package builtin

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// shutdownTimeout bounds Run's shutdown.
const shutdownTimeout = 5 * time.Second

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	_, isTCP := w.RemoteAddr().(*net.TCPAddr)
	m := s.answer(r, remoteAddr(w.RemoteAddr()), isTCP)
	// A failed write (the client went away) has no one to report to.
	_ = w.WriteMsg(m)
}

func remoteAddr(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	default:
		return netip.Addr{}
	}
}

// answer builds the reply to r from a client at src.
func (s *Server) answer(r *dns.Msg, src netip.Addr, isTCP bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Compress = true

	opt := r.IsEdns0()
	var respOpt *dns.OPT
	if opt != nil {
		respOpt = &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		respOpt.SetUDPSize(maxUDPSize)
		respOpt.SetDo(opt.Do())
		if opt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers
			m.Extra = append(m.Extra, respOpt)
			return m
		}
	}
	size := dns.MinMsgSize
	if opt != nil {
		size = max(min(int(opt.UDPSize()), maxUDPSize), dns.MinMsgSize)
	}
	finish := func() *dns.Msg {
		if respOpt != nil {
			m.Extra = append(m.Extra, respOpt)
		}
		if isTCP {
			m.Truncate(dns.MaxMsgSize)
		} else {
			m.Truncate(size)
		}
		return m
	}

	if r.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		return finish()
	}
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return finish()
	}
	q := r.Question[0]
	client, ecs, ok := clientOf(opt, src)
	if !ok {
		m.Rcode = dns.RcodeFormatError
		return finish()
	}
	qname := strings.ToLower(q.Name)
	z := s.zoneOf(qname)
	if z == nil || (q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY) || q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		m.Rcode = dns.RcodeRefused
		return finish()
	}
	client.Region = z.cfg.Geo.Region(clientAddr(client))
	m.Authoritative = true
	byRegion := s.resolve(m, z, client, qname, q.Qtype)
	if ecs != nil && respOpt != nil {
		// The scope says how much of the subnet the answer depends on (RFC 7871 section
		// 7.2.1): all of it when a record set was picked by the client's region through a geo
		// table, none otherwise, so that resolvers cache other answers for every client.
		scope := uint8(0)
		if byRegion {
			scope = ecs.SourceNetmask
		}
		respOpt.Option = append(respOpt.Option, &dns.EDNS0_SUBNET{
			Code: dns.EDNS0SUBNET, Family: ecs.Family, SourceNetmask: ecs.SourceNetmask, SourceScope: scope, Address: ecs.Address,
		})
	}
	return finish()
}

// clientAddr is the address the client's region is looked up by: the subnet's, else the source's.
func clientAddr(c Client) netip.Addr {
	if c.Subnet.IsValid() {
		return c.Subnet.Addr()
	}
	return c.Addr
}

// clientOf reads the client subnet option; ok is false when it is malformed (RFC 7871 says FORMERR).
func clientOf(opt *dns.OPT, src netip.Addr) (Client, *dns.EDNS0_SUBNET, bool) {
	c := Client{Addr: src}
	if opt == nil {
		return c, nil, true
	}
	for _, o := range opt.Option {
		e, isSubnet := o.(*dns.EDNS0_SUBNET)
		if !isSubnet {
			continue
		}
		var bits int
		switch e.Family {
		case 1:
			bits = 32
		case 2:
			bits = 128
		default:
			return c, nil, false
		}
		if int(e.SourceNetmask) > bits || e.SourceScope != 0 {
			return c, nil, false
		}
		a, ok := netip.AddrFromSlice(e.Address)
		if !ok {
			return c, nil, false
		}
		if bits == 32 {
			a = a.Unmap()
		}
		if p, err := a.Prefix(int(e.SourceNetmask)); err == nil {
			c.Subnet = p
		} else {
			return c, nil, false
		}
		return c, e, true
	}
	return c, nil, true
}

// resolve fills the answer (and the authority on a negative answer) for qname/qtype in z,
// following CNAMEs through the server's zones. It tells whether a record set was picked by the
// client's region in a zone with a geo table.
func (s *Server) resolve(m *dns.Msg, z *zone, client Client, qname string, qtype uint16) (byRegion bool) {
	seen := map[string]bool{}
	answer := func(z *zone, qname string, qtype uint16, sets []RecordSet) []dns.RR {
		rrs, geo := z.pick(client, qname, qtype, sets)
		byRegion = byRegion || geo
		return rrs
	}
	for range maxChain {
		seen[qname] = true
		idx := z.current()
		if !idx.exists(z.apex, qname) {
			m.Rcode = dns.RcodeNameError
			m.Ns = append(m.Ns, idx.soa)
			return byRegion
		}
		sets := idx.names[qname]
		if qname == z.apex {
			switch qtype {
			case dns.TypeSOA:
				m.Answer = append(m.Answer, idx.soa)
				return byRegion
			case dns.TypeNS:
				m.Answer = append(m.Answer, idx.ns...)
				return byRegion
			case dns.TypeANY:
				m.Answer = append(append(m.Answer, idx.soa), idx.ns...)
			}
		}
		if qtype == dns.TypeANY {
			for t, rs := range sets {
				m.Answer = append(m.Answer, answer(z, qname, t, rs)...)
			}
			return byRegion
		}
		if rs, ok := sets[qtype]; ok {
			m.Answer = append(m.Answer, answer(z, qname, qtype, rs)...)
			return byRegion
		}
		cname, ok := sets[dns.TypeCNAME]
		var picked []dns.RR
		if ok {
			// Several CNAME sets (one per cluster, with routing) answer one CNAME.
			picked = answer(z, qname, dns.TypeCNAME, cname)
		}
		if len(picked) == 0 {
			m.Ns = append(m.Ns, idx.soa) // NODATA
			return byRegion
		}
		rr := picked[0]
		m.Answer = append(m.Answer, rr)
		target := strings.ToLower(rr.(*dns.CNAME).Target)
		next := s.zoneOf(target)
		if next == nil || seen[target] {
			return byRegion // out of our zones (the resolver goes on), or a loop
		}
		z, qname = next, target
	}
	return byRegion
}

// pick returns the records of one answer: the zone's Select hook's choice, else by the sets'
// routing (route). byRegion tells whether the choice may depend on the client's region.
func (z *zone) pick(client Client, qname string, qtype uint16, sets []RecordSet) (rrs []dns.RR, byRegion bool) {
	hasGeo := z.cfg.Geo.Len() > 0
	if z.cfg.Select != nil {
		return z.cfg.Select(client, qname, qtype, sets), hasGeo
	}
	rrs, byRegion = route(client, sets)
	return rrs, byRegion && hasGeo
}
