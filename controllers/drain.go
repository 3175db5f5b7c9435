package controllers

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

const (
	// drainMargin is waited beyond a withdrawn record's TTL before a draining cluster is scaled
	// down: resolvers that cached the record just before it went, and clocks, get that much more.
	drainMargin = 5 * time.Second
	// drainMaxWait bounds how long a scale-down waits for the DNS side (a provider that does not
	// take the withdrawal, a DNS controller that never got to a name): past it the replicas move
	// anyway, so an evacuation is never held by DNS for good.
	drainMaxWait = 5 * time.Minute
	// drainRecheck is how often a held scale-down looks at the ledger again while a name still
	// points at the cluster.
	drainRecheck = time.Second
)

// drainLedger is how "drain before move" is kept (issue 11): before kfed takes replicas away
// from a cluster that is still Ready, the cluster leaves the DNS answers of the names that point
// at them, one TTL plus drainMargin passes, and only then is it scaled down. Two kinds of move
// drain:
//
//   - a whole cluster (a NoExecute taint, fleet.Cluster.Draining): every name leaves it;
//   - one workload leaving a cluster (its placement drops the cluster, or its plan gives the
//     cluster 0): the workload says so (leave), and the names whose Services select its pods
//     (a FederatedService's selector; a FederatedIngress through its backend FederatedServices)
//     leave that cluster. A shrink that keeps replicas in the cluster does not drain: its load
//     balancer still answers, and Weighted answers follow the ready endpoints.
//
// The DNS controllers tell the ledger, after each publication, which clusters a subject's
// records hold now, with which TTL, and which pods its Services select; a cluster dropped from
// a subject is clear of it once that TTL has passed. The propagation controller asks drained or
// drainedFor before it writes a smaller replica count to a Ready cluster (or deletes its copy).
// The ledger lives in the operator's memory: after a restart it knows nothing until every DNS
// controller has published each subject once (primed), and a scale-down waits for that.
type drainLedger struct {
	mu sync.Mutex
	// subjects: dnsSubject.memo → what its records hold now.
	subjects map[string]*drainSubject
	// cleared: cluster → subject → when the subject's records that held the cluster are out of
	// every cache.
	cleared map[string]map[string]time.Time
	// since: cluster → when the propagation side first saw it draining (this process).
	since map[string]time.Time
	// leaving: workloadKey + "@" + cluster → a workload leaving a cluster.
	leaving map[string]*leave
	// pending: per DNS controller, the subjects it has not published since it started; nil
	// before it has listed them. The ledger is primed when every registered controller's set
	// is known and empty.
	pending map[string]map[string]bool
	// onLeave wakes the DNS controllers for the subjects of a namespace (a workload leaves a
	// cluster there, or stays after all).
	onLeave func(namespace string)
	now     func() time.Time
}

// drainSubject is what one subject's published records hold.
type drainSubject struct {
	clusters []string
	ttl      time.Duration
	// namespace and selectors of the pods behind it (its Services' selectors).
	namespace string
	selectors []labels.Selector
}

// leave is a workload leaving one cluster.
type leave struct {
	namespace, cluster string
	pods               labels.Set
	since              time.Time
}

func newDrainLedger() *drainLedger {
	return &drainLedger{subjects: map[string]*drainSubject{}, cleared: map[string]map[string]time.Time{},
		since: map[string]time.Time{}, leaving: map[string]*leave{}, pending: map[string]map[string]bool{}, now: time.Now}
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

// published records that subject's records hold exactly clusters now, with ttl, for the pods
// selectors select in namespace (clusters nil: it has no records; those it had go with the TTL
// they were published with). A cluster it held before and holds no more is clear of it after
// the longer of the two TTLs.
func (l *drainLedger) published(controller, subject string, clusters []string, ttl time.Duration, namespace string, selectors []labels.Selector) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if old := l.subjects[subject]; old != nil {
		gone := now.Add(max(ttl, old.ttl))
		for _, c := range old.clusters {
			if !slices.Contains(clusters, c) {
				if l.cleared[c] == nil {
					l.cleared[c] = map[string]time.Time{}
				}
				if gone.After(l.cleared[c][subject]) {
					l.cleared[c][subject] = gone
				}
			}
		}
	}
	if len(clusters) == 0 {
		delete(l.subjects, subject)
	} else {
		l.subjects[subject] = &drainSubject{clusters: slices.Clone(clusters), ttl: ttl, namespace: namespace, selectors: selectors}
	}
	if p := l.pending[controller]; p != nil {
		delete(p, subject)
	}
}

