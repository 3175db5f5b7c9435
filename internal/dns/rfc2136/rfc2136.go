// Package rfc2136 is the Provider for DNS servers that take RFC 2136 dynamic updates signed with
// TSIG (RFC 8945), such as BIND 9. Records reads the zone with a signed AXFR; ApplyChanges sends
// signed update messages whose prerequisites (RFC 2136 section 2.4) guard every change, so a
// record that another writer changed since it was read is never overwritten: the update is
// refused and the Provider says Conflict.
package rfc2136

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
	ctrl "sigs.k8s.io/controller-runtime"

	kdns "github.com/kfed-io/kfed/internal/dns"
)

const (
	// DefaultTimeout bounds one exchange with the server when Config.Timeout is zero.
	DefaultTimeout = 5 * time.Second
	// DefaultTTL is the TTL of a record whose Endpoint has none.
	DefaultTTL = 300
	// DefaultMaxMessageSize is the largest update message ApplyChanges sends when
	// Config.MaxMessageSize is zero; larger changes are split into several messages.
	DefaultMaxMessageSize = 16 * 1024
	// udpLimit is the largest message sent over UDP; larger ones go over TCP.
	udpLimit = dns.MinMsgSize
	// tsigReserve is room kept in a message for its TSIG record.
	tsigReserve = 160
)

// algorithms are the TSIG algorithms by the names named.conf uses.
var algorithms = map[string]string{
	"hmac-md5":    dns.HmacMD5,
	"hmac-sha1":   dns.HmacSHA1,
	"hmac-sha224": dns.HmacSHA224,
	"hmac-sha256": dns.HmacSHA256,
	"hmac-sha384": dns.HmacSHA384,
	"hmac-sha512": dns.HmacSHA512,
}

// Config says which server and zone to write and with which TSIG key.
type Config struct {
	// Server is the server's host:port, e.g. 127.0.0.1:53.
	Server string
	// Zone is the zone to read and update, e.g. example.com.
	Zone string
	// TSIGKeyName, TSIGAlgorithm (hmac-sha256 when empty; hmac-sha1, -sha224, -sha384,
	// -sha512, -md5) and TSIGSecret (base64) sign every message. With no key name and no
	// secret the messages go unsigned.
	TSIGKeyName, TSIGAlgorithm, TSIGSecret string
	// Timeout bounds one exchange (DefaultTimeout when zero).
	Timeout time.Duration
	// MaxMessageSize is the size in bytes at which an update is split (DefaultMaxMessageSize
	// when zero).
	MaxMessageSize int
}

// Provider writes one zone of one RFC 2136 server. It is safe for concurrent use.
type Provider struct {
	server, zone   string // zone is a lower-case FQDN
	keyName, alg   string // FQDNs, empty without TSIG
	secrets        map[string]string
	timeout        time.Duration
	maxMessageSize int
	// where names the server, zone and key for messages; never the secret.
	where string
}

var _ kdns.Provider = (*Provider)(nil)

// New checks the Config and returns its Provider; it does not contact the server.
func New(cfg Config) (*Provider, error) {
	host, port, err := net.SplitHostPort(cfg.Server)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("rfc2136: server %q is not host:port", cfg.Server)
	}
	zone := strings.ToLower(dns.Fqdn(cfg.Zone))
	if cfg.Zone == "" || !validName(zone) {
		return nil, fmt.Errorf("rfc2136: zone %q is not a DNS name", cfg.Zone)
	}
	p := &Provider{server: cfg.Server, zone: zone, timeout: cfg.Timeout, maxMessageSize: cfg.MaxMessageSize}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	if p.maxMessageSize <= 0 {
		p.maxMessageSize = DefaultMaxMessageSize
	}
	if p.maxMessageSize < udpLimit || p.maxMessageSize > dns.MaxMsgSize {
		return nil, fmt.Errorf("rfc2136: maximum message size %d is not between %d and %d", p.maxMessageSize, udpLimit, dns.MaxMsgSize)
	}
	switch {
	case cfg.TSIGKeyName == "" && cfg.TSIGSecret == "":
	case cfg.TSIGKeyName == "":
		return nil, errors.New("rfc2136: a TSIG secret is given without a key name")
	case cfg.TSIGSecret == "":
		return nil, fmt.Errorf("rfc2136: TSIG key %q has no secret", cfg.TSIGKeyName)
	default:
		p.keyName = strings.ToLower(dns.Fqdn(cfg.TSIGKeyName))
		if !validName(p.keyName) {
			return nil, fmt.Errorf("rfc2136: TSIG key name %q is not a DNS name", cfg.TSIGKeyName)
		}
		name := strings.TrimSuffix(strings.ToLower(cfg.TSIGAlgorithm), ".")
		if name == "" {
			name = "hmac-sha256"
		}
		alg, ok := algorithms[name]
		if !ok {
			return nil, fmt.Errorf("rfc2136: TSIG algorithm %q is not one of hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224, hmac-sha1, hmac-md5", cfg.TSIGAlgorithm)
		}
		// The secret is checked here, where the message cannot leak it.
		if _, err := base64.StdEncoding.DecodeString(cfg.TSIGSecret); err != nil {
			return nil, fmt.Errorf("rfc2136: the secret of TSIG key %q is not base64", cfg.TSIGKeyName)
		}
		p.alg = alg
		p.secrets = map[string]string{p.keyName: cfg.TSIGSecret}
	}
	p.where = p.describe()
	return p, nil
}

