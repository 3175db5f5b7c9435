package dns

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// StrategyRoundRobin is the strategy of a global address that answers with every healthy
// cluster; the other strategies are the routing policies RoutingWeighted, RoutingFailover and
// RoutingGeo.
const StrategyRoundRobin = "RoundRobin"

// Set identifiers of the two record sets of a Failover global address.
const (
	SetPrimary   = "primary"
	SetSecondary = "secondary"
)

// Reasons of an Omission of a global address, beside the address reasons of PlanService
// (OmitNotAnAddress, OmitBadHostname, OmitCNAMEHoldsOne, OmitHostnameWithAddrs).
const (
	// OmitClusterNotReady: the cluster is not Ready.
	OmitClusterNotReady = "ClusterNotReady"
	// OmitNoLoadBalancerAddress: the member Ingress has no load-balancer address (or none that parses).
	OmitNoLoadBalancerAddress = "NoLoadBalancerAddress"
	// OmitNoReadyEndpoints: the backend Service has no ready endpoint in the cluster.
	OmitNoReadyEndpoints = "NoReadyEndpoints"
	// OmitDraining: the cluster is draining (a NoExecute taint): out of the answers before its
	// replicas move away.
	OmitDraining = "Draining"
	// OmitStandby: a healthy cluster outside the primary region of a Failover address while a
	// primary cluster is healthy: published in the secondary set, not answered.
	OmitStandby = "Standby"

	kindFederatedIngress = "FederatedIngress"
)

// IngressCluster is what the planner needs of one member cluster the Ingress is placed on.
type IngressCluster struct {
	// Cluster is the FederatedCluster's name.
	Cluster string
	// Region of the cluster; empty when unknown.
	Region string
	// Ready is the cluster's verdict.
	Ready bool
	// Draining: its replicas are about to move away (a NoExecute taint), so it leaves the answers now.
	Draining bool
	// IPs and Hostnames are the member Ingress's load-balancer ingress.
	IPs       []string
	Hostnames []string
	// ReadyEndpoints counts the ready endpoints of the Ingress's backend Service in the cluster.
	ReadyEndpoints int64
}

// IngressInput is everything the records of one federated Ingress's global address depend on.
type IngressInput struct {
	// Name and Namespace of the FederatedIngress.
	Name, Namespace string
	// Host is the global address's name; it must be Domain or below it.
	Host string
	// Domain of the FederatedDomain.
	Domain string
	// TTL of every record, in seconds.
	TTL int64
	// Strategy is StrategyRoundRobin, RoutingWeighted, RoutingFailover or RoutingGeo.
	Strategy string
	// PrimaryRegion is the region whose clusters answer first (Failover).
	PrimaryRegion string
	// Clusters the Ingress is placed on.
	Clusters []IngressCluster
}

// IngressAddress is one address the global address answers now, and the clusters behind it.
type IngressAddress struct {
	// IP or Hostname: exactly one is set.
	IP, Hostname string
	// Clusters sorted by name.
	Clusters []string
}

// IngressPlan is the records of one federated Ingress's global address.
type IngressPlan struct {
	// Endpoints sorted by name, type and set identifier.
	Endpoints []*Endpoint
	// Addresses a client reaches now (status.addresses): the IPs in address order, then the hostnames.
	Addresses []IngressAddress
	// Omitted clusters and targets, sorted: every placed cluster that is not behind an address,
	// with why, and every target left out of the records.
	Omitted []Omission
}

// healthyCluster is a cluster that counts, with its published targets.
type healthyCluster struct {
	name, region string
	weight       int64
	v4, v6       []string
	hosts        []string
}

// group is the clusters behind one record set identifier.
type group struct {
	id       string
	routing  *Routing
	clusters []*healthyCluster
}

