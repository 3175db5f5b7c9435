package dns

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Heritage is what kfed's ownership records say they come from. It is kfed's own, so that kfed
// and an external-dns writing to the same zone never take each other's records for theirs.
const Heritage = "kfed"

// ownershipPrefix starts the first label of every ownership TXT name.
const ownershipPrefix = "kfed-"

// ConflictError is a change the Registry refused: the record exists and kfed does not own it,
// or another kfed installation does.
type ConflictError struct {
	// Record is the record set refused: name and type (and set identifier).
	Record string
	// Heritage of the record's ownership record; empty when it has none.
	Heritage string
	// Owner of the record; empty when it has no ownership record.
	Owner string
	// Resource the owner wrote the record for, when it says.
	Resource string
}

func (e *ConflictError) Error() string {
	switch {
	case e.Heritage == "":
		return fmt.Sprintf("record %s exists and has no ownership record: kfed does not touch it", e.Record)
	case e.Resource != "":
		return fmt.Sprintf("record %s is owned by %s owner %q (%s)", e.Record, e.Heritage, e.Owner, e.Resource)
	default:
		return fmt.Sprintf("record %s is owned by %s owner %q", e.Record, e.Heritage, e.Owner)
	}
}

// Conflicts returns every ConflictError in err (as ApplyChanges joins them).
func Conflicts(err error) []*ConflictError {
	var out []*ConflictError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if c, ok := err.(*ConflictError); ok {
			out = append(out, c)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		walk(errors.Unwrap(err))
	}
	walk(err)
	return out
}

// Registry records who owns each record, as external-dns's TXT registry does, with kfed's own
// heritage: next to every record set it writes an ownership TXT record holding
// heritage=kfed,kfed/owner=<owner>,kfed/resource=<Kind/namespace/name>. It wraps any Provider.
//
// The ownership TXT of a record set is named after the record's name and type, so that a
// CNAME (which cannot share its name with a TXT) has one and the A and AAAA sets of one name
// each have their own: the first label gets the prefix "kfed-<type>-", e.g. the A set of
// web.shop.myfed.svc.example.com is owned by the TXT record kfed-a-web.shop.myfed.svc.example.com.
// A prefixed label longer than 63 characters is shortened with a hash of the whole label. The
// TXT sits beside the record (a sibling, not a child), so that layouts that serve a name's
// children as its records (SkyDNS in etcd) do not serve it. TXT targets are the text unquoted.
type Registry struct {
	provider Provider
	owner    string
}

// NewRegistry wraps provider; owner identifies this kfed installation (e.g. the host cluster's
// federation name) in every ownership record.
func NewRegistry(provider Provider, owner string) (*Registry, error) {
	if owner == "" || strings.ContainsAny(owner, ",=\"") {
		return nil, fmt.Errorf("the ownership registry's owner ID %q must be non-empty without ',', '=' or '\"'", owner)
	}
	return &Registry{provider: provider, owner: owner}, nil
}

// ownership is what an ownership TXT record says.
type ownership struct {
	heritage, owner, resource string
	txt                       *Endpoint
}

// OwnershipName returns the name of the ownership TXT record of the record set (name, type).
func OwnershipName(name, recordType string) string {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	first, rest, _ := strings.Cut(name, ".")
	prefix := ownershipPrefix + strings.ToLower(recordType) + "-"
	label := prefix + first
	if len(label) > dnsLabelMaxLength {
		sum := sha256.Sum256([]byte(first))
		keep := dnsLabelMaxLength - len(prefix) - 9
		label = prefix + first[:keep] + "-" + hex.EncodeToString(sum[:4])
	}
	if rest == "" {
		return label
	}
	return label + "." + rest
}

// ownershipValue is the text of the ownership record of a resource's record.
func (r *Registry) ownershipValue(resource string) string {
	return "heritage=" + Heritage + "," + Heritage + "/owner=" + r.owner + "," + Heritage + "/resource=" + resource
}

// parseOwnership reads an ownership text; ok is false when it is not one (no heritage).
func parseOwnership(text string) (o ownership, ok bool) {
	text = strings.Trim(text, "\"")
	fields := map[string]string{}
	for f := range strings.SplitSeq(text, ",") {
		k, v, found := strings.Cut(f, "=")
		if !found {
			return ownership{}, false
		}
		fields[k] = v
	}
	h := fields["heritage"]
	if h == "" {
		return ownership{}, false
	}
	return ownership{heritage: h, owner: fields[h+"/owner"], resource: fields[h+"/resource"]}, true
}

// zoneState is the zone as the registry sees it: records by key and the ownership of each.
type zoneState struct {
	records map[Key]*Endpoint
	byName  map[string][]*Endpoint
	// owners holds the parsed ownership TXT records by their key.
	owners map[Key]ownership
}

