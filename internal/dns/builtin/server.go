// Package builtin is kfed's own authoritative DNS server: UDP and TCP on one address, answering
// for the zones it is given from in-memory stores (inmemory.Zone, a dns.Provider the controller
// writes to, or replaces whole from host state on every operator replica, leader or not).
//
// It answers SOA (with the store's serial), NS, A, AAAA, CNAME (following chains inside its
// zones into the answer) and TXT; NXDOMAIN and NODATA with the SOA in the authority section;
// EDNS0 (the OPT echoed, the client's UDP size honoured); TC over UDP when an answer does not
// fit, and the whole answer over TCP; REFUSED for names outside its zones. It works out the
// client's region from the EDNS0 client subnet, else the source address, through the zone's
// geo table, and answers the record sets of a name by their routing: one record of a weighted
// set picked by weight, the primary sets of a failover while there is one, the sets of the
// client's region (else all) of a geo name. The reply's client subnet scope is the source prefix
// when the answer depended on the region, 0 otherwise (RFC 7871).
package builtin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/kfed-io/kfed/internal/dns/inmemory"
)

// DefaultNegativeTTL is the SOA TTL and minimum (how long resolvers cache NXDOMAIN and NODATA)
// of a zone that does not set one.
const DefaultNegativeTTL = 30

// maxUDPSize is the largest UDP answer the server sends, and the size its OPT advertises.
const maxUDPSize = 4096

// maxChain bounds the CNAME chain followed inside the zones.
const maxChain = 8

// Client is what the server knows about who asks.
type Client struct {
	// Addr is the query's source address.
	Addr netip.Addr
	// Subnet is the EDNS0 client subnet of the query; not valid when it has none.
	Subnet netip.Prefix
	// Region is the region of the subnet's address, else of Addr, in the zone's geo table;
	// empty when the table does not hold it.
	Region string
}

// SelectFunc picks the records of an answer from the record sets of the name and type asked
// (several when a name has set identifiers). Without one the sets' routing picks (Weighted,
// Failover, Geo; see route), and sets without routing are answered whole.
type SelectFunc func(client Client, qname string, qtype uint16, sets []RecordSet) []dns.RR

// Zone is one zone the server answers for.
type Zone struct {
	// Name is the domain, e.g. example.com.
	Name string
	// Store holds the records; made with inmemory.Domain(Name) it refuses names outside the
	// zone, which the server would not answer.
	Store *inmemory.Zone
	// Geo maps client addresses to regions; nil means no regions.
	Geo *GeoTable
	// Select picks the records of each answer; nil means by the sets' routing.
	Select SelectFunc
	// NegativeTTL is the SOA's TTL and minimum; 0 means DefaultNegativeTTL.
	NegativeTTL uint32
	// NameServers of the zone's NS records; empty means ns1.<zone>.
	NameServers []string
}

func (z *Zone) negativeTTL() uint32 {
	if z.NegativeTTL == 0 {
		return DefaultNegativeTTL
	}
	return z.NegativeTTL
}

func (z *Zone) nameServers(apex string) []string {
	if len(z.NameServers) == 0 {
		return []string{"ns1." + apex}
	}
	out := make([]string, len(z.NameServers))
	for i, n := range z.NameServers {
		out[i] = dns.Fqdn(strings.ToLower(n))
	}
	return out
}

// zone is a served zone with its current index.
type zone struct {
	apex  string
	cfg   Zone
	mu    sync.Mutex // serializes rebuilds
	index atomic.Pointer[index]
}