// PlanIngress returns the records of a federated Ingress's global address (spec.globalLoadBalancer,
// mode DNS), the addresses it answers now and the clusters and targets left out.
//
// A cluster counts when it is Ready and not draining, its member Ingress has a load-balancer
// address and the backend Service has at least one ready endpoint there. When none counts the plan holds no
// record and the host answers NXDOMAIN. The strategies:
//
//   - RoundRobin: one plain record set of every healthy cluster's addresses.
//   - Weighted: one record set per healthy cluster (SetIdentifier the cluster's name) with Routing
//     Weighted, the weight being the ready endpoints there: a DNS answer holds one cluster, picked
//     with a probability proportional to the replicas that actually run.
//   - Geo: one record set per region of the healthy clusters (SetIdentifier the region) with
//     Routing Geo: a client gets the clusters of its region, else every cluster.
//   - Failover: at most two record sets, SetPrimary (Routing Failover, Primary) holding the healthy
//     clusters of PrimaryRegion and SetSecondary holding every other healthy cluster. The planner
//     decides the failover itself — the primary set exists only while a primary cluster is healthy
//     — so a provider that knows nothing of kfed's health (Route 53 without health checks answers
//     its PRIMARY record while it exists; Route 53 and Cloud DNS take one primary and one
//     secondary per name) answers right, and the builtin server, which answers the primary set
//     while there is one, does too. The secondary set is published while the primaries are
//     healthy so that a failover is one deletion; its clusters are Omitted as Standby.
//
// Addresses (IPv4 as A, IPv6 as AAAA; IPv4-mapped IPv6 is IPv4) are published as they are; a
// load-balancer hostname is a CNAME, as PlanService does: only when no healthy cluster has an
// address (a CNAME cannot share its name), and a set holds the hostname of its first cluster by name.
//
// Bad input (a host that is not a DNS name in the domain, a TTL below 1, an unknown strategy, a
// Failover without a primary region) is an error naming the FederatedIngress.
func PlanIngress(in IngressInput) (*IngressPlan, error) {
	if err := validateIngressInput(in); err != nil {
		return nil, err
	}
	plan := &IngressPlan{}
	host := strings.ToLower(in.Host)
	clusters := slices.Clone(in.Clusters)
	slices.SortFunc(clusters, func(a, b IngressCluster) int { return strings.Compare(a.Cluster, b.Cluster) })

	var healthy []*healthyCluster
	for _, c := range clusters {
		v4, v6, hosts, bad := classifyTargets(c.IPs, c.Hostnames)
		for _, b := range bad {
			plan.omit(host, c.Cluster, b.target, b.reason)
		}
		switch {
		case !c.Ready:
			plan.omit(host, c.Cluster, "", OmitClusterNotReady)
		case c.Draining:
			plan.omit(host, c.Cluster, "", OmitDraining)
		case len(v4)+len(v6)+len(hosts) == 0:
			plan.omit(host, c.Cluster, "", OmitNoLoadBalancerAddress)
		case c.ReadyEndpoints < 1:
			plan.omit(host, c.Cluster, "", OmitNoReadyEndpoints)
		default:
			healthy = append(healthy, &healthyCluster{name: c.Cluster, region: c.Region, weight: c.ReadyEndpoints, v4: v4, v6: v6, hosts: hosts})
		}
	}
	// A CNAME cannot share its name: with an address anywhere, the hostnames stay out.
	cname := !slices.ContainsFunc(healthy, func(h *healthyCluster) bool { return len(h.v4)+len(h.v6) > 0 })
	published := healthy[:0]
	for _, h := range healthy {
		if !cname {
			for _, t := range h.hosts {
				plan.omit(host, h.name, t, OmitHostnameWithAddrs)
			}
			h.hosts = nil
			if len(h.v4)+len(h.v6) == 0 {
				continue
			}
		}
		published = append(published, h)
	}
	if len(published) == 0 {
		plan.sort()
		return plan, nil
	}

	groups := groupsOf(in.Strategy, in.PrimaryRegion, published)
	labels := func() map[string]string {
		return map[string]string{LabelResource: ResourceOf(kindFederatedIngress, in.Namespace, in.Name)}
	}
	for i, g := range groups {
		// Failover answers its first group (the primary while there is one); the others answer all.
		reached := in.Strategy != RoutingFailover || i == 0
		var v4, v6 []string
		var hostOf []hostTarget
		for _, c := range g.clusters {
			v4, v6 = append(v4, c.v4...), append(v6, c.v6...)
			for _, t := range c.hosts {
				hostOf = append(hostOf, hostTarget{cluster: c.name, host: t})
			}
			if !reached {
				plan.omit(host, c.name, "", OmitStandby)
			}
		}
		newEndpoint := func(typ string, targets []string) *Endpoint {
			e := &Endpoint{DNSName: host, RecordType: typ, Targets: targets, TTL: in.TTL, SetIdentifier: g.id, Labels: labels()}
			if g.routing != nil {
				r := *g.routing
				e.Routing = &r
			}
			return e
		}
		if v4 = uniqueSorted(v4); len(v4) > 0 {
			plan.Endpoints = append(plan.Endpoints, newEndpoint(RecordTypeA, v4))
		}
		if v6 = uniqueSorted(v6); len(v6) > 0 {
			plan.Endpoints = append(plan.Endpoints, newEndpoint(RecordTypeAAAA, v6))
		}
		if hosts := uniqueHosts(hostOf); len(hosts) > 0 {
			plan.Endpoints = append(plan.Endpoints, newEndpoint(RecordTypeCNAME, []string{hosts[0].host}))
			for _, h := range hosts[1:] {
				plan.omit(host, h.cluster, h.host, OmitCNAMEHoldsOne)
			}
			hostOf = hosts[:1]
		}
		if reached {
			plan.addAddresses(g.clusters, hostOf)
		}
	}
	plan.sort()
	return plan, nil
}