func newZoneState(all []*Endpoint) *zoneState {
	z := &zoneState{records: map[Key]*Endpoint{}, byName: map[string][]*Endpoint{}, owners: map[Key]ownership{}}
	for _, e := range all {
		n := e.Normalize()
		z.records[n.Key()] = n
		z.byName[n.DNSName] = append(z.byName[n.DNSName], n)
		if n.RecordType == RecordTypeTXT && len(n.Targets) == 1 {
			if o, ok := parseOwnership(n.Targets[0]); ok {
				o.txt = n
				z.owners[n.Key()] = o
			}
		}
	}
	return z
}

func ownershipKey(k Key) Key {
	return Key{DNSName: OwnershipName(k.DNSName, k.RecordType), RecordType: RecordTypeTXT, SetIdentifier: k.SetIdentifier}
}

// isOwnershipRecord tells whether e is one of kfed's ownership TXT records.
func (z *zoneState) isOwnershipRecord(e *Endpoint) bool {
	o, ok := z.owners[e.Key()]
	return ok && o.heritage == Heritage && strings.HasPrefix(e.DNSName, ownershipPrefix)
}

// ownerOf returns the ownership of a record set: kfed's TXT beside it, else a TXT with a
// heritage at its own name (external-dns's older layout), else none.
func (z *zoneState) ownerOf(k Key) (ownership, bool) {
	if o, ok := z.owners[ownershipKey(k)]; ok && o.heritage == Heritage {
		return o, true
	}
	for _, e := range z.byName[k.DNSName] {
		if o, ok := z.owners[e.Key()]; ok {
			return o, true
		}
	}
	return ownership{}, false
}

