package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/builtin"
	"github.com/kfed-io/kfed/internal/dns/inmemory"
)

// builtinZones runs kfed's own authoritative servers on every operator replica, leader or not.
// Every replica builds the zones from host state alone: the FederatedDomains with a builtin
// provider say where to listen and what the zone is, and the FederatedServices' status.dns
// (which the leader's DNS controller writes) say what the names hold. So every replica
// answers the same within one watch event of the leader's status write, and a replica that
// takes over (or restarts) answers at once from what the host holds. The status write is the
// publication: there is nothing else to write and no one else writes these zones, so they need
// no ownership records.
type builtinZones struct {
	cache cache.Cache
	// mapListen maps spec.provider.builtin.listen to where this replica listens (tests); nil
	// listens there.
	mapListen func(string) string

	mu      sync.Mutex
	servers map[string]*builtinServer // by listen address
	stores  map[string]*inmemory.Zone // by FederatedDomain name
	kick    chan struct{}
}

type builtinServer struct {
	srv *builtin.Server
	err error // why it does not listen; nil when it does
	// zones are the apexes it serves now.
	zones []string
}

func newBuiltinZones(c cache.Cache) *builtinZones {
	return &builtinZones{cache: c, servers: map[string]*builtinServer{}, stores: map[string]*inmemory.Zone{}, kick: make(chan struct{}, 1)}
}

// NeedLeaderElection is false: every replica answers.
func (z *builtinZones) NeedLeaderElection() bool { return false }

// Start builds the zones whenever a FederatedDomain or FederatedService changes, until ctx ends.
func (z *builtinZones) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("builtin-dns")
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { z.wake() },
		UpdateFunc: func(any, any) { z.wake() },
		DeleteFunc: func(any) { z.wake() },
	}
	for _, obj := range []client.Object{&v1alpha1.FederatedDomain{}, &v1alpha1.FederatedService{}, &v1alpha1.FederatedIngress{}} {
		inf, err := z.cache.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("watching the host for the builtin DNS zones: %w", err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return fmt.Errorf("watching the host for the builtin DNS zones: %w", err)
		}
	}
	defer z.stopAll(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-z.kick:
		case <-time.After(builtinResync):
			// A listen address that was taken is tried again.
		}
		if err := z.sync(ctx); err != nil {
			log.Error(err, "Building the builtin DNS zones")
		}
	}
}

func (z *builtinZones) wake() {
	select {
	case z.kick <- struct{}{}:
	default:
	}
}

// listenError says why the server of a listen address does not listen; nil when it does, or
// when this replica has not tried yet (errNotYet).
func (z *builtinZones) listenError(listen string) error {
	z.mu.Lock()
	defer z.mu.Unlock()
	s, ok := z.servers[listen]
	if !ok {
		return errBuiltinNotYet
	}
	return s.err
}

// addr is where the server of listen answers ("" when it does not).
func (z *builtinZones) addr(listen string) string {
	z.mu.Lock()
	defer z.mu.Unlock()
	if s, ok := z.servers[listen]; ok && s.err == nil {
		return s.srv.Addr()
	}
	return ""
}

// builtinResync is how often the zones are built again without a change, so that a server
// that could not listen tries again.
const builtinResync = 10 * time.Second

var errBuiltinNotYet = fmt.Errorf("the builtin DNS server has not started yet")

