// Package inmemory is a dns.Provider that keeps one zone in memory: the zone of unit tests and
// the store the builtin DNS server answers from. It is strict, so that a plan with a bug shows:
// creating a record set that exists, or updating or deleting one that does not, fails the whole
// change, as does a CNAME beside other records of its name.
package inmemory

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kfed-io/kfed/internal/dns"
)

// Errors of ApplyChanges and Replace, wrapped with the record that caused them.
var (
	ErrRecordExists   = errors.New("the record set exists")
	ErrRecordNotFound = errors.New("the record set does not exist")
	ErrCNAMEConflict  = errors.New("a CNAME cannot share its name with other records")
	ErrInvalidRecord  = errors.New("the record set is invalid")
	ErrOutsideZone    = errors.New("the name is outside the zone")
)

// Snapshot is the zone at one moment. Its Records must not be changed.
type Snapshot struct {
	// Generation counts the changes of the zone since it was made; 0 means never changed.
	Generation uint64
	// Serial is the SOA serial of this content: it grows with every change and is at least the
	// Unix time of the last change, so a zone made again later (a restarted replica) does not
	// go backwards.
	Serial uint32
	// Records sorted by name, type and set identifier.
	Records []*dns.Endpoint
}

// Zone is a concurrency-safe zone. The zero value is not usable: call New.
type Zone struct {
	// domain, when set, is the zone's apex: names outside it are refused.
	domain  string
	mu      sync.RWMutex
	records map[dns.Key]*dns.Endpoint
	snap    *Snapshot
	now     func() time.Time
	// changed is closed and replaced on every change.
	changed chan struct{}
}

var _ dns.Provider = &Zone{}

// Option configures a Zone.
type Option func(*Zone)

// Domain makes the zone refuse record sets whose names are not domain or below it.
func Domain(domain string) Option {
	return func(z *Zone) { z.domain = strings.TrimSuffix(strings.ToLower(domain), ".") }
}

// New returns an empty zone.
func New(opts ...Option) *Zone {
	z := newZone(time.Now)
	for _, o := range opts {
		o(z)
	}
	return z
}

func newZone(now func() time.Time) *Zone {
	return &Zone{records: map[dns.Key]*dns.Endpoint{}, snap: &Snapshot{}, now: now, changed: make(chan struct{})}
}

// Records returns a copy of every record set, sorted.
func (z *Zone) Records(_ context.Context) ([]*dns.Endpoint, error) {
	s := z.Snapshot()
	out := make([]*dns.Endpoint, len(s.Records))
	for i, e := range s.Records {
		out[i] = clone(e)
	}
	return out, nil
}

// Snapshot returns the zone as it is now, without copying: it is replaced, never changed.
func (z *Zone) Snapshot() *Snapshot {
	z.mu.RLock()
	defer z.mu.RUnlock()
	return z.snap
}

// Changed returns a channel closed at the next change of the zone.
func (z *Zone) Changed() <-chan struct{} {
	z.mu.RLock()
	defer z.mu.RUnlock()
	return z.changed
}