// groupsOf splits the published clusters (sorted by name) into record sets by strategy.
// Failover's first group is the one answered.
func groupsOf(strategy, primaryRegion string, clusters []*healthyCluster) []group {
	switch strategy {
	case RoutingWeighted:
		out := make([]group, 0, len(clusters))
		for _, c := range clusters {
			r := &Routing{Policy: strategy, Region: c.region, Weight: c.weight}
			out = append(out, group{id: c.name, routing: r, clusters: []*healthyCluster{c}})
		}
		return out
	case RoutingGeo:
		// One set per region: the answer to a client is every cluster of its region, and Route 53
		// latency records and Cloud DNS geo items take one set per region. A cluster of no known
		// region is a set of its own (SetIdentifier its name) that no client's region selects.
		var out []group
		byID := map[string]int{}
		for _, c := range clusters {
			id := strings.ToLower(c.region)
			if id == "" {
				id = c.name
			}
			i, ok := byID[id]
			if !ok {
				i, byID[id] = len(out), len(out)
				out = append(out, group{id: id, routing: &Routing{Policy: strategy, Region: c.region}})
			}
			out[i].clusters = append(out[i].clusters, c)
		}
		slices.SortFunc(out, func(a, b group) int { return strings.Compare(a.id, b.id) })
		return out
	case RoutingFailover:
		primary := group{id: SetPrimary, routing: &Routing{Policy: RoutingFailover, Primary: true, Region: primaryRegion}}
		secondary := group{id: SetSecondary, routing: &Routing{Policy: RoutingFailover}}
		for _, c := range clusters {
			if strings.EqualFold(c.region, primaryRegion) {
				primary.clusters = append(primary.clusters, c)
			} else {
				secondary.clusters = append(secondary.clusters, c)
			}
		}
		var out []group
		for _, g := range []group{primary, secondary} {
			if len(g.clusters) > 0 {
				out = append(out, g)
			}
		}
		return out
	default:
		return []group{{clusters: clusters}}
	}
}

// addAddresses records the addresses of clusters (and the hostname the set publishes, if any).
func (p *IngressPlan) addAddresses(clusters []*healthyCluster, hosts []hostTarget) {
	add := func(ip, hostname, cluster string) {
		for i := range p.Addresses {
			a := &p.Addresses[i]
			if a.IP == ip && a.Hostname == hostname {
				if !slices.Contains(a.Clusters, cluster) {
					a.Clusters = append(a.Clusters, cluster)
				}
				return
			}
		}
		p.Addresses = append(p.Addresses, IngressAddress{IP: ip, Hostname: hostname, Clusters: []string{cluster}})
	}
	for _, c := range clusters {
		for _, ip := range slices.Concat(c.v4, c.v6) {
			add(ip, "", c.name)
		}
	}
	for _, h := range hosts {
		// Every cluster of the set that has this hostname is behind it.
		for _, c := range clusters {
			if slices.Contains(c.hosts, h.host) {
				add("", h.host, c.name)
			}
		}
	}
}