// sync makes the servers and zones match the host.
func (z *builtinZones) sync(ctx context.Context) error {
	var domains v1alpha1.FederatedDomainList
	if err := z.cache.List(ctx, &domains); err != nil {
		return fmt.Errorf("listing FederatedDomains: %w", err)
	}
	var services v1alpha1.FederatedServiceList
	if err := z.cache.List(ctx, &services); err != nil {
		return fmt.Errorf("listing FederatedServices: %w", err)
	}
	var ingresses v1alpha1.FederatedIngressList
	if err := z.cache.List(ctx, &ingresses); err != nil {
		return fmt.Errorf("listing FederatedIngresses: %w", err)
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	want := map[string][]*v1alpha1.FederatedDomain{} // listen → domains
	for i := range domains.Items {
		d := &domains.Items[i]
		if b := d.Spec.Provider.Builtin; b != nil && d.DeletionTimestamp.IsZero() {
			want[b.Listen] = append(want[b.Listen], d)
		}
	}
	for listen, s := range z.servers {
		if _, ok := want[listen]; !ok {
			if s.err == nil {
				_ = s.srv.Shutdown(ctx)
			}
			delete(z.servers, listen)
		}
	}
	keep := map[string]bool{}
	for listen, ds := range want {
		s := z.servers[listen]
		if s == nil || s.err != nil {
			s = &builtinServer{srv: builtin.NewServer()}
			at := listen
			if z.mapListen != nil {
				at = z.mapListen(listen)
			}
			s.err = s.srv.Start(at)
			z.servers[listen] = s
		}
		if s.err != nil {
			continue
		}
		var apexes []string
		for _, d := range ds {
			keep[d.Name] = true
			store := z.stores[d.Name]
			if store == nil {
				store = inmemory.New(inmemory.Domain(d.Spec.Domain))
				z.stores[d.Name] = store
			}
			geo, err := geoTable(d)
			if err != nil {
				s.err = err
				continue
			}
			ttl := ttlOf(d)
			if err := s.srv.SetZone(builtin.Zone{Name: d.Spec.Domain, Store: store, Geo: geo,
				NegativeTTL: uint32(ttl)}); err != nil { //nolint:gosec // the CRD bounds the TTL to a day
				s.err = err
				continue
			}
			apexes = append(apexes, d.Spec.Domain)
			if err := store.Replace(zoneRecords(d, services.Items, ingresses.Items)); err != nil {
				return fmt.Errorf("building zone %s of FederatedDomain %s: %w", d.Spec.Domain, d.Name, err)
			}
		}
		for _, old := range s.zones {
			if !slices.Contains(apexes, old) {
				s.srv.RemoveZone(old)
			}
		}
		s.zones = apexes
	}
	for name := range z.stores {
		if !keep[name] {
			delete(z.stores, name)
		}
	}
	return nil
}

func (z *builtinZones) stopAll(ctx context.Context) {
	z.mu.Lock()
	defer z.mu.Unlock()
	for listen, s := range z.servers {
		if s.err == nil {
			_ = s.srv.Shutdown(context.WithoutCancel(ctx))
		}
		delete(z.servers, listen)
	}
}

func geoTable(d *v1alpha1.FederatedDomain) (*builtin.GeoTable, error) {
	geo := d.Spec.Provider.Builtin.Geo
	if len(geo) == 0 {
		return nil, nil
	}
	regions := make([]builtin.GeoRegion, len(geo))
	for i, g := range geo {
		regions[i] = builtin.GeoRegion{Region: g.Region, CIDRs: g.CIDRs}
	}
	t, err := builtin.NewGeoTable(regions)
	if err != nil {
		return nil, fmt.Errorf("spec.provider.builtin.geo: %w", err)
	}
	return t, nil
}

// zoneRecords are the records of a builtin domain: the names the FederatedServices' status.dns
// and the record sets the FederatedIngresses' status.dns say are published in it. A name is
// one object's: an Ingress host that a Service or an Ingress first in ingressOrder already holds
// is left out (the global-address controller reports it as a RecordConflict).
func zoneRecords(d *v1alpha1.FederatedDomain, services []v1alpha1.FederatedService, ingresses []v1alpha1.FederatedIngress) []*kdns.Endpoint {
	z := zoneBuild{domain: d.Spec.Domain, seen: map[kdns.Key]bool{}, held: map[string]bool{}}
	for i := range services {
		fs := &services[i]
		st := fs.Status.DNS
		if st == nil || st.Domain != d.Spec.Domain || !fs.DeletionTimestamp.IsZero() {
			continue
		}
		ttl := ttlOf(d)
		if fs.Spec.DNS != nil && fs.Spec.DNS.TTL != nil {
			ttl = *fs.Spec.DNS.TTL
		}
		names := make([]*kdns.Endpoint, 0, len(st.Names))
		for _, n := range st.Names {
			names = append(names, &kdns.Endpoint{DNSName: strings.ToLower(n.Name), RecordType: string(n.Type), Targets: slices.Clone(n.Targets), TTL: ttl})
		}
		z.add(names)
	}
	ingresses = slices.Clone(ingresses)
	slices.SortFunc(ingresses, ingressOrder)
	for i := range ingresses {
		ing := &ingresses[i]
		st := ing.Status.DNS
		if st == nil || st.Domain != d.Spec.Domain || !ing.DeletionTimestamp.IsZero() {
			continue
		}
		ttl := ttlOf(d)
		if glb := ing.Spec.GlobalLoadBalancer; glb != nil && glb.TTL != nil {
			ttl = *glb.TTL
		}
		sets := make([]*kdns.Endpoint, 0, len(st.RecordSets))
		for _, rs := range st.RecordSets {
			e := &kdns.Endpoint{DNSName: strings.ToLower(rs.Name), RecordType: string(rs.Type), Targets: slices.Clone(rs.Targets), TTL: ttl,
				SetIdentifier: rs.SetIdentifier}
			if rs.Policy != "" {
				e.Routing = &kdns.Routing{Policy: rs.Policy, Weight: rs.Weight, Primary: rs.Primary, Region: rs.Region}
			}
			sets = append(sets, e)
		}
		z.add(sets)
	}
	return z.out
}

// zoneBuild gathers the records of one builtin zone, one owner per name.
type zoneBuild struct {
	domain string
	out    []*kdns.Endpoint
	seen   map[kdns.Key]bool
	held   map[string]bool // names
}

// add takes one owner's records: those in the zone, not given twice; none of them when one of
// their names is another owner's already.
func (z *zoneBuild) add(eps []*kdns.Endpoint) {
	mine := make([]*kdns.Endpoint, 0, len(eps))
	for _, e := range eps {
		if len(e.Targets) == 0 || (!strings.HasSuffix(e.DNSName, "."+z.domain) && e.DNSName != z.domain) || z.seen[e.Key()] {
			continue
		}
		if z.held[e.DNSName] {
			return
		}
		mine = append(mine, e)
	}
	for _, e := range mine {
		z.seen[e.Key()], z.held[e.DNSName] = true, true
		z.out = append(z.out, e)
	}
}

// ingressOrder is which of two FederatedIngresses asking for one host gets it: the older, then
// the first by namespace and name.
func ingressOrder(a, b v1alpha1.FederatedIngress) int {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
}