// current returns the index of the store's current snapshot, building it on the first query
// after a change.
func (z *zone) current() *index {
	snap := z.cfg.Store.Snapshot()
	if idx := z.index.Load(); idx != nil && idx.generation == snap.Generation {
		return idx
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	snap = z.cfg.Store.Snapshot()
	if idx := z.index.Load(); idx != nil && idx.generation == snap.Generation {
		return idx
	}
	idx := buildIndex(z.apex, &z.cfg, snap)
	z.index.Store(idx)
	return idx
}

// Server answers for its zones. The zero value is not usable: call NewServer.
type Server struct {
	zones atomic.Pointer[map[string]*zone]
	mu    sync.Mutex // serializes zone changes and start/stop

	udp, tcp *dns.Server
	addr     string
	done     chan error
}

// NewServer returns a server without zones; SetZone adds them, Start serves them.
func NewServer() *Server {
	s := &Server{}
	s.zones.Store(&map[string]*zone{})
	return s
}

// SetZone serves z, replacing the zone of that name (its store, geo table and hook).
func (s *Server) SetZone(z Zone) error {
	if z.Store == nil {
		return fmt.Errorf("zone %q has no store", z.Name)
	}
	apex := dns.Fqdn(strings.ToLower(strings.TrimSuffix(z.Name, ".")))
	if _, ok := dns.IsDomainName(apex); !ok || apex == "." {
		return fmt.Errorf("zone %q is not a domain name", z.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[string]*zone{}
	for k, v := range *s.zones.Load() {
		next[k] = v
	}
	next[apex] = &zone{apex: apex, cfg: z}
	s.zones.Store(&next)
	return nil
}

// RemoveZone stops answering for the zone of that name.
func (s *Server) RemoveZone(name string) {
	apex := dns.Fqdn(strings.ToLower(strings.TrimSuffix(name, ".")))
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[string]*zone{}
	for k, v := range *s.zones.Load() {
		if k != apex {
			next[k] = v
		}
	}
	s.zones.Store(&next)
}

// zoneOf returns the zone that holds name (the longest apex that is a suffix), or nil.
func (s *Server) zoneOf(name string) *zone {
	zones := *s.zones.Load()
	for n := name; n != ""; n = parent(n) {
		if z, ok := zones[n]; ok {
			return z
		}
	}
	return nil
}

// Start listens on listen (host:port) over UDP and TCP and serves in the background. With
// port 0 one free port is picked for both. Addr says where it listens.
func (s *Server) Start(listen string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp != nil {
		return fmt.Errorf("the DNS server already listens on %s", s.addr)
	}
	pc, l, err := listenBoth(listen)
	if err != nil {
		return err
	}
	s.addr = pc.LocalAddr().String()
	s.done = make(chan error, 2)
	var started sync.WaitGroup
	started.Add(2)
	s.udp = &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: started.Done}
	s.tcp = &dns.Server{Listener: l, Handler: s, NotifyStartedFunc: started.Done}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		go func() { s.done <- srv.ActivateAndServe() }()
	}
	started.Wait()
	return nil
}

// listenBoth binds UDP and TCP on the same port.
func listenBoth(listen string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, nil, fmt.Errorf("the DNS server's listen address %q: %w", listen, err)
	}
	var lastErr error
	for range 10 {
		pc, err := net.ListenPacket("udp", listen)
		if err != nil {
			return nil, nil, fmt.Errorf("listening for DNS on udp %s: %w", listen, err)
		}
		_, got, _ := net.SplitHostPort(pc.LocalAddr().String())
		l, err := net.Listen("tcp", net.JoinHostPort(host, got))
		if err == nil {
			return pc, l, nil
		}
		_ = pc.Close()
		lastErr = err
		if port != "0" {
			break
		}
	}
	return nil, nil, fmt.Errorf("listening for DNS on tcp %s: %w", listen, lastErr)
}

// Addr is the host:port the server listens on (UDP and TCP); empty before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops serving and closes the sockets.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp == nil {
		return nil
	}
	var errs []error
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if err := srv.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for range 2 {
		select {
		case err := <-s.done:
			if err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
		}
	}
	s.udp, s.tcp, s.addr = nil, nil, ""
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stopping the DNS server: %w", err)
	}
	return nil
}

// Run serves on listen until ctx is done: a manager.Runnable's Start. It does not need leader
// election: every replica answers.
func (s *Server) Run(ctx context.Context, listen string) error {
	if err := s.Start(listen); err != nil {
		return err
	}
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	return s.Shutdown(shutdownCtx)
}
