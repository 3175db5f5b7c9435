package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/fleet"
	"github.com/kfed-io/kfed/internal/kinds"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/internal/propagate"
)

// waitForVerdict is how long a reconcile waits for the Registry's verdict of a cluster before
// looking again; the Registry's notice of it usually comes first.
const waitForVerdict = 5 * time.Second

// kindNotServedRecheck is how often a member that does not serve an object's kind is looked at again.
const kindNotServedRecheck = 15 * time.Second

// FederatedReconciler propagates the objects of one federated kind: one instance per kind,
// the same code for all. Reconcile reads the object, the cluster views and the member copies,
// plans (placement, replica schedule, member actions: internal/propagate and
// internal/scheduler), carries out the actions, and patches the status once.
type FederatedReconciler struct {
	Client client.Client
	// APIReader reads from the API server, past the cache (after a conflict).
	APIReader client.Reader
	Registry  *member.Registry
	Recorder  events.EventRecorder
	Kind      kinds.Kind
	// MaxConcurrentReconciles of this kind (default 16: a reconcile waits on three sequential round
	// trips, so the workers, not the CPU, bound a burst; `make bench` measured 8 → 16 per kind).
	MaxConcurrentReconciles int
	// UnschedulableWindow is how long a member pod must stay Unschedulable before the member
	// counts as full for its workload (default propagate.DefaultUnschedulableWindow).
	UnschedulableWindow time.Duration

	// drains says when a draining cluster may be scaled down (drain before move); nil scales at once.
	drains *drainLedger

	kind       string     // e.g. FederatedDeployment
	placed     placements // which objects are placed on which clusters, for cluster events
	namespaces sync.Map   // "<cluster>/<namespace>" → struct{}: member namespaces known to exist
	seen       sync.Map   // object UID → seenGeneration: when a generation was first reconciled
	capacities sync.Map   // "<object UID>/<cluster>" → *propagate.HeldCapacity
	conflicts  sync.Map   // "<object UID>/<cluster>" → struct{}: AlreadyExists reported by an Event
	inflight   sync.Map   // "<object UID>/<cluster>" → struct{}: a member write still running
	slow       sync.Map   // cluster → struct{}: a write there has run past memberWriteBudget
	writes     sync.Map   // "<object UID>/<cluster>" → writtenReplicas: until the cache shows the write
	enqueue    func(types.NamespacedName)
	// copies are the member watches of the copies, shared with the other kinds' reconcilers.
	copies *copyWatches
	// echoes tell the watch events of kfed's own member writes from other changes of a copy.
	echoes echoes
}

// +kubebuilder:rbac:groups=federation.kfed.io,resources=federateddeployments;federatedreplicasets;federateddaemonsets;federatedjobs;federatedconfigmaps;federatedsecrets;federatedservices;federatedingresses;federatedobjects;clusterfederatedobjects,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=federation.kfed.io,resources=federateddeployments/status;federatedreplicasets/status;federateddaemonsets/status;federatedjobs/status;federatedconfigmaps/status;federatedsecrets/status;federatedservices/status;federatedingresses/status;federatedobjects/status;clusterfederatedobjects/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=federation.kfed.io,resources=federateddeployments/finalizers;federatedreplicasets/finalizers;federateddaemonsets/finalizers;federatedjobs/finalizers;federatedconfigmaps/finalizers;federatedsecrets/finalizers;federatedservices/finalizers;federatedingresses/finalizers;federatedobjects/finalizers;clusterfederatedobjects/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// Reconcile brings one federated object's member copies and status up to date.
func (r *FederatedReconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	obj := r.Kind.New()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.placed.forget(req.NamespacedName)
			r.drains.stays(r.workloadKey(req.NamespacedName), "")
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		r.drains.stays(r.workloadKey(req.NamespacedName), "")
		return r.finalize(ctx, obj)
	}
	if !controllerutil.ContainsFinalizer(obj, v1alpha1.FinalizerCleanup) {
		patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
		controllerutil.AddFinalizer(obj, v1alpha1.FinalizerCleanup)
		if err := r.Client.Patch(ctx, obj, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding the finalizer to %s %s: %w", r.kind, req, err)
		}
	}
	before := obj.DeepCopyObject().(propagate.Federated)
	r.markSeen(obj)

	views, err := r.views(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	outcome := r.propagate(ctx, obj, views)
	r.placed.set(req.NamespacedName, outcome.selected, obj.GetReplicaScheduling() != nil)
	if outcome.wait {
		return ctrl.Result{RequeueAfter: waitForVerdict}, nil
	}
	setFederatedStatus(obj, outcome)
	if err := r.patchStatus(ctx, before, obj); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: outcome.requeueAfter}, outcome.retryErr
}

