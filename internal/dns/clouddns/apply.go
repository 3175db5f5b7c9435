package clouddns

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	gdns "google.golang.org/api/dns/v1"
	"google.golang.org/api/googleapi"

	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/cloudapi"
)

// ApplyChanges reads the zone, applies the Changes to the Endpoints of every name and type they
// touch, and writes each touched group as one replacement (the record set and set list as read
// deleted, the new ones added) in changes.create calls within the per-change limits (1,000
// additions, 1,000 deletions, 100,000 bytes of record data); each change is all or nothing and
// ApplyChanges waits until Cloud DNS says it is done. A Create of a set that exists, an Update
// or Delete of one that does not, or a group another writer changed between the read and the
// write, is a Conflict; a group of another writer's routed record set (no set list) is left
// alone with a Conflict.
func (p *Provider) ApplyChanges(ctx context.Context, changes *kdns.Changes) error {
	if err := kdns.CheckChanges("clouddns", changes); err != nil {
		return err
	}
	if changes == nil || changes.Empty() {
		return nil
	}
	zone, err := p.zoneName(ctx)
	if err != nil {
		return err
	}
	rrs, err := p.list(ctx)
	if err != nil {
		return err
	}
	groups := readGroups(rrs)
	touched, err := p.applyToSets(zone, groups, changes)
	if err != nil {
		return err
	}
	units, err := p.replacements(groups, touched)
	if err != nil {
		return err
	}
	batches, err := pack(units)
	if err != nil {
		return err
	}
	return cloudapi.ApplyAll(ctx, batches, p.submit)
}

// applyToSets applies the Changes to the sets of the groups they touch and returns those
// groups' sets as they are to be.
func (p *Provider) applyToSets(zone string, groups map[groupKey]*group, changes *kdns.Changes) (map[groupKey]map[string]*kdns.Endpoint, error) {
	touched := map[groupKey]map[string]*kdns.Endpoint{}
	state := func(e *kdns.Endpoint) (map[string]*kdns.Endpoint, error) {
		k := groupKey{e.DNSName, e.RecordType}
		if s, ok := touched[k]; ok {
			return s, nil
		}
		name := fqdn(k.name)
		if name != zone && !strings.HasSuffix(name, "."+zone) {
			return nil, invalid("%s is outside the managed zone's %s", e, strings.TrimSuffix(zone, "."))
		}
		if !slices.Contains(recordTypes, k.typ) {
			return nil, invalid("%s: record type %q is not one of A, AAAA, CNAME, TXT", e, k.typ)
		}
		s := map[string]*kdns.Endpoint{}
		if g, ok := groups[k]; ok {
			if g.foreign {
				return nil, kdns.NewProviderError(kdns.ReasonConflict, nil,
					"%s: %s %s is a routed record set kfed did not write (it has no set list): kfed leaves it alone", p.where, k.name, k.typ)
			}
			for id, e := range g.sets {
				s[id] = e
			}
		}
		touched[k] = s
		return s, nil
	}
	conflict := func(format string, e *kdns.Endpoint) error {
		return kdns.NewProviderError(kdns.ReasonConflict, nil, "%s: "+format+" (another writer changed the records since they were read)", p.where, e)
	}
	remove := func(e *kdns.Endpoint) error {
		n := e.Normalize()
		s, err := state(n)
		if err != nil {
			return err
		}
		if _, ok := s[n.SetIdentifier]; !ok {
			return conflict("%s does not exist", n)
		}
		delete(s, n.SetIdentifier)
		return nil
	}
	put := func(e *kdns.Endpoint) error {
		n := e.Normalize()
		s, err := state(n)
		if err != nil {
			return err
		}
		if _, ok := s[n.SetIdentifier]; ok {
			return conflict("%s exists", n)
		}
		n.Labels = nil
		s[n.SetIdentifier] = n
		return nil
	}
	for _, e := range changes.Delete {
		if err := remove(e); err != nil {
			return nil, err
		}
	}
	for i := range changes.UpdateOld {
		if err := remove(changes.UpdateOld[i]); err != nil {
			return nil, err
		}
		if err := put(changes.UpdateNew[i]); err != nil {
			return nil, err
		}
	}
	for _, e := range changes.Create {
		if err := put(e); err != nil {
			return nil, err
		}
	}

	return touched, nil
}

