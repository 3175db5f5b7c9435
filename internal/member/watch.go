package member

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ObjectHandler hears of a change (add, update or delete) of an object kfed watches in a member.
// It must not block.
type ObjectHandler func(cluster string, obj client.Object)

// OnObject registers fn to hear of every change of a watched kind in every member.
func (r *Registry) OnObject(fn ObjectHandler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.objectSubscribers = append(r.objectSubscribers, fn)
}

// Watch makes every member, now and to come, watch objects of this kind that kfed manages
// (label federation.kfed.io/managed=true). It returns at once; the watches start in the
// members' own goroutines, and a member that does not serve the kind retries on later probes.
func (r *Registry) Watch(gvk schema.GroupVersionKind) {
	r.mu.Lock()
	if slices.Contains(r.watched, gvk) {
		r.mu.Unlock()
		return
	}
	r.watched = append(r.watched, gvk)
	r.mu.Unlock()
	r.nudgeMembers()
}

// nudgeMembers asks every member to start the watches it does not run yet.
func (r *Registry) nudgeMembers() {
	r.mu.Lock()
	entries := make([]*entry, 0, len(r.members))
	for _, e := range r.members {
		entries = append(entries, e)
	}
	r.mu.Unlock()
	for _, e := range entries {
		e.nudgeWatches()
	}
}

func (r *Registry) watchedKinds() []schema.GroupVersionKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.watched)
}

func (r *Registry) notifyObject(cluster string, obj client.Object) {
	r.mu.Lock()
	subs := slices.Clone(r.objectSubscribers)
	r.mu.Unlock()
	for _, fn := range subs {
		fn(cluster, obj)
	}
}

// ensureWatches starts an informer for every watched kind the member does not watch yet. It does
// not wait for them to sync: reads through the member client wait for that.
func (e *entry) ensureWatches() {
	e.mu.Lock()
	c := e.cache
	synced := e.synced
	e.mu.Unlock()
	if !synced {
		return
	}
	e.ensureConsumerWatches()
	for _, gvk := range e.reg.watchedKinds() {
		e.mu.Lock()
		done := e.watching[gvk]
		e.mu.Unlock()
		if done {
			continue
		}
		if err := e.watch(c, gvk); err != nil {
			// Typically a kind the member does not serve (its CRD is missing); retried later.
			e.log.V(1).Info("Not watching a kind in the member yet", "kind", gvk.String(), "reason", err.Error())
			continue
		}
		e.mu.Lock()
		e.watching[gvk] = true
		e.mu.Unlock()
	}
}

func (e *entry) watch(c cache.Cache, gvk schema.GroupVersionKind) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	informer, err := c.GetInformer(e.ctx, u, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("watching %s in cluster %q: %w", gvk, e.name, err)
	}
	if _, err := informer.AddEventHandler(forwardTo(e.name, e.reg.notifyObject)); err != nil {
		return fmt.Errorf("watching %s in cluster %q: %w", gvk, e.name, err)
	}
	return nil
}