// patchStatus writes the status when it changed, conditional on the object's resourceVersion,
// so that a condition another writer set since the read is never lost: a conflict is retried.
func (r *FederatedReconciler) patchStatus(ctx context.Context, before, obj propagate.Federated) error {
	if equality.Semantic.DeepEqual(before.GetFederatedStatus(), obj.GetFederatedStatus()) {
		return nil
	}
	patch := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	err := r.Client.Status().Patch(ctx, obj, patch)
	if apierrors.IsConflict(err) && r.APIReader != nil {
		// The object changed since the cache's copy was read (often just the cache lagging
		// behind kfed's own last write): read it from the API server and write what
		// propagation owns onto that, keeping every other writer's conditions.
		fresh := r.Kind.New()
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), fresh); err != nil {
			return fmt.Errorf("reading %s %s again: %w", r.kind, client.ObjectKeyFromObject(obj), err)
		}
		freshBefore := fresh.DeepCopyObject().(propagate.Federated)
		takeOwnedStatus(fresh, obj)
		if equality.Semantic.DeepEqual(freshBefore.GetFederatedStatus(), fresh.GetFederatedStatus()) {
			return nil
		}
		err = r.Client.Status().Patch(ctx, fresh, client.MergeFromWithOptions(freshBefore, client.MergeFromWithOptimisticLock{}))
	}
	if err != nil {
		return fmt.Errorf("patching the status of %s %s: %w", r.kind, client.ObjectKeyFromObject(obj), err)
	}
	return nil
}

// views returns the verdict of every joined cluster, sorted by name.
func (r *FederatedReconciler) views(ctx context.Context) ([]fleet.Cluster, error) {
	return clusterViews(ctx, r.Client, r.Registry)
}

// clusterViews returns the verdict of every joined cluster, sorted by name: what every consumer
// of members (propagation, DNS) acts on.
func clusterViews(ctx context.Context, c client.Reader, reg *member.Registry) ([]fleet.Cluster, error) {
	var list v1alpha1.FederatedClusterList
	if err := c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing FederatedClusters: %w", err)
	}
	views := make([]fleet.Cluster, len(list.Items))
	for i := range list.Items {
		h, known := reg.Health(list.Items[i].Name)
		views[i] = fleet.View(&list.Items[i], h, known)
	}
	slices.SortFunc(views, func(a, b fleet.Cluster) int { return strings.Compare(a.Name, b.Name) })
	return views, nil
}

// outcome is what one reconcile learned and did, for the status.
type outcome struct {
	// invalid explains why nothing could be planned (bad placement, missing source Secret).
	invalidReason, invalid string
	selected               []string
	clusters               []v1alpha1.ClusterStatus
	replicas               *replicaPlan
	// total is the requested replica count of a replica-scheduled kind; nil for the others.
	total *int32
	// retryErr asks for a retry with backoff (a write that failed for a reason that may pass).
	retryErr error
	// requeueAfter asks to look again later (a capacity estimate may change then).
	requeueAfter time.Duration
	// wait says nothing was planned: some selected cluster has no verdict yet. The status is
	// left as it is; the Registry's notice of the verdict brings the object back.
	wait bool
}