// ApplyChanges applies deletes, then updates, then creates, all or nothing.
func (z *Zone) ApplyChanges(_ context.Context, c *dns.Changes) error {
	if len(c.UpdateOld) != len(c.UpdateNew) {
		return fmt.Errorf("the changes hold %d old and %d new records to update: %w", len(c.UpdateOld), len(c.UpdateNew), ErrInvalidRecord)
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	next := make(map[dns.Key]*dns.Endpoint, len(z.records)+len(c.Create))
	for k, e := range z.records {
		next[k] = e
	}
	for _, e := range c.Delete {
		n := e.Normalize()
		if _, ok := next[n.Key()]; !ok {
			return fmt.Errorf("deleting %s: %w", n, ErrRecordNotFound)
		}
		delete(next, n.Key())
	}
	for i := range c.UpdateOld {
		old, n := c.UpdateOld[i].Normalize(), c.UpdateNew[i].Normalize()
		if old.Key() != n.Key() {
			return fmt.Errorf("updating %s to %s: another name, type or set identifier: %w", old, n, ErrInvalidRecord)
		}
		if _, ok := next[old.Key()]; !ok {
			return fmt.Errorf("updating %s: %w", old, ErrRecordNotFound)
		}
		if err := z.validate(n); err != nil {
			return err
		}
		next[n.Key()] = stored(n)
	}
	for _, e := range c.Create {
		n := e.Normalize()
		if _, ok := next[n.Key()]; ok {
			return fmt.Errorf("creating %s: %w", n, ErrRecordExists)
		}
		if err := z.validate(n); err != nil {
			return err
		}
		next[n.Key()] = stored(n)
	}
	return z.commit(next)
}

// Replace makes the zone hold exactly records. Replacing with the same content changes nothing
// (not even the serial).
func (z *Zone) Replace(records []*dns.Endpoint) error {
	next := make(map[dns.Key]*dns.Endpoint, len(records))
	for _, e := range records {
		n := e.Normalize()
		if _, ok := next[n.Key()]; ok {
			return fmt.Errorf("replacing the zone: %s is given twice: %w", n, ErrRecordExists)
		}
		if err := z.validate(n); err != nil {
			return fmt.Errorf("replacing the zone: %w", err)
		}
		next[n.Key()] = stored(n)
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.commit(next)
}

// commit checks the CNAME rule and swaps next in; the caller holds the lock.
func (z *Zone) commit(next map[dns.Key]*dns.Endpoint) error {
	// A CNAME cannot share its name with another type; several CNAME sets of one name, each
	// with its set identifier (weighted, failover, geo), are one CNAME answered by routing.
	types := map[string][]string{}
	for k := range next {
		if !slices.Contains(types[k.DNSName], k.RecordType) {
			types[k.DNSName] = append(types[k.DNSName], k.RecordType)
		}
	}
	for name, ts := range types {
		if slices.Contains(ts, dns.RecordTypeCNAME) && len(ts) > 1 {
			slices.Sort(ts)
			return fmt.Errorf("%s would hold %s: %w", name, strings.Join(ts, ", "), ErrCNAMEConflict)
		}
	}
	if equal(z.records, next) {
		return nil
	}
	records := make([]*dns.Endpoint, 0, len(next))
	for _, e := range next {
		records = append(records, e)
	}
	slices.SortFunc(records, func(a, b *dns.Endpoint) int {
		return strings.Compare(a.DNSName+"\x00"+a.RecordType+"\x00"+a.SetIdentifier, b.DNSName+"\x00"+b.RecordType+"\x00"+b.SetIdentifier)
	})
	serial := z.snap.Serial + 1
	if now := uint32(z.now().Unix()); now > serial { //nolint:gosec // Unix seconds fit in 32 bits until 2106
		serial = now
	}
	z.records = next
	z.snap = &Snapshot{Generation: z.snap.Generation + 1, Serial: serial, Records: records}
	close(z.changed)
	z.changed = make(chan struct{})
	return nil
}

func equal(a, b map[dns.Key]*dns.Endpoint) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || x.TTL != y.TTL || !slices.Equal(x.Targets, y.Targets) || !sameRouting(x.Routing, y.Routing) {
			return false
		}
	}
	return true
}

func (z *Zone) validate(e *dns.Endpoint) error {
	if z.domain != "" && e.DNSName != z.domain && !strings.HasSuffix(e.DNSName, "."+z.domain) {
		return fmt.Errorf("%s: not in %s: %w", e, z.domain, ErrOutsideZone)
	}
	switch {
	case e.DNSName == "":
		return fmt.Errorf("%s: no name: %w", e, ErrInvalidRecord)
	case len(e.Targets) == 0:
		return fmt.Errorf("%s: no targets: %w", e, ErrInvalidRecord)
	case e.TTL < 0:
		return fmt.Errorf("%s: negative TTL %d: %w", e, e.TTL, ErrInvalidRecord)
	case e.RecordType == dns.RecordTypeCNAME && len(e.Targets) != 1:
		return fmt.Errorf("%s: a CNAME holds one target, not %d: %w", e, len(e.Targets), ErrInvalidRecord)
	case e.Routing != nil && e.SetIdentifier == "":
		return fmt.Errorf("%s: a record set with a routing policy needs a set identifier: %w", e, ErrInvalidRecord)
	case e.Routing != nil && !slices.Contains([]string{dns.RoutingWeighted, dns.RoutingFailover, dns.RoutingGeo}, e.Routing.Policy):
		return fmt.Errorf("%s: routing policy %q is not one of %s, %s, %s: %w",
			e, e.Routing.Policy, dns.RoutingWeighted, dns.RoutingFailover, dns.RoutingGeo, ErrInvalidRecord)
	case e.Routing != nil && e.Routing.Weight < 0:
		return fmt.Errorf("%s: negative weight %d: %w", e, e.Routing.Weight, ErrInvalidRecord)
	}
	switch e.RecordType {
	case dns.RecordTypeA, dns.RecordTypeAAAA:
		for _, t := range e.Targets {
			a, err := netip.ParseAddr(t)
			if err != nil || a.Is4() != (e.RecordType == dns.RecordTypeA) || a.Zone() != "" {
				return fmt.Errorf("%s: %q is not an IPv%s address: %w", e, t, map[bool]string{true: "4", false: "6"}[e.RecordType == dns.RecordTypeA], ErrInvalidRecord)
			}
		}
		return nil
	case dns.RecordTypeCNAME, dns.RecordTypeTXT:
		return nil
	default:
		return fmt.Errorf("%s: record type %q is not one of A, AAAA, CNAME, TXT: %w", e, e.RecordType, ErrInvalidRecord)
	}
}

// stored is the copy the zone keeps: without labels, which providers do not store.
func stored(n *dns.Endpoint) *dns.Endpoint {
	n.Labels = nil
	return n
}

func sameRouting(a, b *dns.Routing) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func clone(e *dns.Endpoint) *dns.Endpoint {
	c := *e
	c.Targets = slices.Clone(e.Targets)
	if e.Routing != nil {
		r := *e.Routing
		c.Routing = &r
	}
	return &c
}
