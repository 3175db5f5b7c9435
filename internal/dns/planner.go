package dns

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ServiceTarget is what the planner needs of one member cluster the Service is placed on.
type ServiceTarget struct {
	// Cluster is the FederatedCluster's name.
	Cluster string
	// Region and Zone of the cluster; empty when unknown, and then the cluster has no name at
	// that level. A cluster in several zones is given under its first zone, as in federation v1.
	Region, Zone string
	// IPs and Hostnames are the member Service's load-balancer ingress.
	IPs       []string
	Hostnames []string
	// Healthy says the cluster counts for the Service: it is Ready, its Service has a
	// load-balancer address and at least one ready endpoint.
	Healthy bool
}

// ServiceInput is everything the record plan of one federated Service depends on.
type ServiceInput struct {
	// Name and Namespace of the FederatedService.
	Name, Namespace string
	// FederationName and Domain of the FederatedDomain.
	FederationName, Domain string
	// TTL of every record, in seconds.
	TTL int64
	// Targets are the clusters the Service is placed on.
	Targets []ServiceTarget
}

// Omission is a target the plan leaves out of a name, and why, for the status to report.
type Omission struct {
	Name, Cluster, Target, Reason string
}

// ServicePlan is the records of one federated Service.
type ServicePlan struct {
	// Endpoints sorted by name then type.
	Endpoints []*Endpoint
	// Omitted targets, sorted; empty when every healthy target is in every name it belongs to.
	Omitted []Omission
}

// Reasons of an Omission.
const (
	// OmitNotAnAddress: a load-balancer IP that does not parse.
	OmitNotAnAddress = "NotAnAddress"
	// OmitBadHostname: a load-balancer hostname that is not a DNS name.
	OmitBadHostname = "NotAHostname"
	// OmitCNAMEHoldsOne: a hostname left out because the name's CNAME holds another cluster's.
	OmitCNAMEHoldsOne = "CNAMEHoldsOneTarget"
	// OmitHostnameWithAddrs: a hostname left out because the name holds addresses.
	OmitHostnameWithAddrs = "HostnameBesideAddresses"
	// OmitBadRegionOrZone: a cluster's region or zone is not a DNS label, so it has no name there.
	OmitBadRegionOrZone = "RegionOrZoneNotALabel"
	// OmitNameTooLong: a region or zone that makes the name longer than 253 characters.
	OmitNameTooLong = "NameTooLong"

	dnsLabelMaxLength      = 63
	dnsNameMaxLength       = 253
	kindFederatedService   = "FederatedService"
	resourceSeparator      = "/"
	federationServiceLabel = "svc"
)

// ServiceNames are the three names of a Service at a cluster's place.
type ServiceNames struct {
	Global, Region, Zone string
}

// Names returns the federation v1 names of a Service: global <svc>.<ns>.<fed>.svc.<domain>,
// region <svc>.<ns>.<fed>.svc.<region>.<domain> and zone <svc>.<ns>.<fed>.svc.<zone>.<region>.<domain>.
// Region and Zone are empty when region (zone) is.
func Names(svc, ns, federation, domain, region, zone string) ServiceNames {
	prefix := strings.Join([]string{svc, ns, federation, federationServiceLabel}, ".")
	n := ServiceNames{Global: prefix + "." + domain}
	if region != "" {
		n.Region = prefix + "." + region + "." + domain
		if zone != "" {
			n.Zone = prefix + "." + zone + "." + region + "." + domain
		}
	}
	return n
}

// ResourceOf is the kfed/resource an Endpoint of a FederatedService carries: Kind/namespace/name.
func ResourceOf(kind, namespace, name string) string {
	return kind + resourceSeparator + namespace + resourceSeparator + name
}

// level gathers the targets of one name.
type level struct {
	name     string
	fallback string // the CNAME target when nothing here is healthy; empty for global
	v4, v6   []string
	hosts    []hostTarget
}

type hostTarget struct{ cluster, host string }

