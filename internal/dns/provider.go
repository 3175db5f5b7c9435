// Package dns plans and publishes the DNS records of federated Services and Ingresses. The
// planner and the diff are pure functions; a Provider is the one thing that talks to a DNS
// server. The shape follows external-dns: records as Endpoints, a plan of Changes, a Provider
// with Records and ApplyChanges, and ownership as a decorator around any Provider.
package dns

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Record types kfed publishes.
const (
	RecordTypeA     = "A"
	RecordTypeAAAA  = "AAAA"
	RecordTypeCNAME = "CNAME"
	RecordTypeTXT   = "TXT"
)

// Endpoint is one record set: a name, a type and its targets. DNSName is a lower-case name
// without the trailing dot. An Endpoint is identified by (DNSName, RecordType, SetIdentifier);
// SetIdentifier is empty for a plain record set and names the member cluster for a provider's
// weighted, failover or geo record sets.
type Endpoint struct {
	DNSName       string
	RecordType    string
	Targets       []string
	TTL           int64
	SetIdentifier string
	// Routing says how a resolver chooses among the record sets of one name that carry a
	// SetIdentifier (one set per cluster); nil for a plain record set, which is always answered.
	Routing *Routing
	// Labels carry what the ownership registry records with the record (owner, resource);
	// providers do not store them.
	Labels map[string]string
}

// Routing policies of a record set (Routing.Policy), the strategies of a global address.
const (
	// RoutingWeighted: a set is answered with a probability proportional to Routing.Weight;
	// weight 0 is never answered while another set has weight.
	RoutingWeighted = "Weighted"
	// RoutingFailover: the sets with Routing.Primary are answered while there is one; the others
	// only when none is.
	RoutingFailover = "Failover"
	// RoutingGeo: the sets whose Routing.Region is the client's region are answered; every set
	// when none is.
	RoutingGeo = "Geo"
)

// Routing is one record set's part in a routing policy among the sets of its name.
type Routing struct {
	// Policy is RoutingWeighted, RoutingFailover or RoutingGeo.
	Policy string
	// Weight is the set's relative weight (Weighted): the ready endpoints behind it.
	Weight int64
	// Primary marks the primary sets (Failover).
	Primary bool
	// Region is the region of the cluster behind the set (Geo; also kept for the others).
	Region string
}

// String is the Routing for messages.
func (r *Routing) String() string {
	if r == nil {
		return ""
	}
	switch r.Policy {
	case RoutingWeighted:
		return fmt.Sprintf("weighted %d", r.Weight)
	case RoutingFailover:
		if r.Primary {
			return "failover primary"
		}
		return "failover secondary"
	case RoutingGeo:
		return "geo " + r.Region
	}
	return r.Policy
}

// Keys of Endpoint.Labels: the Registry fills them in on the Endpoints it returns and reads
// LabelResource on the ones it writes; the planner sets LabelResource.
const (
	// LabelOwner is the kfed installation that owns the record (the registry's owner ID).
	LabelOwner = "owner"
	// LabelResource is the kfed object the record is for: Kind/namespace/name.
	LabelResource = "resource"
)

// Key identifies an Endpoint within a zone.
type Key struct {
	DNSName, RecordType, SetIdentifier string
}

// Key returns the Endpoint's key.
func (e *Endpoint) Key() Key {
	return Key{DNSName: e.DNSName, RecordType: e.RecordType, SetIdentifier: e.SetIdentifier}
}

// String is the Endpoint for messages: name, type and targets.
func (e *Endpoint) String() string {
	s := e.DNSName + " " + e.RecordType
	if e.SetIdentifier != "" {
		s += " [" + e.SetIdentifier + "]"
	}
	if e.Routing != nil {
		s += " (" + e.Routing.String() + ")"
	}
	return s + " " + strings.Join(e.Targets, ",")
}

// Normalize returns a copy with the name in lower case without a trailing dot and the targets
// sorted, so that two Endpoints that publish the same thing compare equal.
func (e *Endpoint) Normalize() *Endpoint {
	out := *e
	out.DNSName = strings.TrimSuffix(strings.ToLower(e.DNSName), ".")
	out.Targets = slices.Clone(e.Targets)
	if e.Routing != nil {
		r := *e.Routing
		out.Routing = &r
	}
	if e.RecordType != RecordTypeTXT {
		for i, t := range out.Targets {
			out.Targets[i] = strings.TrimSuffix(strings.ToLower(t), ".")
		}
	}
	slices.Sort(out.Targets)
	return &out
}

// Changes is what a plan asks a Provider to do. UpdateOld[i] is replaced by UpdateNew[i].
type Changes struct {
	Create    []*Endpoint
	UpdateOld []*Endpoint
	UpdateNew []*Endpoint
	Delete    []*Endpoint
}

// Empty tells whether the Changes change nothing.
func (c *Changes) Empty() bool {
	return len(c.Create) == 0 && len(c.UpdateNew) == 0 && len(c.Delete) == 0
}

// Provider reads and writes the record sets of one zone.
type Provider interface {
	// Records returns every record set in the zone that the provider can express as an Endpoint.
	Records(ctx context.Context) ([]*Endpoint, error)
	// ApplyChanges makes the zone hold the Changes, as one transaction where the server has them.
	ApplyChanges(ctx context.Context, changes *Changes) error
}

// RoutingProvider is a Provider whose zone answers routed record sets (Endpoint.Routing) as
// their policy says. A Provider that is not one answers every record set of a name together,
// so it takes no routing at all.
type RoutingProvider interface {
	Provider
	// PrepareEndpoints returns the Endpoints as Records will read them back once written (weights
	// scaled into the provider's range, fields it does not keep cleared), so that a zone written
	// from them plans no change; an *UnsupportedError when it cannot answer them as their
	// routing says.
	PrepareEndpoints(eps []*Endpoint) ([]*Endpoint, error)
}

// UnsupportedError says why a provider cannot answer record sets as their routing says.
type UnsupportedError struct {
	// Reason is a sentence naming what the provider lacks.
	Reason string
}

func (e *UnsupportedError) Error() string { return e.Reason }

// PrepareEndpoints returns eps as provider p will hold them (RoutingProvider.PrepareEndpoints),
// or an *UnsupportedError when p takes no routing and a set carries some.
func PrepareEndpoints(p Provider, eps []*Endpoint) ([]*Endpoint, error) {
	if rp, ok := p.(RoutingProvider); ok {
		return rp.PrepareEndpoints(eps)
	}
	for _, e := range eps {
		if e.Routing != nil {
			return nil, &UnsupportedError{Reason: fmt.Sprintf("it answers every record set of a name together and has no %s routing (%s)",
				strings.ToLower(e.Routing.Policy), e)}
		}
	}
	return eps, nil
}