// describe names the server, zone and key for messages; never the secret.
func (p *Provider) describe() string {
	s := fmt.Sprintf("rfc2136 server %s, zone %s", p.server, strings.TrimSuffix(p.zone, "."))
	if p.keyName != "" {
		return s + fmt.Sprintf(", TSIG key %q", strings.TrimSuffix(p.keyName, "."))
	}
	return s + ", unsigned"
}

func (p *Provider) client(network string) *dns.Client {
	return &dns.Client{Net: network, Timeout: p.timeout, TsigSecret: p.secrets}
}

// sign adds the TSIG record to m, once; the client fills in its MAC when it sends m.
func (p *Provider) sign(m *dns.Msg) {
	if p.keyName != "" && m.IsTsig() == nil {
		m.SetTsig(p.keyName, p.alg, 300, time.Now().Unix())
	}
}

// exchange sends m (UDP when it fits, TCP otherwise or when the answer is truncated) and
// classifies every failure, including an answer whose rcode is not NOERROR.
func (p *Provider) exchange(ctx context.Context, m *dns.Msg, what string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	network := "udp"
	if m.Len()+tsigReserve > udpLimit {
		network = "tcp"
	}
	p.sign(m)
	r, _, err := p.client(network).ExchangeContext(ctx, m, p.server)
	if err == nil && r != nil && r.Truncated && network == "udp" {
		// The same signed message again: the client computes a fresh MAC for its TSIG record.
		r, _, err = p.client("tcp").ExchangeContext(ctx, m, p.server)
	}
	if cerr := p.classify(r, err, what); cerr != nil {
		return r, cerr
	}
	return r, nil
}

// classify turns a transport error, a TSIG error or a failing rcode into a ProviderError.
func (p *Provider) classify(r *dns.Msg, err error, what string) error {
	where := p.where
	if r != nil {
		if t := r.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
			return kdns.NewProviderError(kdns.ReasonUnauthorized, nil, "%s: the server refused the key for %s: TSIG error %s",
				where, what, rcodeName(int(t.Error)))
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, dns.ErrSig), errors.Is(err, dns.ErrSecret), errors.Is(err, dns.ErrKeyAlg), errors.Is(err, dns.ErrTime):
			return kdns.NewProviderError(kdns.ReasonUnauthorized, err, "%s: the answer to %s failed TSIG verification", where, what)
		case unreachable(err):
			return kdns.NewProviderError(kdns.ReasonProviderUnreachable, err, "%s: no answer to %s", where, what)
		default:
			return kdns.NewProviderError(kdns.ReasonProviderError, err, "%s: %s", where, what)
		}
	}
	if r == nil {
		return kdns.NewProviderError(kdns.ReasonProviderError, nil, "%s: no answer to %s", where, what)
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
		return nil
	case dns.RcodeRefused:
		return kdns.NewProviderError(kdns.ReasonUnauthorized, nil, "%s: %s REFUSED (the server does not allow this key or client to change the zone)", where, what)
	case dns.RcodeNotAuth:
		return kdns.NewProviderError(kdns.ReasonUnauthorized, nil, "%s: %s NOTAUTH (the server is not authoritative for the zone or refused the key)", where, what)
	case dns.RcodeNotZone:
		return kdns.NewProviderError(kdns.ReasonZoneNotFound, nil, "%s: %s NOTZONE (a name is outside the zone the server serves)", where, what)
	case dns.RcodeYXDomain, dns.RcodeYXRrset, dns.RcodeNXRrset, dns.RcodeNameError:
		return kdns.NewProviderError(kdns.ReasonConflict, nil, "%s: %s failed its prerequisites (%s): another writer changed the records since they were read",
			where, what, rcodeName(r.Rcode))
	default:
		return kdns.NewProviderError(kdns.ReasonProviderError, nil, "%s: %s answered %s", where, what, rcodeName(r.Rcode))
	}
}