// requeueAt asks for another look after d at the latest (d > 0).
func (o *outcome) requeueAt(d time.Duration) {
	if d > 0 && (o.requeueAfter == 0 || d < o.requeueAfter) {
		o.requeueAfter = d
	}
}

// propagate plans obj in every cluster and carries the plan out.
func (r *FederatedReconciler) propagate(ctx context.Context, obj propagate.Federated, views []fleet.Cluster) outcome {
	infos := make([]propagate.Cluster, len(views))
	for i := range views {
		infos[i] = propagate.Cluster{Name: views[i].Name, Labels: views[i].Labels}
	}
	selected, err := propagate.SelectClusters(*obj.GetPlacement(), infos)
	if err != nil {
		return outcome{invalidReason: v1alpha1.ReasonInvalid, invalid: err.Error()}
	}
	out := outcome{selected: selected}
	_, _, err = propagate.MemberKey(obj)
	if err != nil {
		// E.g. a template namespace other than the object's own: nothing is written anywhere.
		return outcome{selected: selected, invalidReason: v1alpha1.ReasonInvalid, invalid: err.Error()}
	}
	isSelected := make(map[string]bool, len(selected))
	for _, name := range selected {
		isSelected[name] = true
	}
	for i := range views {
		if isSelected[views[i].Name] && views[i].State == fleet.StateConnecting {
			// Planning now would move replicas away from a cluster kfed has no verdict of yet
			// and rewrite the status, only to move them back.
			return outcome{selected: selected, wait: true}
		}
	}
	target := propagate.Target{}
	if r.Kind.Member != nil {
		finish, err := r.Kind.Member(ctx, r.Client, obj)
		var notFound *kinds.SourceNotFoundError
		switch {
		case errors.As(err, &notFound):
			return outcome{selected: selected, invalidReason: v1alpha1.ReasonSourceNotFound, invalid: notFound.Message}
		case err != nil:
			return outcome{selected: selected, retryErr: err}
		}
		target.Finish = finish
	}
	members, stalled := r.readMembers(ctx, obj, views)
	if len(stalled) > 0 && obj.GetReplicaScheduling() != nil {
		// Planning without a member that does not answer would move its replicas away on a
		// stall the probes have not judged yet: wait for them (or for the reads to answer).
		return outcome{selected: selected, wait: true}
	}
	rp, err := r.planReplicas(ctx, obj, isSelected, members, views, &out)
	if err != nil {
		return outcome{selected: selected, invalidReason: v1alpha1.ReasonInvalid, invalid: err.Error()}
	}
	out.replicas = rp
	plan := propagate.Plan{Object: obj, Target: target, Selected: isSelected, Members: members}
	if rp != nil {
		plan.Replicas, plan.Held, plan.HoldDelete = rp.write, rp.held, rp.holdDelete
	}
	actions := propagate.PlanMembers(plan)
	statuses, errs := r.executeInOrder(ctx, obj, &plan, members, actions, rp)
	var retry []error
	for i, a := range actions {
		if errs[i] != nil && !errors.Is(errs[i], member.ErrClusterNotConnected) {
			retry = append(retry, errs[i])
		}
		if !isSelected[a.Cluster] {
			continue
		}
		st := statuses[i]
		r.reportConflict(obj, st)
		if st.Reason == v1alpha1.ReasonKindNotServed {
			// Nothing in the member tells kfed when the kind is installed there: look again.
			out.requeueAt(kindNotServedRecheck)
		}
		out.clusters = append(out.clusters, st)
	}
	out.retryErr = errors.Join(retry...)
	return out
}

