package controllers

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// drainMargin is waited beyond a withdrawn record's TTL before a draining cluster is scaled
	// down: resolvers that cached the record just before it went, and clocks, get that much more.
	drainMargin = 5 * time.Second
	// drainMaxWait bounds how long a draining cluster's scale-down waits for the DNS side (a
	// provider that does not take the withdrawal, a DNS controller that never got to a name):
	// past it the replicas move anyway, so an evacuation is never held by DNS for good.
	drainMaxWait = 5 * time.Minute
	// drainRecheck is how often a held scale-down looks at the ledger again while a name still
	// points at the cluster.
	drainRecheck = time.Second
)

// drainLedger is how "drain before move" is kept (issue 11): before kfed takes replicas away
// from a cluster that is still Ready (a NoExecute taint), the cluster leaves the DNS answers of
// every name that points at it, one TTL plus drainMargin passes, and only then is it scaled down.
//
// The DNS controllers (FederatedService names, FederatedIngress global addresses) tell the
// ledger, after each publication, which clusters a subject's records hold now and with which
// TTL; a cluster dropped from a subject is clear of it once that TTL has passed. The
// propagation controller asks drained before it writes a smaller replica count to a draining
// cluster. The ledger lives in the operator's memory: after a restart it knows nothing until
// every DNS controller has published each subject once (primed), and a scale-down waits for that.
type drainLedger struct {
	mu sync.Mutex
	// in: cluster → the subjects (dnsSubject.memo) whose records hold the cluster now.
	in map[string]map[string]bool
	// clearAt: cluster → when the last subject that dropped it is out of every cache.
	clearAt map[string]time.Time
	// since: cluster → when the propagation side first saw it draining (this process).
	since map[string]time.Time
	// pending: per DNS controller, the subjects it has not published since it started; nil
	// before it has listed them. The ledger is primed when every registered controller's set
	// is known and empty.
	pending map[string]map[string]bool
	// ttl: subject → the TTL of its records last published.
	ttl map[string]time.Duration
	now func() time.Time
}

func newDrainLedger() *drainLedger {
	return &drainLedger{in: map[string]map[string]bool{}, clearAt: map[string]time.Time{}, since: map[string]time.Time{},
		pending: map[string]map[string]bool{}, ttl: map[string]time.Duration{}, now: time.Now}
}

// register names a DNS controller whose first pass the ledger waits for.
func (l *drainLedger) register(controller string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.pending[controller]; !ok {
		l.pending[controller] = nil
	}
}

// started gives the subjects a DNS controller found when it started; each is pending until
// published (or withdrawn) once.
func (l *drainLedger) started(controller string, subjects []string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	set := map[string]bool{}
	for _, s := range subjects {
		set[s] = true
	}
	l.pending[controller] = set
}

// published records that subject's records hold exactly clusters now, with ttl (0 when it has
// no records: those it had go with the TTL they were published with); a cluster it held before
// and holds no more is clear of it after the longer of the two TTLs.
func (l *drainLedger) published(controller, subject string, clusters []string, ttl time.Duration) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	gone := max(ttl, l.ttl[subject])
	for c, subjects := range l.in {
		if subjects[subject] && !slices.Contains(clusters, c) {
			delete(subjects, subject)
			if at := now.Add(gone); at.After(l.clearAt[c]) {
				l.clearAt[c] = at
			}
		}
	}
	if len(clusters) == 0 {
		delete(l.ttl, subject)
	} else {
		l.ttl[subject] = ttl
	}
	for _, c := range clusters {
		if l.in[c] == nil {
			l.in[c] = map[string]bool{}
		}
		l.in[c][subject] = true
	}
	if p := l.pending[controller]; p != nil {
		delete(p, subject)
	}
}

// drained tells whether a draining cluster may be scaled down now; if not, it says why and
// when to look again.
func (l *drainLedger) drained(cluster string) (ok bool, why string, recheck time.Duration) {
	if l == nil {
		return true, "", 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	since, seen := l.since[cluster]
	if !seen {
		since = now
		l.since[cluster] = now
	}
	if now.Sub(since) >= drainMaxWait {
		return true, "", 0
	}
	for name, p := range l.pending {
		if p == nil || len(p) > 0 {
			return false, fmt.Sprintf("Scaling down waits for the DNS controllers to publish every name once since kfed started (%s)", name), drainRecheck
		}
	}
	if subjects := l.in[cluster]; len(subjects) > 0 {
		names := slices.Sorted(maps.Keys(subjects))
		return false, fmt.Sprintf("Scaling down waits until the cluster is out of the DNS answers of %s", strings.Join(names, ", ")), drainRecheck
	}
	if at := l.clearAt[cluster]; !at.IsZero() {
		until := at.Add(drainMargin)
		if now.Before(until) {
			return false, fmt.Sprintf("Scaling down waits until %s: the cluster left the DNS answers, and resolvers may hold them one TTL (plus %s)",
				until.UTC().Format(time.RFC3339), drainMargin), until.Sub(now)
		}
	}
	return true, "", 0
}

// notDraining forgets a cluster's drain (its NoExecute taint went, or it is gone).
func (l *drainLedger) notDraining(cluster string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.since, cluster)
}