func rcodeName(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("rcode %d", rcode)
}

// unreachable tells whether err means no server answered: refused, reset, timed out.
func unreachable(err error) bool {
	var ne net.Error
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		(errors.As(err, &ne) && ne.Timeout()) || errors.Is(err, net.ErrClosed)
}

// checkZone asks the server for the zone's SOA: it tells a server that does not serve the zone
// (ZoneNotFound) from a refused key (Unauthorized) before an AXFR, whose errors say less.
func (p *Provider) checkZone(ctx context.Context) error {
	m := new(dns.Msg)
	m.SetQuestion(p.zone, dns.TypeSOA)
	r, err := p.exchange(ctx, m, "the SOA query")
	var pe *kdns.ProviderError
	if errors.As(err, &pe) && pe.Reason() == kdns.ReasonUnauthorized && r != nil && (r.Rcode == dns.RcodeRefused || r.Rcode == dns.RcodeNotAuth) {
		if t := r.IsTsig(); t == nil || t.Error == dns.RcodeSuccess {
			// A query refused without a TSIG error is a zone the server does not serve.
			return kdns.NewProviderError(kdns.ReasonZoneNotFound, nil, "%s: the server does not serve the zone (SOA query %s)", p.where, rcodeName(r.Rcode))
		}
	}
	if err != nil {
		return err
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, p.zone) {
			return nil
		}
	}
	return kdns.NewProviderError(kdns.ReasonZoneNotFound, nil, "%s: the server has no SOA for the zone", p.where)
}

// Records reads the zone with a signed AXFR and returns its A, AAAA, CNAME and TXT record sets.
func (p *Provider) Records(ctx context.Context) ([]*kdns.Endpoint, error) {
	if err := p.checkZone(ctx); err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetAxfr(p.zone)
	p.sign(m)
	t := &dns.Transfer{DialTimeout: p.timeout, ReadTimeout: p.timeout, WriteTimeout: p.timeout, TsigSecret: p.secrets}
	envs, err := t.In(m, p.server)
	if err != nil {
		return nil, p.classify(nil, err, "the zone transfer")
	}
	var rrs []dns.RR
	var xfrErr error
	for env := range envs { // drained to the end so that the transfer's goroutine ends
		if env.Error != nil && xfrErr == nil {
			xfrErr = env.Error
		}
		rrs = append(rrs, env.RR...)
	}
	if xfrErr != nil {
		if strings.Contains(xfrErr.Error(), "bad xfr rcode") {
			return nil, kdns.NewProviderError(kdns.ReasonUnauthorized, xfrErr,
				"%s: the zone transfer was refused (the server does not allow this key or client to transfer the zone)", p.where)
		}
		return nil, p.classify(nil, xfrErr, "the zone transfer")
	}
	if ctx.Err() != nil {
		return nil, p.classify(nil, ctx.Err(), "the zone transfer")
	}
	return endpointsOf(rrs), nil
}

// endpointsOf groups resource records into Endpoints, one per name and type, with the smallest
// TTL of the set; it keeps A, AAAA, CNAME and TXT only.
func endpointsOf(rrs []dns.RR) []*kdns.Endpoint {
	byKey := map[kdns.Key]*kdns.Endpoint{}
	var keys []kdns.Key
	for _, rr := range rrs {
		var target string
		switch v := rr.(type) {
		case *dns.A:
			target = v.A.String()
		case *dns.AAAA:
			target = v.AAAA.String()
		case *dns.CNAME:
			target = strings.TrimSuffix(strings.ToLower(v.Target), ".")
		case *dns.TXT:
			target = strings.Join(v.Txt, "")
		default:
			continue
		}
		h := rr.Header()
		k := kdns.Key{DNSName: strings.TrimSuffix(strings.ToLower(h.Name), "."), RecordType: dns.TypeToString[h.Rrtype]}
		ep, ok := byKey[k]
		if !ok {
			ep = &kdns.Endpoint{DNSName: k.DNSName, RecordType: k.RecordType, TTL: int64(h.Ttl)}
			byKey[k] = ep
			keys = append(keys, k)
		}
		if !slices.Contains(ep.Targets, target) { // AXFR repeats nothing, but be safe
			ep.Targets = append(ep.Targets, target)
		}
		ep.TTL = min(ep.TTL, int64(h.Ttl))
	}
	out := make([]*kdns.Endpoint, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k].Normalize())
	}
	slices.SortFunc(out, func(a, b *kdns.Endpoint) int {
		return strings.Compare(a.DNSName+" "+a.RecordType, b.DNSName+" "+b.RecordType)
	})
	return out
}