// PlanService returns the records of one federated Service, following federation v1 with
// health-gated fallback:
//
//   - global: A/AAAA of every healthy cluster;
//   - region: A/AAAA of the healthy clusters of the region, else a CNAME to the global name;
//   - zone: A/AAAA of the healthy clusters of the zone, else a CNAME to the region name.
//
// When no cluster is healthy the plan holds no record at all, and every name of the Service
// answers NXDOMAIN. Federation v1 kept the region and zone CNAMEs pointing at a global name
// that did not exist: a resolver followed the chain to NXDOMAIN anyway, so the CNAMEs only
// hid the truth behind two more cached records. No records says plainly "nowhere now"; the
// negative answer is cached for the zone's SOA minimum, which kfed's servers set to the TTL.
//
// A load-balancer hostname is published as a CNAME where the name has that one target. A
// CNAME cannot share its name with other records nor hold several targets, so where a name
// has addresses too, the hostnames are left out (the addresses are published); where it has
// several hostnames and no address, the hostname of the first cluster by name is published and
// the others are left out. Every target left out is in Omitted, for the status to report.
//
// Bad input (a Service name, namespace, federation or domain that does not make a DNS name, a
// TTL below 1) is an error. A cluster's region or zone that is not a DNS label, an address
// that is not an IP and a hostname that is not a DNS name leave that part out and are
// reported in Omitted; the rest of the plan stands.
func PlanService(in ServiceInput) (*ServicePlan, error) {
	if err := validateInput(in); err != nil {
		return nil, err
	}
	resource := ResourceOf(kindFederatedService, in.Namespace, in.Name)
	plan := &ServicePlan{}

	targets := slices.Clone(in.Targets)
	slices.SortFunc(targets, func(a, b ServiceTarget) int { return strings.Compare(a.Cluster, b.Cluster) })

	global := Names(in.Name, in.Namespace, in.FederationName, in.Domain, "", "").Global
	levels := map[string]*level{global: {name: global}}
	order := []string{global}
	get := func(name, fallback string) *level {
		if l, ok := levels[name]; ok {
			return l
		}
		l := &level{name: name, fallback: fallback}
		levels[name] = l
		order = append(order, name)
		return l
	}
	anyHealthy := false
	for _, t := range targets {
		region, zone := strings.ToLower(t.Region), strings.ToLower(t.Zone)
		if region != "" && !isLabel(region) {
			plan.omit(global, t.Cluster, region, OmitBadRegionOrZone)
			region, zone = "", ""
		}
		if zone != "" && !isLabel(zone) {
			plan.omit(global, t.Cluster, zone, OmitBadRegionOrZone)
			zone = ""
		}
		names := Names(in.Name, in.Namespace, in.FederationName, in.Domain, region, zone)
		if len(names.Region) > dnsNameMaxLength {
			plan.omit(names.Region, t.Cluster, region, OmitNameTooLong)
			names.Region, names.Zone = "", ""
		}
		if len(names.Zone) > dnsNameMaxLength {
			plan.omit(names.Zone, t.Cluster, zone, OmitNameTooLong)
			names.Zone = ""
		}
		at := []*level{levels[global]}
		if names.Region != "" {
			at = append(at, get(names.Region, global))
		}
		if names.Zone != "" {
			at = append(at, get(names.Zone, names.Region))
		}
		if !t.Healthy {
			continue
		}
		v4, v6, hosts := plan.classify(global, t)
		if len(v4)+len(v6)+len(hosts) > 0 {
			anyHealthy = true
		}
		for _, l := range at {
			l.v4 = append(l.v4, v4...)
			l.v6 = append(l.v6, v6...)
			for _, h := range hosts {
				l.hosts = append(l.hosts, hostTarget{cluster: t.Cluster, host: h})
			}
		}
	}
	if !anyHealthy {
		plan.sort()
		return plan, nil
	}
	for _, name := range order {
		plan.Endpoints = append(plan.Endpoints, plan.records(levels[name], in.TTL, resource)...)
	}
	plan.sort()
	return plan, nil
}

// classify splits a target's ingress into IPv4, IPv6 addresses and hostnames, reporting what is neither.
func (p *ServicePlan) classify(global string, t ServiceTarget) (v4, v6, hosts []string) {
	v4, v6, hosts, bad := classifyTargets(t.IPs, t.Hostnames)
	for _, b := range bad {
		p.omit(global, t.Cluster, b.target, b.reason)
	}
	return v4, v6, hosts
}