func (p *IngressPlan) omit(name, cluster, target, reason string) {
	p.Omitted = append(p.Omitted, Omission{Name: name, Cluster: cluster, Target: target, Reason: reason})
}

func (p *IngressPlan) sort() {
	slices.SortFunc(p.Endpoints, compareEndpoints)
	for i := range p.Addresses {
		slices.Sort(p.Addresses[i].Clusters)
	}
	slices.SortFunc(p.Addresses, compareAddresses)
	slices.SortFunc(p.Omitted, func(a, b Omission) int {
		return strings.Compare(a.Name+"\x00"+a.Cluster+"\x00"+a.Target+"\x00"+a.Reason, b.Name+"\x00"+b.Cluster+"\x00"+b.Target+"\x00"+b.Reason)
	})
	p.Omitted = slices.Compact(p.Omitted)
}

// compareAddresses orders IPs by address (IPv4 before IPv6), then hostnames by name.
func compareAddresses(a, b IngressAddress) int {
	switch {
	case a.IP != "" && b.IP != "":
		return netip.MustParseAddr(a.IP).Compare(netip.MustParseAddr(b.IP))
	case a.IP != "":
		return -1
	case b.IP != "":
		return 1
	}
	return strings.Compare(a.Hostname, b.Hostname)
}

// badTarget is a load-balancer target that is neither an address nor a DNS name.
type badTarget struct{ target, reason string }

// classifyTargets splits load-balancer ingress into IPv4 and IPv6 addresses (canonical form,
// IPv4-mapped IPv6 as IPv4) and lower-case hostnames without the trailing dot, and returns what
// is neither.
func classifyTargets(ips, hostnames []string) (v4, v6, hosts []string, bad []badTarget) {
	for _, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			bad = append(bad, badTarget{s, OmitNotAnAddress})
			continue
		}
		a = a.Unmap()
		if a.Is4() {
			v4 = append(v4, a.String())
		} else {
			v6 = append(v6, a.String())
		}
	}
	for _, h := range hostnames {
		h = strings.TrimSuffix(strings.ToLower(h), ".")
		if !isName(h) {
			bad = append(bad, badTarget{h, OmitBadHostname})
			continue
		}
		hosts = append(hosts, h)
	}
	return v4, v6, hosts, bad
}

func validateIngressInput(in IngressInput) error {
	var errs []error
	host := strings.ToLower(in.Host)
	switch {
	case !isName(host):
		errs = append(errs, fmt.Errorf("host %q is not a DNS name", in.Host))
	case !isName(in.Domain):
		errs = append(errs, fmt.Errorf("domain %q is not a DNS name", in.Domain))
	case host != in.Domain && !strings.HasSuffix(host, "."+in.Domain):
		errs = append(errs, fmt.Errorf("host %q is not in the domain %s", in.Host, in.Domain))
	}
	if in.TTL < 1 {
		errs = append(errs, fmt.Errorf("TTL %d is below 1 second", in.TTL))
	}
	switch in.Strategy {
	case StrategyRoundRobin, RoutingWeighted, RoutingGeo:
	case RoutingFailover:
		if in.PrimaryRegion == "" {
			errs = append(errs, errors.New("strategy Failover needs a primary region"))
		}
	default:
		errs = append(errs, fmt.Errorf("strategy %q is not one of %s, %s, %s, %s", in.Strategy, StrategyRoundRobin, RoutingWeighted, RoutingFailover, RoutingGeo))
	}
	if len(errs) > 0 {
		return fmt.Errorf("planning the global address of %s %s/%s: %w", kindFederatedIngress, in.Namespace, in.Name, errors.Join(errs...))
	}
	return nil
}