// unit is one guarded change of one record set: its prerequisites and its updates.
type unit struct {
	what          string
	prereq, apply []dns.RR // prereq in the message's answer section, apply in its authority section
}

// ApplyChanges sends the Changes as signed update messages, deletions first, each record set's
// change guarded by prerequisites: a Create needs the record set absent, an Update and a
// Delete need it to hold exactly the old targets. Changes too large for one message are split
// between record sets, never within one; a message is applied whole or not at all.
func (p *Provider) ApplyChanges(ctx context.Context, changes *kdns.Changes) error {
	if err := kdns.CheckChanges(p.where, changes); err != nil {
		return err
	}
	if changes == nil || changes.Empty() {
		return nil
	}
	units := make([]unit, 0, len(changes.Create)+len(changes.UpdateNew)+len(changes.Delete))
	for _, ep := range changes.Delete {
		old, err := p.rrs(ep)
		if err != nil {
			return err
		}
		units = append(units, unit{what: "delete " + ep.String(), prereq: valueDependent(old), apply: removeRRset(old[0])})
	}
	for i, ep := range changes.UpdateNew {
		old, err := p.rrs(changes.UpdateOld[i])
		if err != nil {
			return err
		}
		rrs, err := p.rrs(ep)
		if err != nil {
			return err
		}
		if old[0].Header().Name != rrs[0].Header().Name || old[0].Header().Rrtype != rrs[0].Header().Rrtype {
			return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: update of %s to %s changes its name or type", p.where,
				changes.UpdateOld[i], ep)
		}
		units = append(units, unit{what: "update " + ep.String(), prereq: valueDependent(old), apply: append(removeRRset(old[0]), rrs...)})
	}
	for _, ep := range changes.Create {
		rrs, err := p.rrs(ep)
		if err != nil {
			return err
		}
		units = append(units, unit{what: "create " + ep.String(), prereq: rrsetAbsent(rrs[0]), apply: rrs})
	}
	log := ctrl.LoggerFrom(ctx).WithValues("server", p.server, "zone", p.zone)
	msgs, err := p.messages(units)
	if err != nil {
		return err
	}
	for i, mu := range msgs {
		what := fmt.Sprintf("update %d of %d (%d record sets, %s)", i+1, len(msgs), len(mu.units), mu.units[0].what)
		if r, err := p.exchange(ctx, mu.msg, what); err != nil {
			if r != nil && (r.Rcode == dns.RcodeNotAuth || r.Rcode == dns.RcodeRefused) {
				// Tell a zone the server does not serve from a refused key.
				if zerr := p.checkZone(ctx); kdns.ReasonOf(zerr) == kdns.ReasonZoneNotFound {
					return zerr
				}
			}
			return err
		}
		log.V(1).Info("Applied DNS update", "message", i+1, "of", len(msgs), "recordSets", len(mu.units))
	}
	return nil
}

type message struct {
	msg   *dns.Msg
	units []unit
}

// messages packs the units into update messages of at most maxMessageSize bytes.
func (p *Provider) messages(units []unit) ([]message, error) {
	var out []message
	var cur *message
	for _, u := range units {
		if cur != nil {
			cur.msg.Answer = append(cur.msg.Answer, u.prereq...)
			cur.msg.Ns = append(cur.msg.Ns, u.apply...)
			if cur.msg.Len()+tsigReserve <= p.maxMessageSize {
				cur.units = append(cur.units, u)
				continue
			}
			cur.msg.Answer = cur.msg.Answer[:len(cur.msg.Answer)-len(u.prereq)]
			cur.msg.Ns = cur.msg.Ns[:len(cur.msg.Ns)-len(u.apply)]
		}
		m := new(dns.Msg)
		m.SetUpdate(p.zone)
		m.Compress = true
		m.Answer = append(m.Answer, u.prereq...)
		m.Ns = append(m.Ns, u.apply...)
		if m.Len()+tsigReserve > p.maxMessageSize {
			return nil, kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: %s does not fit in one update message of %d bytes",
				p.where, u.what, p.maxMessageSize)
		}
		out = append(out, message{msg: m, units: []unit{u}})
		cur = &out[len(out)-1]
	}
	return out, nil
}