// RecordsFor returns the record sets this owner owns for one resource (Kind/namespace/name):
// what a plan of that resource is diffed against, so that it never deletes another's records.
func (r *Registry) RecordsFor(ctx context.Context, resource string) ([]*Endpoint, error) {
	all, err := r.Records(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, e := range all {
		if e.Labels[LabelResource] == resource {
			out = append(out, e)
		}
	}
	return out, nil
}

// Records returns the record sets this registry's owner owns, for every resource, with
// LabelOwner and LabelResource set; records of other owners, records without an ownership
// record and the ownership records themselves are left out, so a plan diffed against them
// never touches anything kfed does not own. A plan of one resource is diffed against
// RecordsFor that resource.
func (r *Registry) Records(ctx context.Context) ([]*Endpoint, error) {
	all, err := r.provider.Records(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the records to attribute them: %w", err)
	}
	z := newZoneState(all)
	var out []*Endpoint
	for _, e := range all {
		n := e.Normalize()
		if z.isOwnershipRecord(n) {
			continue
		}
		o, ok := z.ownerOf(n.Key())
		if !ok || o.heritage != Heritage || o.owner != r.owner {
			continue
		}
		n.Labels = map[string]string{LabelOwner: o.owner, LabelResource: o.resource}
		out = append(out, n)
	}
	return out, nil
}

// conflict returns the ConflictError of touching record k, or nil when this owner owns it.
// A record that does not exist is no conflict: the provider reports it.
func (r *Registry) conflict(z *zoneState, k Key) *ConflictError {
	if _, exists := z.records[k]; !exists {
		return nil
	}
	o, ok := z.ownerOf(k)
	if ok && o.heritage == Heritage && o.owner == r.owner {
		return nil
	}
	return &ConflictError{Record: keyString(k), Heritage: o.heritage, Owner: o.owner, Resource: o.resource}
}

// ApplyChanges applies the changes with their ownership records: a create writes the
// ownership TXT (or takes over a leftover one of this owner's), an update rewrites it when the
// resource changes, a delete deletes it. Every Endpoint created or updated must carry
// LabelResource.
//
// A change of a record that exists and is not this owner's is refused with a *ConflictError;
// so is a create that would put a CNAME beside another's record (or a record beside another's
// CNAME), or whose ownership TXT name is taken by another. The other changes are applied
// (in one ApplyChanges of the wrapped provider) and the conflicts returned, joined
// (see Conflicts), so one foreign record does not hold back the rest of a plan.
func (r *Registry) ApplyChanges(ctx context.Context, changes *Changes) error {
	if len(changes.UpdateOld) != len(changes.UpdateNew) {
		return fmt.Errorf("the changes hold %d old and %d new records to update", len(changes.UpdateOld), len(changes.UpdateNew))
	}
	all, err := r.provider.Records(ctx)
	if err != nil {
		return fmt.Errorf("reading the records to check their ownership: %w", err)
	}
	z := newZoneState(all)
	out := &Changes{}
	var conflicts []error
	refuse := func(c *ConflictError) bool {
		if c != nil {
			conflicts = append(conflicts, c)
			return true
		}
		return false
	}

	for _, e := range changes.Create {
		n := e.Normalize()
		resource := n.Labels[LabelResource]
		if resource == "" {
			return fmt.Errorf("creating %s: the record carries no %q label", n, LabelResource)
		}
		if refuse(r.conflict(z, n.Key())) || refuse(r.cnameConflict(z, n)) {
			continue
		}
		txt, c := r.claim(z, n.Key(), resource)
		if refuse(c) {
			continue
		}
		out.Create = append(out.Create, n)
		if txt.old == nil {
			out.Create = append(out.Create, txt.new)
		} else if txt.new != nil {
			out.UpdateOld, out.UpdateNew = append(out.UpdateOld, txt.old), append(out.UpdateNew, txt.new)
		}
	}
	for i := range changes.UpdateOld {
		old, n := changes.UpdateOld[i].Normalize(), changes.UpdateNew[i].Normalize()
		if old.Key() != n.Key() {
			return fmt.Errorf("updating %s: the new record %s has another name, type or set identifier", old, n)
		}
		resource := n.Labels[LabelResource]
		if resource == "" {
			return fmt.Errorf("updating %s: the record carries no %q label", n, LabelResource)
		}
		if refuse(r.conflict(z, n.Key())) {
			continue
		}
		out.UpdateOld, out.UpdateNew = append(out.UpdateOld, old), append(out.UpdateNew, n)
		if o, ok := z.owners[ownershipKey(n.Key())]; ok && o.resource != resource {
			out.UpdateOld = append(out.UpdateOld, o.txt)
			out.UpdateNew = append(out.UpdateNew, r.ownershipRecord(n.Key(), resource, o.txt.TTL))
		}
	}
	for _, e := range changes.Delete {
		n := e.Normalize()
		if refuse(r.conflict(z, n.Key())) {
			continue
		}
		out.Delete = append(out.Delete, n)
		if o, ok := z.owners[ownershipKey(n.Key())]; ok {
			out.Delete = append(out.Delete, o.txt)
		}
	}

	var applyErr error
	if !out.Empty() {
		if err := r.provider.ApplyChanges(ctx, out); err != nil {
			applyErr = fmt.Errorf("applying %d creates, %d updates and %d deletes with their ownership records: %w",
				len(out.Create), len(out.UpdateNew), len(out.Delete), err)
		}
	}
	return errors.Join(append([]error{applyErr}, conflicts...)...)
}

// cnameConflict refuses a create that would make a CNAME share its name with a record this
// owner does not own, or put a record beside a CNAME this owner does not own.
func (r *Registry) cnameConflict(z *zoneState, n *Endpoint) *ConflictError {
	for _, other := range z.byName[n.DNSName] {
		if other.Key() == n.Key() || z.isOwnershipRecord(other) {
			continue
		}
		if n.RecordType != RecordTypeCNAME && other.RecordType != RecordTypeCNAME {
			continue
		}
		if c := r.conflict(z, other.Key()); c != nil {
			return c
		}
	}
	return nil
}

type txtChange struct{ old, new *Endpoint }

// claim returns the ownership record change of creating record k: a new TXT, an update of a
// leftover TXT of this owner's, or nothing when the leftover says the same. Another's TXT at
// that name is a conflict.
func (r *Registry) claim(z *zoneState, k Key, resource string) (txtChange, *ConflictError) {
	tk := ownershipKey(k)
	existing, exists := z.records[tk]
	if !exists {
		return txtChange{new: r.ownershipRecord(k, resource, 0)}, nil
	}
	o, ok := z.owners[tk]
	if !ok || o.heritage != Heritage || o.owner != r.owner {
		return txtChange{}, &ConflictError{Record: keyString(tk), Heritage: o.heritage, Owner: o.owner, Resource: o.resource}
	}
	if o.resource == resource {
		return txtChange{old: existing}, nil
	}
	return txtChange{old: existing, new: r.ownershipRecord(k, resource, existing.TTL)}, nil
}

func (r *Registry) ownershipRecord(k Key, resource string, ttl int64) *Endpoint {
	if ttl == 0 {
		ttl = ownershipTTL
	}
	return &Endpoint{
		DNSName: OwnershipName(k.DNSName, k.RecordType), RecordType: RecordTypeTXT, SetIdentifier: k.SetIdentifier,
		Targets: []string{r.ownershipValue(resource)}, TTL: ttl,
	}
}

// ownershipTTL is the TTL of ownership records: nobody resolves them but kfed, which reads
// them from the provider.
const ownershipTTL = 300

// PrepareEndpoints returns eps as the registry's provider will hold them (see the function of
// the same name).
func (r *Registry) PrepareEndpoints(eps []*Endpoint) ([]*Endpoint, error) {
	return PrepareEndpoints(r.provider, eps)
}