// replacements returns the deletions and additions that make each touched group hold its sets.
func (p *Provider) replacements(groups map[groupKey]*group, touched map[groupKey]map[string]*kdns.Endpoint) ([]*replacement, error) {
	var units []*replacement
	for _, k := range slices.SortedFunc(mapKeys(touched), func(a, b groupKey) int { return strings.Compare(a.name+"\x00"+a.typ, b.name+"\x00"+b.typ) }) {
		sets := slices.SortedFunc(mapValues(touched[k]), func(a, b *kdns.Endpoint) int { return strings.Compare(a.SetIdentifier, b.SetIdentifier) })
		rrset, setList, err := buildRRSet(k, sets, p.healthCheck)
		if err != nil {
			return nil, err
		}
		u := &replacement{}
		var oldSet, oldList *gdns.ResourceRecordSet
		if g, ok := groups[k]; ok {
			oldSet, oldList = g.rrset, g.setList
		}
		u.del(oldSet, rrset)
		u.del(oldList, setList)
		u.add(rrset, oldSet)
		u.add(setList, oldList)
		if len(u.additions)+len(u.deletions) > 0 {
			units = append(units, u)
		}
	}
	return units, nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// replacement is the deletions and additions that replace one group; they travel together.
type replacement struct {
	deletions, additions []*gdns.ResourceRecordSet
}

// del deletes the old record set unless the new one is the same.
func (u *replacement) del(old, next *gdns.ResourceRecordSet) {
	if old != nil && canon(old) != canon(next) {
		u.deletions = append(u.deletions, old)
	}
}

// add adds the new record set unless the old one is the same.
func (u *replacement) add(next, old *gdns.ResourceRecordSet) {
	if next != nil && canon(old) != canon(next) {
		u.additions = append(u.additions, next)
	}
}

func (u *replacement) size() int {
	n := 0
	for _, r := range append(slices.Clone(u.deletions), u.additions...) {
		n += RecordDataBytes(r)
	}
	return n
}

// RecordDataBytes is a record set's share of a change's record data size: the bytes of its
// rrdatas, those in its routing policy included.
func RecordDataBytes(r *gdns.ResourceRecordSet) int {
	n := 0
	add := func(ds []string) {
		for _, d := range ds {
			n += len(d)
		}
	}
	add(r.Rrdatas)
	if p := r.RoutingPolicy; p != nil {
		geo := p.Geo
		if p.Wrr != nil {
			for _, it := range p.Wrr.Items {
				add(it.Rrdatas)
			}
		}
		if pb := p.PrimaryBackup; pb != nil {
			if pb.PrimaryTargets != nil {
				add(pb.PrimaryTargets.ExternalEndpoints)
			}
			geo = pb.BackupGeoTargets
		}
		if geo != nil {
			for _, it := range geo.Items {
				add(it.Rrdatas)
			}
		}
	}
	return n
}

// pack puts whole replacements into changes within the limits.
func pack(units []*replacement) ([]*gdns.Change, error) {
	var out []*gdns.Change
	cur, curSize := &gdns.Change{}, 0
	for _, u := range units {
		size := u.size()
		if len(u.additions) > MaxAdditions || len(u.deletions) > MaxDeletions || size > MaxRrdataBytes {
			return nil, invalid("one record set's replacement holds %d bytes of record data, over the %d of a change", size, MaxRrdataBytes)
		}
		if len(cur.Additions)+len(u.additions) > MaxAdditions || len(cur.Deletions)+len(u.deletions) > MaxDeletions || curSize+size > MaxRrdataBytes {
			out = append(out, cur)
			cur, curSize = &gdns.Change{}, 0
		}
		cur.Additions = append(cur.Additions, u.additions...)
		cur.Deletions = append(cur.Deletions, u.deletions...)
		curSize += size
	}
	if len(cur.Additions)+len(cur.Deletions) > 0 {
		out = append(out, cur)
	}
	return out, nil
}

// submit sends one change until it is applied and done, refused, or the attempts run out.
//
// A throttled answer (HTTP 429, or 403 rateLimitExceeded / userRateLimitExceeded) means Cloud
// DNS did nothing: the change is sent again after a backoff. A change whose answer is unknown
// (the connection dropped after the request left, an HTTP 5xx) may have been applied, and
// sending it again would fail (409 alreadyExists for its additions, 404 or 412 for its
// deletions). So the zone is read again first: a zone that holds the change's additions and
// none of its deletions means it was applied, once; a zone that still holds its deletions and
// none of its additions means it was not, and it is sent again; anything else is another
// writer's change (Conflict). A 409, 404 or 412 after such a retry is checked the same way.
func (p *Provider) submit(ctx context.Context, c *gdns.Change) error {
	what := fmt.Sprintf("changes.create (%d additions, %d deletions)", len(c.Additions), len(c.Deletions))
	uncertain := false
	for attempt := 0; ; attempt++ {
		out, err := p.svc.Changes.Create(p.project, p.zone, c).Context(ctx).Do()
		if err == nil {
			return p.waitDone(ctx, out)
		}
		kind := classifyRetry(err)
		if kind == notRetried && uncertain && refusedAsApplied(err) {
			kind = unknown
		}
		if kind == notRetried || attempt+1 >= p.backoff.Attempts {
			return p.classify(err, what, attempt+1)
		}
		d := p.backoff.Delay(attempt)
		p.logRetry(ctx, what, attempt+1, d, err)
		if cloudapi.Sleep(ctx, d) != nil {
			return p.classify(err, what, attempt+1)
		}
		if kind == throttled {
			continue
		}
		uncertain = true
		state, rerr := p.changeState(ctx, c)
		switch {
		case rerr != nil:
			return fmt.Errorf("%s: the answer to %s was lost and reading the zone to learn whether it was applied failed: %w", p.where, what, rerr)
		case state == applied:
			p.logger(ctx).V(1).Info("A Cloud DNS change whose answer was lost is applied", "zone", p.zone)
			return nil
		case state == otherState:
			return kdns.NewProviderError(kdns.ReasonConflict, err,
				"%s: the answer to %s was lost and the zone now holds neither its starting point nor its result: another writer changed it", p.where, what)
		}
	}
}

// refusedAsApplied tells whether a refusal is what resending an applied change gets.
func refusedAsApplied(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && (ge.Code == http.StatusConflict || ge.Code == http.StatusNotFound || ge.Code == http.StatusPreconditionFailed)
}

type changeOutcome int

const (
	notApplied changeOutcome = iota
	applied
	otherState
)

func (p *Provider) changeState(ctx context.Context, c *gdns.Change) (changeOutcome, error) {
	rrs, err := p.list(ctx)
	if err != nil {
		return otherState, err
	}
	current := map[groupKey]string{}
	for _, r := range rrs {
		current[groupKey{fqdn(r.Name), r.Type}] = canon(r)
	}
	holds := func(r *gdns.ResourceRecordSet) bool { return current[groupKey{fqdn(r.Name), r.Type}] == canon(r) }
	absent := func(r *gdns.ResourceRecordSet) bool {
		_, ok := current[groupKey{fqdn(r.Name), r.Type}]
		return !ok
	}
	added := func(k groupKey) bool {
		for _, a := range c.Additions {
			if (groupKey{fqdn(a.Name), a.Type}) == k {
				return true
			}
		}
		return false
	}
	all := func(rs []*gdns.ResourceRecordSet, f func(*gdns.ResourceRecordSet) bool) bool {
		for _, r := range rs {
			if !f(r) {
				return false
			}
		}
		return true
	}
	// Applied: the additions are there, and the deletions gone (or replaced by an addition).
	if all(c.Additions, holds) && all(c.Deletions, func(r *gdns.ResourceRecordSet) bool { return added(groupKey{fqdn(r.Name), r.Type}) || absent(r) }) {
		return applied, nil
	}
	replaced := func(r *gdns.ResourceRecordSet) bool {
		for _, d := range c.Deletions {
			if (groupKey{fqdn(d.Name), d.Type}) == (groupKey{fqdn(r.Name), r.Type}) {
				return true
			}
		}
		return false
	}
	if all(c.Deletions, holds) && all(c.Additions, func(r *gdns.ResourceRecordSet) bool { return replaced(r) || absent(r) }) {
		return notApplied, nil
	}
	return otherState, nil
}

// waitDone polls the change until Cloud DNS says it is done, within the change timeout.
func (p *Provider) waitDone(ctx context.Context, c *gdns.Change) error {
	deadline := time.Now().Add(p.changeTimeout)
	interval := p.pollInterval
	for c.Status != "done" {
		if time.Now().After(deadline) {
			return kdns.NewProviderError(kdns.ReasonProviderError, nil, "%s: change %s is applied but still %s after %s", p.where, c.Id, c.Status, p.changeTimeout)
		}
		if err := cloudapi.Sleep(ctx, interval); err != nil {
			return kdns.NewProviderError(kdns.ReasonProviderUnreachable, err, "%s: waiting for change %s", p.where, c.Id)
		}
		interval = min(2*interval, 5*time.Second)
		id := c.Id
		err := p.call(ctx, "changes.get", func(ctx context.Context) error {
			var err error
			c, err = p.svc.Changes.Get(p.project, p.zone, id).Context(ctx).Do()
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

type retryKind int

const (
	notRetried retryKind = iota
	throttled
	unknown
)

var rateLimitReasons = []string{"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}

func classifyRetry(err error) retryKind {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return notRetried
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch {
		case ge.Code == http.StatusTooManyRequests:
			return throttled
		case ge.Code == http.StatusForbidden && slices.Contains(rateLimitReasons, reasonOf(err)):
			return throttled
		case ge.Code >= 500:
			return unknown
		}
		return notRetried
	}
	if cloudapi.NotSent(err) {
		return notRetried
	}
	return unknown // a transport error after the request may have left
}

// classify turns an API error into a ProviderError whose message names the zone and call.
func (p *Provider) classify(err error, what string, attempts int) error {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		msg := ge.Message
		switch {
		case classifyRetry(err) == throttled:
			return kdns.NewProviderError(kdns.ReasonProviderError, nil, "%s: %s still throttled after %d attempts (%s)", p.where, what, attempts, reasonOf(err))
		case ge.Code == http.StatusUnauthorized || ge.Code == http.StatusForbidden:
			return kdns.NewProviderError(kdns.ReasonUnauthorized, nil, "%s: %s refused the credentials (HTTP %d %s)", p.where, what, ge.Code, reasonOf(err))
		case ge.Code == http.StatusNotFound && strings.Contains(msg, "managedZone"):
			return kdns.NewProviderError(kdns.ReasonZoneNotFound, nil, "%s: %s: no such managed zone (%s)", p.where, what, msg)
		case ge.Code == http.StatusConflict || ge.Code == http.StatusPreconditionFailed || ge.Code == http.StatusNotFound:
			return kdns.NewProviderError(kdns.ReasonConflict, nil, "%s: %s refused: %s (another writer changed the records since they were read)", p.where, what, msg)
		case ge.Code == http.StatusBadRequest:
			return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: %s refused: %s", p.where, what, msg)
		case ge.Code >= 500:
			return kdns.NewProviderError(kdns.ReasonProviderUnreachable, nil, "%s: %s failed after %d attempts (HTTP %d)", p.where, what, attempts, ge.Code)
		}
		return kdns.NewProviderError(kdns.ReasonProviderError, nil, "%s: %s: HTTP %d %s", p.where, what, ge.Code, msg)
	}
	if cloudapi.Unreachable(err) || classifyRetry(err) == unknown {
		return kdns.NewProviderError(kdns.ReasonProviderUnreachable, err, "%s: no answer to %s after %d attempts", p.where, what, attempts)
	}
	return kdns.NewProviderError(kdns.ReasonProviderError, err, "%s: %s", p.where, what)
}
