package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/internal/propagate"
)

// waitForVerdict is how long a reconcile waits for the Registry's verdict of a cluster before
// looking again; the Registry's notice of it usually comes first.
const waitForVerdict = 5 * time.Second

// Kind tells the generic reconciler how to make objects of one federated kind.
type Kind struct {
	// New returns an empty object of the kind.
	New func() propagate.Federated
	// NewList returns an empty list of the kind.
	NewList func() client.ObjectList
}

// FederatedReconciler propagates the objects of one federated kind: one instance per kind,
// the same code for all. Reconcile reads the object and the clusters, plans (placement, replica
// schedule, desired member objects: internal/propagate and internal/scheduler), applies what
// differs in each member, and patches the status once.
type FederatedReconciler struct {
	Client   client.Client
	Registry *member.Registry
	Recorder events.EventRecorder
	Kind     Kind
	// MaxConcurrentReconciles of this kind (default 8).
	MaxConcurrentReconciles int
	// UnschedulableWindow is how long a member pod must stay Unschedulable before the member
	// counts as full for its workload (default propagate.DefaultUnschedulableWindow).
	UnschedulableWindow time.Duration

	kind       string   // e.g. FederatedDeployment
	namespaces sync.Map // "<cluster>/<namespace>" → struct{}: member namespaces known to exist
	seen       sync.Map // object UID → seenGeneration: when a generation was first reconciled
	capacities sync.Map // "<object UID>/<cluster>" → *propagate.HeldCapacity
	conflicts  sync.Map // "<object UID>/<cluster>" → struct{}: AlreadyExists reported by an Event
}

// +kubebuilder:rbac:groups=federation.kfed.io,resources=federateddeployments;federatedreplicasets;federateddaemonsets;federatedjobs;federatedconfigmaps;federatedsecrets;federatedservices;federatedingresses;federatedobjects;clusterfederatedobjects,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=federation.kfed.io,resources=federateddeployments/status;federatedreplicasets/status;federateddaemonsets/status;federatedjobs/status;federatedconfigmaps/status;federatedsecrets/status;federatedservices/status;federatedingresses/status;federatedobjects/status;clusterfederatedobjects/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=federation.kfed.io,resources=federateddeployments/finalizers;federatedreplicasets/finalizers;federateddaemonsets/finalizers;federatedjobs/finalizers;federatedconfigmaps/finalizers;federatedsecrets/finalizers;federatedservices/finalizers;federatedingresses/finalizers;federatedobjects/finalizers;clusterfederatedobjects/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// Reconcile brings one federated object's member copies and status up to date.
func (r *FederatedReconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	obj := r.Kind.New()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.GetDeletionTimestamp().IsZero() {
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

	clusters, err := r.clusters(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	outcome := r.propagate(ctx, obj, clusters)
	if outcome.wait {
		return ctrl.Result{RequeueAfter: waitForVerdict}, nil
	}
	setFederatedStatus(obj, outcome)

	if !equality.Semantic.DeepEqual(before.GetFederatedStatus(), obj.GetFederatedStatus()) {
		if err := r.Client.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil {
			return ctrl.Result{}, fmt.Errorf("patching the status of %s %s: %w", r.kind, req, err)
		}
	}
	return ctrl.Result{RequeueAfter: outcome.requeueAfter}, outcome.retryErr
}

// clusters returns the joined clusters, sorted by name.
func (r *FederatedReconciler) clusters(ctx context.Context) ([]v1alpha1.FederatedCluster, error) {
	var list v1alpha1.FederatedClusterList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing FederatedClusters: %w", err)
	}
	slices.SortFunc(list.Items, func(a, b v1alpha1.FederatedCluster) int { return strings.Compare(a.Name, b.Name) })
	return list.Items, nil
}

// finalize deletes the member copies (unless the object is orphaned) and then releases the
// finalizer. A member that cannot be reached holds it; unjoining that member releases it.
func (r *FederatedReconciler) finalize(ctx context.Context, obj propagate.Federated) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, v1alpha1.FinalizerCleanup) {
		return ctrl.Result{}, nil
	}
	if !annotated(obj, v1alpha1.AnnotationOrphan) {
		clusters, err := r.clusters(ctx)
		if err != nil {
			return ctrl.Result{}, err
		}
		names := make([]string, len(clusters))
		for i := range clusters {
			names[i] = clusters[i].Name
		}
		_, errs := forEachMember(names, func(name string) (struct{}, error) {
			return struct{}{}, r.deleteFromMember(ctx, obj, name)
		})
		var blocked []string
		for i, err := range errs {
			if err != nil {
				blocked = append(blocked, fmt.Sprintf("%s (%v)", names[i], err))
			}
		}
		if len(blocked) > 0 {
			before := obj.DeepCopyObject().(propagate.Federated)
			meta.SetStatusCondition(&obj.GetFederatedStatus().Conditions, metav1.Condition{
				Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonDeletionBlocked,
				ObservedGeneration: obj.GetGeneration(),
				Message: fmt.Sprintf("Waiting to delete the member copies in %s; unjoin a cluster that will not come back to release the object",
					strings.Join(blocked, ", ")),
			})
			if !equality.Semantic.DeepEqual(before.GetFederatedStatus(), obj.GetFederatedStatus()) {
				if err := r.Client.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil {
					return ctrl.Result{}, fmt.Errorf("patching the status of %s %s: %w", r.kind, client.ObjectKeyFromObject(obj), err)
				}
			}
			// The Registry wakes this object when a member comes back; a FederatedCluster's
			// deletion does too.
			return ctrl.Result{}, nil
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
	for _, m := range []*sync.Map{&r.capacities, &r.conflicts} {
		m.Range(func(key, _ any) bool {
			if strings.HasPrefix(key.(string), uid+"/") {
				m.Delete(key)
			}
			return true
		})
	}
}

// SetupWithManager registers the reconciler for its kind: its own objects, every
// FederatedCluster change, member health changes and changes of its copies in members.
func (r *FederatedReconciler) SetupWithManager(mgr ctrl.Manager) error {
	sample := r.Kind.New()
	r.kind = sample.FederatedKind()
	if r.MaxConcurrentReconciles == 0 {
		r.MaxConcurrentReconciles = 8
	}
	if r.UnschedulableWindow == 0 {
		r.UnschedulableWindow = propagate.DefaultUnschedulableWindow
	}
	if gvk := sample.TargetGVK(); gvk.Kind != "" {
		r.Registry.Watch(gvk)
	}
	r.Registry.Watch(namespaceGVK)
	memberEvents := source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		r.Registry.OnObject(func(_ string, o client.Object) {
			origin, err := propagate.ParseOrigin(o.GetAnnotations()[v1alpha1.AnnotationOrigin])
			if err != nil || origin.Kind != r.kind {
				return
			}
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: origin.Namespace, Name: origin.Name}})
		})
		r.Registry.OnChange(func(string) { r.enqueueAll(ctx, q) })
		return nil
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(sample).
		Watches(&v1alpha1.FederatedCluster{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
			return r.all(ctx)
		})).
		WatchesRawSource(memberEvents).
		Named(r.kind).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}

func (r *FederatedReconciler) enqueueAll(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	for _, req := range r.all(ctx) {
		q.Add(req)
	}
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