// executeInOrder carries out the plan: first every cluster that grows (or has no replica count),
// then, once every growth was written, the clusters that shrink; so the desired replicas of the
// fleet never drop below the request while replicas move, even where no member reports
// readiness (HoldShrinks guards the ready replicas where they do).
func (r *FederatedReconciler) executeInOrder(ctx context.Context, obj propagate.Federated, plan *propagate.Plan,
	members []propagate.Member, actions []propagate.MemberAction, rp *replicaPlan) ([]v1alpha1.ClusterStatus, []error) {
	change := func(i int) int64 {
		if rp == nil {
			return 0
		}
		n, planned := rp.write[actions[i].Cluster]
		if !planned {
			return 0
		}
		return int64(n) - rp.current[actions[i].Cluster]
	}
	statuses, errs := r.executeAll(ctx, obj, plan, members, actions, func(i int) bool { return change(i) >= 0 })
	grown := true
	for i := range actions {
		if change(i) > 0 && statuses[i].Phase != v1alpha1.PhasePropagated {
			grown = false
		}
	}
	shrinks := func(i int) bool { return change(i) < 0 }
	if !grown {
		for i, a := range actions {
			if shrinks(i) {
				statuses[i] = v1alpha1.ClusterStatus{Name: a.Cluster, Phase: v1alpha1.PhasePending,
					Replicas: int32(rp.current[a.Cluster]), //nolint:gosec // a replica count kfed wrote
					Message:  "Scaling down waits until the clusters that take over its replicas are updated"}
			}
		}
		return statuses, errs
	}
	later, laterErrs := r.executeAll(ctx, obj, plan, members, actions, shrinks)
	for i := range actions {
		if shrinks(i) {
			statuses[i], errs[i] = later[i], laterErrs[i]
		}
	}
	return statuses, errs
}

// finalize deletes the member copies kfed wrote (unless the object is orphaned) and then
// releases the finalizer. A member that cannot be reached and may hold a copy holds it;
// unjoining that member releases it.
func (r *FederatedReconciler) finalize(ctx context.Context, obj propagate.Federated) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, v1alpha1.FinalizerCleanup) {
		return ctrl.Result{}, nil
	}
	if !propagate.Annotated(obj, v1alpha1.AnnotationOrphan) {
		views, err := r.views(ctx)
		if err != nil {
			return ctrl.Result{}, err
		}
		members, _ := r.readMembers(ctx, obj, views)
		_, errs := forEachMember(members, func(m propagate.Member) (string, error) {
			a := propagate.DeleteAction(obj, &m)
			switch {
			case a.Action == propagate.ActionDelete:
				direct, err := r.Registry.DirectClient(m.Cluster.Name)
				if err == nil {
					err = r.delete(ctx, m.Cluster.Name, direct, a.Object)
				}
				return "", err
			case a.Blocked && a.Status.Message != "":
				return "", errors.New(a.Status.Message)
			case a.Blocked:
				return "", errors.New(m.NotReadyMessage)
			}
			return "", nil
		})
		var blocked []string
		for i, err := range errs {
			if err != nil {
				blocked = append(blocked, fmt.Sprintf("%s (%v)", members[i].Cluster.Name, err))
			}
		}
		if len(blocked) > 0 {
			before := obj.DeepCopyObject().(propagate.Federated)
			setDeletionBlocked(obj, blocked)
			if err := r.patchStatus(ctx, before, obj); err != nil {
				return ctrl.Result{}, err
			}
			// The Registry wakes this object when a member comes back; a FederatedCluster's
			// deletion does too.
			return ctrl.Result{RequeueAfter: kindNotServedRecheck}, nil
		}
	}
	r.forget(obj)
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	controllerutil.RemoveFinalizer(obj, v1alpha1.FinalizerCleanup)
	if err := r.Client.Patch(ctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("removing the finalizer of %s %s: %w", r.kind, client.ObjectKeyFromObject(obj), err)
	}
	return ctrl.Result{}, nil
}

// forget drops what the reconciler remembers of an object that is going away.
func (r *FederatedReconciler) forget(obj propagate.Federated) {
	uid := string(obj.GetUID())
	r.seen.Delete(uid)
	r.placed.forget(client.ObjectKeyFromObject(obj))
	r.echoes.forget(client.ObjectKeyFromObject(obj))
	for _, m := range []*sync.Map{&r.capacities, &r.conflicts, &r.writes} {
		m.Range(func(key, _ any) bool {
			if strings.HasPrefix(key.(string), uid+"/") {
				m.Delete(key)
			}
			return true
		})
	}
}

