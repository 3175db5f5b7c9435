package controllers

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/fleet"
)

// placements indexes the objects of one kind by the clusters they are placed on, so that a
// cluster event wakes only the objects that depend on what changed.
type placements struct {
	mu        sync.Mutex
	byCluster map[string]map[types.NamespacedName]bool // cluster → object → uses capacity
	byObject  map[types.NamespacedName][]string
}

// set records the clusters an object is placed on; usesCapacity says its plan depends on the
// clusters' nodes (a replica-scheduled workload).
func (p *placements) set(obj types.NamespacedName, clusters []string, usesCapacity bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byCluster == nil {
		p.byCluster, p.byObject = map[string]map[types.NamespacedName]bool{}, map[types.NamespacedName][]string{}
	}
	p.dropLocked(obj)
	for _, c := range clusters {
		if p.byCluster[c] == nil {
			p.byCluster[c] = map[types.NamespacedName]bool{}
		}
		p.byCluster[c][obj] = usesCapacity
	}
	p.byObject[obj] = clusters
}

func (p *placements) forget(obj types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked(obj)
}

func (p *placements) dropLocked(obj types.NamespacedName) {
	for _, c := range p.byObject[obj] {
		delete(p.byCluster[c], obj)
		if len(p.byCluster[c]) == 0 {
			delete(p.byCluster, c)
		}
	}
	delete(p.byObject, obj)
}

// on returns the objects placed on a cluster; with capacityOnly, those whose plan uses capacity.
func (p *placements) on(cluster string, capacityOnly bool) []types.NamespacedName {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]types.NamespacedName, 0, len(p.byCluster[cluster]))
	for obj, usesCapacity := range p.byCluster[cluster] {
		if usesCapacity || !capacityOnly {
			out = append(out, obj)
		}
	}
	return out
}

// clusterEvents turns FederatedCluster events and the Registry's health notices into requests
// for the objects that depend on what changed in the cluster's verdict (fleet.Diff): every object
// when the cluster joined, left or changed labels (placements may select it differently); the
// objects placed there when its readiness or taints changed; the replica-scheduled objects placed
// there when its nodes changed; nothing otherwise (a status write that changes nothing wakes
// nothing).
type clusterEvents struct {
	r     *FederatedReconciler
	mu    sync.Mutex
	views map[string]fleet.Cluster
}

type requestQueue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// Create handles a FederatedCluster that appeared (or was listed at start).
func (e *clusterEvents) Create(ctx context.Context, ev event.TypedCreateEvent[client.Object], q requestQueue) {
	e.changed(ctx, ev.Object.GetName(), q)
}

// Update handles a FederatedCluster that changed.
func (e *clusterEvents) Update(ctx context.Context, ev event.TypedUpdateEvent[client.Object], q requestQueue) {
	e.changed(ctx, ev.ObjectNew.GetName(), q)
}

// Delete handles a FederatedCluster that went away.
func (e *clusterEvents) Delete(ctx context.Context, ev event.TypedDeleteEvent[client.Object], q requestQueue) {
	e.changed(ctx, ev.Object.GetName(), q)
}

// Generic is not used.
func (e *clusterEvents) Generic(context.Context, event.TypedGenericEvent[client.Object], requestQueue) {
}

// changed compares the cluster's verdict with the last one seen and wakes what depends on the difference.
func (e *clusterEvents) changed(ctx context.Context, cluster string, q requestQueue) {
	var cur *fleet.Cluster
	fc := &v1alpha1.FederatedCluster{}
	switch err := e.r.Client.Get(ctx, types.NamespacedName{Name: cluster}, fc); {
	case apierrors.IsNotFound(err):
	case err != nil:
		ctrl.LoggerFrom(ctx).Error(err, "Reading a FederatedCluster for its verdict", "cluster", cluster)
		e.wake(e.r.all(ctx), q)
		return
	default:
		h, known := e.r.Registry.Health(cluster)
		v := fleet.View(fc, h, known)
		cur = &v
	}
	e.mu.Lock()
	if e.views == nil {
		e.views = map[string]fleet.Cluster{}
	}
	var old *fleet.Cluster
	if v, ok := e.views[cluster]; ok {
		old = &v
	}
	if cur == nil {
		delete(e.views, cluster)
	} else {
		e.views[cluster] = *cur
	}
	e.mu.Unlock()

	ch := fleet.Diff(old, cur)
	switch {
	case ch.Has(fleet.ChangeSelection):
		e.wake(e.r.all(ctx), q)
	case ch.Has(fleet.ChangeState):
		e.wakeObjects(e.r.placed.on(cluster, false), q)
	case ch.Has(fleet.ChangeCapacity):
		e.wakeObjects(e.r.placed.on(cluster, true), q)
	}
}

func (e *clusterEvents) wake(reqs []reconcile.Request, q requestQueue) {
	for _, req := range reqs {
		q.Add(req)
	}
}

func (e *clusterEvents) wakeObjects(objs []types.NamespacedName, q requestQueue) {
	for _, o := range objs {
		q.Add(reconcile.Request{NamespacedName: o})
	}
}
