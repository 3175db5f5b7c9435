package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/member"
)

// indexSecretRef indexes FederatedClusters by "<namespace>/<name>" of their credential Secret.
const indexSecretRef = "spec.secretRef" //nolint:gosec // a field path, not a credential

// ClusterReconciler keeps each FederatedCluster's member connection and status: it reads the
// credential Secret, hands the connection to the member Registry, and reports the Registry's
// Health. Probes run in the Registry; it wakes this reconciler when a member's Health changes.
type ClusterReconciler struct {
	Client    client.Client
	Registry  *member.Registry
	Recorder  events.EventRecorder
	Namespace string
}

// +kubebuilder:rbac:groups=federation.kfed.io,resources=federatedclusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=federation.kfed.io,resources=federatedclusters/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=kfed-system,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one FederatedCluster's connection and status up to date.
func (r *ClusterReconciler) Reconcile(ctx context.Context, req reconcile.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	fc := &v1alpha1.FederatedCluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, fc); err != nil {
		if apierrors.IsNotFound(err) {
			// Unjoined: stop the probes, the cache and the client.
			r.Registry.Remove(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("reading FederatedCluster %s: %w", req.Name, err)
	}
	if !fc.DeletionTimestamp.IsZero() {
		r.Registry.Remove(fc.Name)
		return ctrl.Result{}, nil
	}
	before := fc.DeepCopy()

	conn, credErr, err := r.connection(ctx, fc)
	if err != nil {
		return ctrl.Result{}, err
	}
	var health member.Health
	if credErr != nil {
		r.Registry.Remove(fc.Name)
	} else {
		if err := r.Registry.Ensure(ctx, fc.Name, conn); err != nil {
			return ctrl.Result{}, fmt.Errorf("connecting to member %s: %w", fc.Name, err)
		}
		health, _ = r.Registry.Health(fc.Name)
	}
	setClusterStatus(fc, health, credErr)

	if equality.Semantic.DeepEqual(before.Status, fc.Status) {
		return ctrl.Result{}, nil
	}
	if err := r.Client.Status().Patch(ctx, fc, client.MergeFrom(before)); err != nil {
		return ctrl.Result{}, fmt.Errorf("patching the status of FederatedCluster %s: %w", fc.Name, err)
	}
	r.recordTransition(before, fc)
	log.V(1).Info("Updated status", "cluster", klog.KObj(fc))
	return ctrl.Result{}, nil
}

// connection reads the credential Secret. A problem the user must fix comes back as a
// credentialError; an error is returned only for what a retry may fix.
func (r *ClusterReconciler) connection(ctx context.Context, fc *v1alpha1.FederatedCluster) (member.Connection, *credentialError, error) {
	ns, name := secretKey(fc, r.Namespace)
	if ns != r.Namespace {
		return member.Connection{}, &credentialError{
			reason: v1alpha1.ReasonSecretNotFound,
			message: fmt.Sprintf("Secret %s/%s is outside namespace %s, the only namespace kfed reads member credentials from (--namespace)",
				ns, name, r.Namespace),
		}, nil
	}
	secret := &corev1.Secret{}
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return member.Connection{}, &credentialError{
				reason:  v1alpha1.ReasonSecretNotFound,
				message: fmt.Sprintf("Secret %s/%s not found", ns, name),
			}, nil
		}
		return member.Connection{}, nil, fmt.Errorf("reading Secret %s/%s: %w", ns, name, err)
	}
	conn, credErr := connectionFor(fc, secret)
	return conn, credErr, nil
}

// recordTransition emits an Event when the Ready condition's status or reason changed.
func (r *ClusterReconciler) recordTransition(before, after *v1alpha1.FederatedCluster) {
	was := meta.FindStatusCondition(before.Status.Conditions, v1alpha1.ConditionReady)
	now := meta.FindStatusCondition(after.Status.Conditions, v1alpha1.ConditionReady)
	if now == nil || (was != nil && was.Status == now.Status && was.Reason == now.Reason) {
		return
	}
	kind := corev1.EventTypeWarning
	if now.Status == "True" {
		kind = corev1.EventTypeNormal
	}
	r.Recorder.Eventf(after, nil, kind, now.Reason, "Probe", "%s", now.Message)
}

// SetupWithManager registers the reconciler, its Secret index and the Registry's notifications.
func (r *ClusterReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.FederatedCluster{}, indexSecretRef,
		func(o client.Object) []string {
			ns, name := secretKey(o.(*v1alpha1.FederatedCluster), r.Namespace)
			return []string{ns + "/" + name}
		}); err != nil {
		return fmt.Errorf("indexing FederatedClusters by Secret: %w", err)
	}
	healthChanges := source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		r.Registry.OnChange(func(cluster string) {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: cluster}})
		})
		return nil
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.FederatedCluster{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.clustersForSecret)).
		WatchesRawSource(healthChanges).
		Named("federatedcluster").
		Complete(r)
}

// clustersForSecret maps a credential Secret to the FederatedClusters that use it.
func (r *ClusterReconciler) clustersForSecret(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.FederatedClusterList
	if err := r.Client.List(ctx, &list, client.MatchingFields{indexSecretRef: o.GetNamespace() + "/" + o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing the FederatedClusters of a Secret", "secret", klog.KObj(o))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, fc := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: fc.Name}})
	}
	return reqs
}