// drained tells whether a draining cluster (a NoExecute taint) may be scaled down now; if
// not, it says why and when to look again.
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
	return l.clear(cluster, since, func(*drainSubject) bool { return true })
}

// drainedFor tells whether workload (its pods labelled pods, in namespace) may leave a Ready
// cluster now: it is marked leaving (so that the names selecting its pods drop the cluster),
// and clear once those names let go of it.
func (l *drainLedger) drainedFor(workload, namespace string, pods labels.Set, cluster string) (ok bool, why string, recheck time.Duration) {
	if l == nil {
		return true, "", 0
	}
	l.mu.Lock()
	key := workload + "@" + cluster
	lv := l.leaving[key]
	woke := false
	if lv == nil {
		lv = &leave{namespace: namespace, cluster: cluster, pods: pods, since: l.now()}
		l.leaving[key] = lv
		woke = true
	}
	ok, why, recheck = l.clear(cluster, lv.since, func(s *drainSubject) bool { return s.namespace == namespace && selects(s.selectors, pods) })
	wake := l.onLeave
	l.mu.Unlock()
	if woke && wake != nil {
		wake(namespace)
	}
	return ok, why, recheck
}

// stays says workload no longer leaves cluster (or never did); cluster "" forgets every cluster
// of it (the workload is gone).
func (l *drainLedger) stays(workload, cluster string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	var woke []string
	if cluster != "" {
		if lv, ok := l.leaving[workload+"@"+cluster]; ok {
			delete(l.leaving, workload+"@"+cluster)
			woke = append(woke, lv.namespace)
		}
	} else {
		for key, lv := range l.leaving {
			if strings.HasPrefix(key, workload+"@") {
				delete(l.leaving, key)
				woke = append(woke, lv.namespace)
			}
		}
	}
	wake := l.onLeave
	l.mu.Unlock()
	if wake != nil {
		for _, ns := range slices.Compact(slices.Sorted(slices.Values(woke))) {
			wake(ns)
		}
	}
}

// leavingFor tells whether a workload whose pods the selectors select in namespace is leaving
// cluster: the subject's names are to drop it.
func (l *drainLedger) leavingFor(namespace string, selectors []labels.Selector, cluster string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, lv := range l.leaving {
		if lv.cluster == cluster && lv.namespace == namespace && selects(selectors, lv.pods) {
			return true
		}
	}
	return false
}

// clear is drained's verdict for the subjects that match, the wait having begun at since; the
// caller holds the lock.
func (l *drainLedger) clear(cluster string, since time.Time, match func(*drainSubject) bool) (bool, string, time.Duration) {
	now := l.now()
	if now.Sub(since) >= drainMaxWait {
		return true, "", 0
	}
	for _, name := range slices.Sorted(maps.Keys(l.pending)) {
		if p := l.pending[name]; p == nil || len(p) > 0 {
			return false, fmt.Sprintf("Scaling down waits for the DNS controllers to publish every name once since kfed started (%s)", name), drainRecheck
		}
	}
	var holding []string
	for name, s := range l.subjects {
		if match(s) && slices.Contains(s.clusters, cluster) {
			holding = append(holding, name)
		}
	}
	if len(holding) > 0 {
		slices.Sort(holding)
		return false, fmt.Sprintf("Scaling down waits until the cluster is out of the DNS answers of %s", strings.Join(holding, ", ")), drainRecheck
	}
	var at time.Time
	for name, t := range l.cleared[cluster] {
		if t.After(at) && (l.subjects[name] == nil || match(l.subjects[name])) {
			at = t
		}
	}
	if until := at.Add(drainMargin); !at.IsZero() && now.Before(until) {
		return false, fmt.Sprintf("Scaling down waits until %s: the cluster left the DNS answers, and resolvers may hold them one TTL (plus %s)",
			until.UTC().Format(time.RFC3339), drainMargin), until.Sub(now)
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

// selects tells whether any selector selects pods (an empty selector selects nothing: a
// Service without one has no pods behind it).
func selects(selectors []labels.Selector, pods labels.Set) bool {
	for _, s := range selectors {
		if !s.Empty() && s.Matches(pods) {
			return true
		}
	}
	return false
}