// records returns the record sets of one name.
func (p *ServicePlan) records(l *level, ttl int64, resource string) []*Endpoint {
	labels := func() map[string]string { return map[string]string{LabelResource: resource} }
	v4, v6 := uniqueSorted(l.v4), uniqueSorted(l.v6)
	var out []*Endpoint
	if len(v4) > 0 {
		out = append(out, &Endpoint{DNSName: l.name, RecordType: RecordTypeA, Targets: v4, TTL: ttl, Labels: labels()})
	}
	if len(v6) > 0 {
		out = append(out, &Endpoint{DNSName: l.name, RecordType: RecordTypeAAAA, Targets: v6, TTL: ttl, Labels: labels()})
	}
	hosts := uniqueHosts(l.hosts)
	switch {
	case len(out) > 0:
		for _, h := range hosts {
			p.omit(l.name, h.cluster, h.host, OmitHostnameWithAddrs)
		}
	case len(hosts) > 0:
		out = append(out, &Endpoint{DNSName: l.name, RecordType: RecordTypeCNAME, Targets: []string{hosts[0].host}, TTL: ttl, Labels: labels()})
		for _, h := range hosts[1:] {
			p.omit(l.name, h.cluster, h.host, OmitCNAMEHoldsOne)
		}
	case l.fallback != "":
		out = append(out, &Endpoint{DNSName: l.name, RecordType: RecordTypeCNAME, Targets: []string{l.fallback}, TTL: ttl, Labels: labels()})
	}
	return out
}

func (p *ServicePlan) omit(name, cluster, target, reason string) {
	p.Omitted = append(p.Omitted, Omission{Name: name, Cluster: cluster, Target: target, Reason: reason})
}

func (p *ServicePlan) sort() {
	slices.SortFunc(p.Endpoints, compareEndpoints)
	slices.SortFunc(p.Omitted, func(a, b Omission) int {
		return strings.Compare(a.Name+"\x00"+a.Cluster+"\x00"+a.Target, b.Name+"\x00"+b.Cluster+"\x00"+b.Target)
	})
	p.Omitted = slices.Compact(p.Omitted)
}

// uniqueHosts keeps the first cluster of every hostname, in cluster order.
func uniqueHosts(hosts []hostTarget) []hostTarget {
	seen := map[string]bool{}
	var out []hostTarget
	for _, h := range hosts {
		if !seen[h.host] {
			seen[h.host] = true
			out = append(out, h)
		}
	}
	return out
}

func uniqueSorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func validateInput(in ServiceInput) error {
	var errs []error
	for _, f := range []struct{ field, value string }{
		{"service name", in.Name}, {"namespace", in.Namespace}, {"federation name", in.FederationName},
	} {
		if !isLabel(f.value) {
			errs = append(errs, fmt.Errorf("%s %q is not a DNS label", f.field, f.value))
		}
	}
	if !isName(in.Domain) {
		errs = append(errs, fmt.Errorf("domain %q is not a DNS name", in.Domain))
	}
	if in.TTL < 1 {
		errs = append(errs, fmt.Errorf("TTL %d is below 1 second", in.TTL))
	}
	if len(errs) > 0 {
		return fmt.Errorf("planning the DNS records of %s %s/%s: %w", kindFederatedService, in.Namespace, in.Name, errors.Join(errs...))
	}
	// A region or zone that makes its name too long is left out per cluster; the global name
	// must fit.
	if g := Names(in.Name, in.Namespace, in.FederationName, in.Domain, "", "").Global; len(g) > dnsNameMaxLength {
		return fmt.Errorf("planning the DNS records of %s %s/%s: the name %s is longer than %d characters",
			kindFederatedService, in.Namespace, in.Name, g, dnsNameMaxLength)
	}
	return nil
}

// isLabel tells whether s is a lower-case DNS label (RFC 1123).
func isLabel(s string) bool {
	if s == "" || len(s) > dnsLabelMaxLength || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// isName tells whether s is a lower-case DNS name of labels, without a trailing dot.
func isName(s string) bool {
	if s == "" || len(s) > dnsNameMaxLength {
		return false
	}
	for l := range strings.SplitSeq(s, ".") {
		if !isLabel(l) {
			return false
		}
	}
	return true
}

func compareEndpoints(a, b *Endpoint) int {
	if c := strings.Compare(a.DNSName, b.DNSName); c != 0 {
		return c
	}
	if c := strings.Compare(a.RecordType, b.RecordType); c != 0 {
		return c
	}
	return strings.Compare(a.SetIdentifier, b.SetIdentifier)
}