// valueDependent is the prerequisite "the record set exists with exactly these records"
// (RFC 2136 section 2.4.2): class of the zone, TTL 0.
func valueDependent(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Ttl = 0
		out[i] = c
	}
	return out
}

// rrsetAbsent is the prerequisite "no record set of this name and type" (section 2.4.3).
func rrsetAbsent(rr dns.RR) []dns.RR {
	h := rr.Header()
	return []dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: h.Name, Rrtype: h.Rrtype, Class: dns.ClassNONE}}}
}

// removeRRset is the update "delete the record set of this name and type" (section 2.5.2).
func removeRRset(rr dns.RR) []dns.RR {
	h := rr.Header()
	return []dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: h.Name, Rrtype: h.Rrtype, Class: dns.ClassANY}}}
}

// rrs turns an Endpoint into the resource records it publishes, checking everything the
// server would otherwise refuse or, worse, accept wrongly.
func (p *Provider) rrs(ep *kdns.Endpoint) ([]dns.RR, error) {
	invalid := func(format string, args ...any) error {
		return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: record %s: %s", p.where, ep, fmt.Sprintf(format, args...))
	}
	if ep == nil {
		return nil, kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: a nil record in the changes", p.where)
	}
	name := strings.ToLower(dns.Fqdn(ep.DNSName))
	switch {
	case ep.DNSName == "" || !validName(name):
		return nil, invalid("%q is not a DNS name", ep.DNSName)
	case !dns.IsSubDomain(p.zone, name):
		return nil, invalid("the name is outside the zone")
	case ep.SetIdentifier != "":
		return nil, invalid("RFC 2136 has no set identifiers (%q)", ep.SetIdentifier)
	case len(ep.Targets) == 0:
		return nil, invalid("no targets")
	case ep.TTL < 0 || ep.TTL > 1<<31-1:
		return nil, invalid("TTL %d is not between 0 and 2147483647", ep.TTL)
	}
	ttl := uint32(ep.TTL)
	if ttl == 0 {
		ttl = DefaultTTL
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	out := make([]dns.RR, 0, len(ep.Targets))
	for _, t := range ep.Targets {
		switch ep.RecordType {
		case kdns.RecordTypeA, kdns.RecordTypeAAAA:
			ip, err := netip.ParseAddr(t)
			if err != nil || ip.Zone() != "" {
				return nil, invalid("target %q is not an IP address", t)
			}
			if ep.RecordType == kdns.RecordTypeA {
				if !ip.Is4() {
					return nil, invalid("target %q is not an IPv4 address", t)
				}
				out = append(out, &dns.A{Hdr: hdr(dns.TypeA), A: ip.AsSlice()})
			} else {
				if !ip.Is6() || ip.Is4In6() {
					return nil, invalid("target %q is not an IPv6 address", t)
				}
				out = append(out, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: ip.AsSlice()})
			}
		case kdns.RecordTypeCNAME:
			target := strings.ToLower(dns.Fqdn(t))
			if len(ep.Targets) != 1 {
				return nil, invalid("a CNAME has exactly one target, not %d", len(ep.Targets))
			}
			if !validName(target) {
				return nil, invalid("target %q is not a DNS name", t)
			}
			out = append(out, &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: target})
		case kdns.RecordTypeTXT:
			out = append(out, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: chunks(t)})
		default:
			return nil, invalid("record type %q is not one of A, AAAA, CNAME, TXT", ep.RecordType)
		}
	}
	return out, nil
}

// chunks splits a TXT value into the character-strings of at most 255 bytes it is stored as.
func chunks(s string) []string {
	if s == "" {
		return []string{""}
	}
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}

// validName tells whether an FQDN is a DNS name: labels of 1 to 63 bytes, at most 255 in all.
func validName(fqdn string) bool {
	if _, ok := dns.IsDomainName(fqdn); !ok || fqdn == "." {
		return false
	}
	return !strings.Contains(fqdn, "..") && !strings.ContainsAny(fqdn, " \\\"()")
}