// observePropagation records the time from the first reconcile of a generation to a member
// write acknowledged.
func (r *FederatedReconciler) observePropagation(obj propagate.Federated) {
	key := string(obj.GetUID())
	if v, ok := r.seen.Load(key); ok {
		if s := v.(seenGeneration); s.generation == obj.GetGeneration() {
			propagationDuration.WithLabelValues(r.kind).Observe(time.Since(s.at).Seconds())
		}
	}
}

type seenGeneration struct {
	generation int64
	at         time.Time
}

func (r *FederatedReconciler) markSeen(obj propagate.Federated) {
	key := string(obj.GetUID())
	if v, ok := r.seen.Load(key); ok && v.(seenGeneration).generation == obj.GetGeneration() {
		return
	}
	r.seen.Store(key, seenGeneration{generation: obj.GetGeneration(), at: time.Now()})
}

// SetupWithManager registers the reconciler for its kind: its own objects (not their status
// writes), cluster events that change what the objects depend on, and changes of their copies
// in members.
func (r *FederatedReconciler) SetupWithManager(mgr ctrl.Manager) error {
	sample := r.Kind.New()
	r.kind = sample.FederatedKind()
	if r.MaxConcurrentReconciles == 0 {
		r.MaxConcurrentReconciles = 16
	}
	if r.UnschedulableWindow == 0 {
		r.UnschedulableWindow = propagate.DefaultUnschedulableWindow
	}
	if r.copies == nil {
		r.copies = newCopyWatches(r.Registry)
	}
	if gvk := sample.TargetGVK(); gvk.Kind != "" {
		// Started now, so that the members list the kind before the first object comes.
		if _, err := r.copies.of(gvk); err != nil {
			return fmt.Errorf("watching the member copies of %s: %w", r.kind, err)
		}
	}
	events := &clusterEvents{r: r}
	memberEvents := source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		r.enqueue = func(key types.NamespacedName) { q.Add(reconcile.Request{NamespacedName: key}) }
		r.copies.handle(r.kind, r.copyChanged)
		r.Registry.OnChange(func(cluster string) { events.changed(ctx, cluster, q) })
		return nil
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(sample, builder.WithPredicates(specChanged{})).
		Watches(&v1alpha1.FederatedCluster{}, events).
		WatchesRawSource(memberEvents).
		Named(r.kind).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}

// specChanged passes the events of a federated object that may change what kfed does with it:
// a new generation, labels, annotations or the start of its deletion; not an update of its
// status or finalizers alone (kfed's own status and finalizer writes would otherwise wake the
// object once more for nothing).
type specChanged struct{ predicate.Funcs }

// Update passes unless only the status, the finalizers (or resourceVersion and managedFields) changed.
func (specChanged) Update(e event.UpdateEvent) bool {
	o, n := e.ObjectOld, e.ObjectNew
	if o == nil || n == nil {
		return true
	}
	return o.GetGeneration() != n.GetGeneration() ||
		!equality.Semantic.DeepEqual(o.GetLabels(), n.GetLabels()) ||
		!equality.Semantic.DeepEqual(o.GetAnnotations(), n.GetAnnotations()) ||
		!o.GetDeletionTimestamp().Equal(n.GetDeletionTimestamp())
}

// all returns a request for every object of the kind.
func (r *FederatedReconciler) all(ctx context.Context) []reconcile.Request {
	list := r.Kind.NewList()
	if err := r.Client.List(ctx, list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing federated objects", "kind", r.kind)
		return nil
	}
	var reqs []reconcile.Request
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		if m, err := meta.Accessor(o); err == nil {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()}})
		}
		return nil
	})
	return reqs
}
