package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/internal/propagate"
	"github.com/kfed-io/kfed/internal/scheduler"
)

// fieldOwner is kfed's field manager in members: it server-side applies what it wants, so the
// fields a member owns (a Service's clusterIP, an HPA's replicas) are never fought over.
const fieldOwner = "kfed"

var namespaceGVK = corev1.SchemeGroupVersion.WithKind("Namespace")

// outcome is what one reconcile learned and did, for the status.
type outcome struct {
	// invalid explains why nothing could be planned (bad placement, missing source Secret).
	invalidReason, invalid string
	selected               []string
	clusters               []v1alpha1.ClusterStatus
	plan                   []v1alpha1.ClusterPlan
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

// connecting returns the selected clusters the host reports Ready but kfed is not connected to,
// while the Registry is still finding out (a member whose cache cannot sync is not waited for).
func (r *FederatedReconciler) connecting(selected []string, byName map[string]*v1alpha1.FederatedCluster) []string {
	var waiting []string
	for _, name := range selected {
		if !meta.IsStatusConditionTrue(byName[name].Status.Conditions, v1alpha1.ConditionReady) {
			continue
		}
		if _, err := r.Registry.Client(name); err == nil {
			continue
		}
		if h, ok := r.Registry.Health(name); ok && h.Ready && h.SyncError != "" {
			continue
		}
		waiting = append(waiting, name)
	}
	return waiting
}

// propagate plans and applies obj in every cluster, and removes it from the clusters it no
// longer selects.
func (r *FederatedReconciler) propagate(ctx context.Context, obj propagate.Federated, clusters []v1alpha1.FederatedCluster) outcome {
	infos := make([]propagate.Cluster, len(clusters))
	byName := make(map[string]*v1alpha1.FederatedCluster, len(clusters))
	for i := range clusters {
		infos[i] = propagate.Cluster{Name: clusters[i].Name, Labels: clusters[i].Labels}
		byName[clusters[i].Name] = &clusters[i]
	}
	var out outcome
	selected, err := propagate.SelectClusters(*obj.GetPlacement(), infos)
	if err != nil {
		return outcome{invalidReason: v1alpha1.ReasonInvalid, invalid: err.Error()}
	}
	out.selected = selected
	if _, _, err := propagate.MemberKey(obj); err != nil {
		// E.g. a template namespace other than the object's own: nothing is written anywhere.
		return outcome{selected: selected, invalidReason: v1alpha1.ReasonInvalid, invalid: err.Error()}
	}
	if waiting := r.connecting(selected, byName); len(waiting) > 0 {
		// A cluster the host reports Ready that kfed has no verdict of yet (the operator just
		// started, or the member just failed and the host does not say so yet): planning now
		// would move replicas away from it and rewrite the status, only to move them back.
		return outcome{selected: selected, wait: true}
	}
	target := propagate.Target{}
	if fs, ok := obj.(*v1alpha1.FederatedSecret); ok {
		secret := &corev1.Secret{}
		key := types.NamespacedName{Namespace: fs.Namespace, Name: fs.Spec.SecretRef.Name}
		if err := r.Client.Get(ctx, key, secret); err != nil {
			if apierrors.IsNotFound(err) {
				return outcome{selected: selected, invalidReason: v1alpha1.ReasonSourceNotFound,
					invalid: fmt.Sprintf("Secret %s named by spec.secretRef not found", key)}
			}
			return outcome{selected: selected, retryErr: fmt.Errorf("reading Secret %s: %w", key, err)}
		}
		target.Secret = secret
	}
	replicas, current, err := r.planReplicas(ctx, obj, selected, byName, &out)
	if err != nil {
		return outcome{selected: selected, invalidReason: v1alpha1.ReasonInvalid, invalid: err.Error()}
	}

	statuses := r.applyInOrder(ctx, obj, selected, byName, target, replicas, current, &out)
	for _, name := range selected {
		out.clusters = append(out.clusters, statuses[name])
		if statuses[name].Phase != v1alpha1.PhaseAlreadyExists {
			r.conflicts.Delete(string(obj.GetUID()) + "/" + name)
		}
		if statuses[name].Reason == v1alpha1.ReasonKindNotServed {
			// Nothing in the member tells kfed when the kind is installed there: look again.
			out.requeueAt(kindNotServedRecheck)
		}
	}

	// Copies in clusters no longer selected go away.
	for i := range clusters {
		name := clusters[i].Name
		if _, ok := statuses[name]; ok {
			continue
		}
		if err := r.deleteFromMember(ctx, obj, name); err != nil && !errors.Is(err, member.ErrClusterNotConnected) {
			out.retryErr = err
		}
	}
	return out
}

// applyInOrder writes obj to the selected clusters and returns their statuses: the clusters that
// grow (or have no replica count) first, in parallel, then those that shrink, and those only
// when every growth was written, so the sum of desired replicas never drops below the request
// while replicas move.
func (r *FederatedReconciler) applyInOrder(ctx context.Context, obj propagate.Federated, selected []string,
	byName map[string]*v1alpha1.FederatedCluster, target propagate.Target, replicas map[string]int32, current map[string]int64,
	out *outcome) map[string]v1alpha1.ClusterStatus {
	var grow, shrink []string
	for _, name := range selected {
		if n, planned := replicas[name]; planned && int64(n) < current[name] {
			shrink = append(shrink, name)
		} else {
			grow = append(grow, name)
		}
	}
	statuses := map[string]v1alpha1.ClusterStatus{}
	apply := func(names []string) {
		sts, errs := forEachMember(names, func(name string) (v1alpha1.ClusterStatus, error) {
			return r.applyToMember(ctx, obj, byName[name], target, replicas)
		})
		for i, name := range names {
			statuses[name] = sts[i]
			if errs[i] != nil {
				out.retryErr = errs[i]
			}
		}
	}
	apply(grow)
	growthFailed := false
	for _, name := range grow {
		// A cluster planned at 0 because it is down or tainted is no growth to wait for.
		if n, planned := replicas[name]; planned && int64(n) > current[name] && statuses[name].Phase != v1alpha1.PhasePropagated {
			growthFailed = true
		}
	}
	if growthFailed {
		for _, name := range shrink {
			statuses[name] = v1alpha1.ClusterStatus{Name: name, Phase: v1alpha1.PhasePending,
				Replicas: int32(current[name]), //nolint:gosec // a replica count kfed wrote
				Message:  "Scaling down waits until the clusters that take over its replicas are updated"}
		}
	} else {
		apply(shrink)
	}
	return statuses
}

// planReplicas runs the replica scheduler for the kinds that have one. It returns the planned
// count per cluster and what each member runs now.
func (r *FederatedReconciler) planReplicas(ctx context.Context, obj propagate.Federated, selected []string,
	byName map[string]*v1alpha1.FederatedCluster, out *outcome) (map[string]int32, map[string]int64, error) {
	rs := obj.GetReplicaScheduling()
	total, ok := propagate.TotalReplicas(obj)
	if rs == nil || !ok {
		return nil, nil, nil
	}
	out.total = &total
	gvk, key, err := propagate.MemberKey(obj)
	if err != nil {
		return nil, nil, err
	}
	in := scheduler.Input{
		Key:         key.String(),
		Total:       int64(total),
		Mode:        scheduler.Mode(rs.Mode),
		Rebalance:   rs.Rebalance,
		Preferences: map[string]scheduler.Preference{},
	}
	for name, p := range rs.Clusters {
		weight := int64(1)
		if p.Weight != nil {
			weight = *p.Weight
		}
		in.Preferences[name] = scheduler.Preference{Weight: weight, MinReplicas: p.MinReplicas, MaxReplicas: p.MaxReplicas}
	}
	if len(in.Preferences) == 0 {
		in.Preferences[scheduler.DefaultPreference] = scheduler.Preference{Weight: 1}
	}
	current := map[string]int64{}
	for _, name := range selected {
		fc := byName[name]
		c := scheduler.Cluster{Name: name, Ready: meta.IsStatusConditionTrue(fc.Status.Conditions, v1alpha1.ConditionReady)}
		for _, t := range fc.Spec.Taints {
			c.Taints = append(c.Taints, scheduler.TaintEffect(t.Effect))
		}
		if cl, err := r.Registry.Client(name); err == nil {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(gvk)
			if err := cl.Get(ctx, key, live); err == nil && ownedBy(live, obj) {
				if n, found, _ := unstructured.NestedInt64(live.Object, "spec", "replicas"); found {
					c.Current, current[name] = n, n
				}
				c.Capacity = r.capacity(ctx, obj, name, live, out)
			}
		} else {
			c.Ready = false
		}
		in.Clusters = append(in.Clusters, c)
	}
	plan, err := scheduler.Schedule(in)
	if err != nil {
		return nil, nil, fmt.Errorf("spec.replicaScheduling: %w", err)
	}
	replicas := make(map[string]int32, len(plan.Assignments))
	for _, a := range plan.Assignments {
		replicas[a.Cluster] = int32(a.Replicas)                                        //nolint:gosec // at most the int32 total
		entry := v1alpha1.ClusterPlan{Cluster: a.Cluster, Replicas: int32(a.Replicas)} //nolint:gosec // idem
		for _, reason := range a.Reasons {
			entry.Reasons = append(entry.Reasons, string(reason))
		}
		out.plan = append(out.plan, entry)
	}
	return replicas, current, nil
}

// capacity estimates how many replicas of obj the member can run, from the pods of its copy
// there that stay Unschedulable (propagate.EstimateCapacity, held by propagate.HoldCapacity for
// capacityHoldWindows windows). Pods are read only while the copy has replicas that are not ready.
func (r *FederatedReconciler) capacity(ctx context.Context, obj propagate.Federated, cluster string,
	live *unstructured.Unstructured, out *outcome) *int64 {
	key := string(obj.GetUID()) + "/" + cluster
	now := time.Now()
	var fresh *propagate.Capacity
	replicas, _, _ := unstructured.NestedInt64(live.Object, statusField, "replicas")
	ready, _, _ := unstructured.NestedInt64(live.Object, statusField, "readyReplicas")
	if replicas > ready {
		pods, err := r.workloadPods(ctx, cluster, live)
		if err != nil {
			ctrl.LoggerFrom(ctx).V(1).Info("Not estimating capacity", "cluster", cluster, "reason", err.Error())
		} else {
			var recheck time.Duration
			fresh, recheck = propagate.EstimateCapacity(pods, now, r.UnschedulableWindow)
			out.requeueAt(recheck)
		}
	}
	var held *propagate.HeldCapacity
	if v, ok := r.capacities.Load(key); ok {
		held = v.(*propagate.HeldCapacity)
	}
	capacity, keep := propagate.HoldCapacity(fresh, held, now, capacityHoldWindows*r.UnschedulableWindow)
	if keep == nil {
		r.capacities.Delete(key)
		return nil
	}
	r.capacities.Store(key, keep)
	out.requeueAt(keep.Until.Sub(now))
	return capacity
}

// kindNotServedRecheck is how often a member that does not serve an object's kind is looked at again.
const kindNotServedRecheck = 15 * time.Second

// capacityHoldWindows is how many unschedulable windows a capacity estimate is held.
const capacityHoldWindows = 5

// workloadPods lists the pods a member workload selects.
func (r *FederatedReconciler) workloadPods(ctx context.Context, cluster string, live *unstructured.Unstructured) ([]corev1.Pod, error) {
	raw, found, err := unstructured.NestedMap(live.Object, "spec", "selector")
	if err != nil || !found {
		return nil, fmt.Errorf("%s %s has no spec.selector", live.GetKind(), client.ObjectKeyFromObject(live))
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
		return nil, fmt.Errorf("reading spec.selector of %s %s: %w", live.GetKind(), client.ObjectKeyFromObject(live), err)
	}
	selector, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		return nil, fmt.Errorf("reading spec.selector of %s %s: %w", live.GetKind(), client.ObjectKeyFromObject(live), err)
	}
	direct, err := r.Registry.DirectClient(cluster)
	if err != nil {
		return nil, err
	}
	var pods corev1.PodList
	if err := direct.List(ctx, &pods, client.InNamespace(live.GetNamespace()), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, fmt.Errorf("listing the pods of %s %s in cluster %s: %w", live.GetKind(), client.ObjectKeyFromObject(live), cluster, err)
	}
	return pods.Items, nil
}

// requeueAt asks for another look after d at the latest (d > 0).
func (o *outcome) requeueAt(d time.Duration) {
	if d > 0 && (o.requeueAfter == 0 || d < o.requeueAfter) {
		o.requeueAfter = d
	}
}

// applyToMember makes one member hold the desired copy of obj, writing only when what it has
// differs, and reports the cluster's status; a write that failed for a reason that may pass is
// also returned as an error. Safe to call for several members at once.
func (r *FederatedReconciler) applyToMember(ctx context.Context, obj propagate.Federated, fc *v1alpha1.FederatedCluster,
	target propagate.Target, replicas map[string]int32) (v1alpha1.ClusterStatus, error) {
	st := v1alpha1.ClusterStatus{Name: fc.Name}
	if !meta.IsStatusConditionTrue(fc.Status.Conditions, v1alpha1.ConditionReady) {
		st.Phase, st.Message = v1alpha1.PhaseClusterNotReady, "The cluster is not Ready"
		return st, nil
	}
	cl, err := r.Registry.Client(fc.Name)
	if err != nil {
		st.Phase, st.Message = v1alpha1.PhaseClusterNotReady, "kfed is not connected to the cluster yet"
		return st, nil
	}
	direct, err := r.Registry.DirectClient(fc.Name)
	if err != nil {
		st.Phase, st.Message = v1alpha1.PhaseClusterNotReady, "kfed is not connected to the cluster yet"
		return st, nil
	}
	target.Cluster = propagate.Cluster{Name: fc.Name, Labels: fc.Labels}
	target.Replicas = nil
	if n, ok := replicas[fc.Name]; ok {
		target.Replicas = &n
	}
	desired, err := propagate.Desired(obj, target)
	if err != nil {
		st.Phase, st.Reason, st.Message = v1alpha1.PhaseFailed, v1alpha1.ReasonOverrideFailed, err.Error()
		return st, nil
	}
	gvk := desired.GroupVersionKind()
	r.Registry.Watch(gvk)
	key := client.ObjectKeyFromObject(desired)
	if st, ok := r.checkScope(cl, desired, st); !ok {
		return st, nil
	}

	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	err = cl.Get(ctx, key, live)
	switch {
	case apierrors.IsNotFound(err):
		// Not among the objects kfed manages.
		return r.createInMember(ctx, obj, fc.Name, direct, desired, target.Replicas)
	case err != nil:
		return failed(st, err), nil
	}
	return r.updateInMember(ctx, obj, fc.Name, direct, desired, live, target.Replicas)
}

// createInMember creates the desired copy in a member whose cache does not have it. A plain
// create, not an apply: it fails when the name is taken by an object kfed did not create, which
// is then left alone (or adopted with the annotation), and it costs the API server less.
func (r *FederatedReconciler) createInMember(ctx context.Context, obj propagate.Federated, cluster string, direct client.Client,
	desired *unstructured.Unstructured, planned *int32) (v1alpha1.ClusterStatus, error) {
	st := v1alpha1.ClusterStatus{Name: cluster}
	key := client.ObjectKeyFromObject(desired)
	if err := r.ensureNamespace(ctx, cluster, direct, key.Namespace); err != nil {
		return failed(st, err), nil
	}
	err := direct.Create(ctx, desired.DeepCopy(), client.FieldOwner(fieldOwner))
	switch {
	case err == nil:
		countWrite(cluster, "create")
		r.observePropagation(obj)
		st.Phase = v1alpha1.PhasePropagated
		fillCounts(&st, nil, planned)
		return st, nil
	case apierrors.IsAlreadyExists(err):
		// One kfed did not create, or one the cache does not show yet.
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(desired.GroupVersionKind())
		if err := direct.Get(ctx, key, live); err != nil {
			return r.writeFailed(st, desired, err)
		}
		return r.updateInMember(ctx, obj, cluster, direct, desired, live, planned)
	case apierrors.IsNotFound(err):
		r.namespaces.Delete(cluster + "/" + key.Namespace) // the namespace went away
	}
	return r.writeFailed(st, desired, err)
}

// updateInMember makes an existing member object hold the desired copy: it applies what
// differs, if kfed wrote the object (or adopts it).
func (r *FederatedReconciler) updateInMember(ctx context.Context, obj propagate.Federated, cluster string, direct client.Client,
	desired, live *unstructured.Unstructured, planned *int32) (v1alpha1.ClusterStatus, error) {
	st := v1alpha1.ClusterStatus{Name: cluster}
	if !ownedBy(live, obj) && !annotated(obj, v1alpha1.AnnotationAdopt) {
		return r.alreadyExists(obj, st, live), nil
	}
	if propagate.Matches(desired, live) {
		st.Phase = v1alpha1.PhasePropagated
		fillCounts(&st, live, planned)
		return st, nil
	}
	if err := r.takeOwnership(ctx, cluster, direct, live); err != nil {
		return r.writeFailed(st, desired, err)
	}
	if err := direct.Apply(ctx, client.ApplyConfigurationFromUnstructured(desired), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
		return r.writeFailed(st, desired, err)
	}
	countWrite(cluster, "update")
	r.observePropagation(obj)
	st.Phase = v1alpha1.PhasePropagated
	fillCounts(&st, live, planned)
	return st, nil
}

// takeOwnership moves the fields kfed owns in a member object through its create over to its
// apply entry (propagate.ApplyOwnership), before its first apply to the object. The write is
// conditional on the object's resourceVersion, read from the member when the cache had it.
func (r *FederatedReconciler) takeOwnership(ctx context.Context, cluster string, direct client.Client, live *unstructured.Unstructured) error {
	if _, changed, err := propagate.ApplyOwnership(live.GetManagedFields(), fieldOwner); !changed || err != nil {
		return err
	}
	fresh := &unstructured.Unstructured{}
	fresh.SetGroupVersionKind(live.GroupVersionKind())
	if err := direct.Get(ctx, client.ObjectKeyFromObject(live), fresh); err != nil {
		return err
	}
	entries, changed, err := propagate.ApplyOwnership(fresh.GetManagedFields(), fieldOwner)
	if !changed || err != nil {
		return err
	}
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/resourceVersion", "value": fresh.GetResourceVersion()},
		{"op": "replace", "path": "/metadata/managedFields", "value": entries},
	})
	if err != nil {
		return err
	}
	if err := direct.Patch(ctx, fresh, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		// A failed test of the resourceVersion (the object changed since it was read) comes back
		// as 422 Invalid: not wrapped, so that it is retried rather than reported as bad input.
		return fmt.Errorf("handing kfed's fields over to server-side apply (will retry): %v", err) //nolint:errorlint // see above
	}
	countWrite(cluster, "update")
	return nil
}

// writeFailed reports a member write that failed; one that may pass later is also returned as
// an error, for a retry with backoff.
func (r *FederatedReconciler) writeFailed(st v1alpha1.ClusterStatus, desired *unstructured.Unstructured, err error) (v1alpha1.ClusterStatus, error) {
	st = failed(st, err)
	if st.Reason != "" {
		return st, nil
	}
	return st, fmt.Errorf("writing %s %s in cluster %s: %w", desired.GetKind(), client.ObjectKeyFromObject(desired), st.Name, err)
}

// memberWriters is how many members one reconcile writes to at a time.
const memberWriters = 16

// forEachMember runs fn for every member name, up to memberWriters at a time, and returns the
// results in the order of names.
func forEachMember[T any](names []string, fn func(string) (T, error)) ([]T, []error) {
	sts, errs := make([]T, len(names)), make([]error, len(names))
	if len(names) == 1 {
		sts[0], errs[0] = fn(names[0])
		return sts, errs
	}
	slots := make(chan struct{}, memberWriters)
	var wg sync.WaitGroup
	for i, name := range names {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			sts[i], errs[i] = fn(name)
		})
	}
	wg.Wait()
	return sts, errs
}

// checkScope makes sure the member object lands where the federated object may write: a
// namespaced federated object only ever writes into its own namespace, so a kind the member
// serves cluster-scoped is refused; a ClusterFederatedObject only writes cluster-scoped kinds.
func (r *FederatedReconciler) checkScope(cl client.Client, desired *unstructured.Unstructured, st v1alpha1.ClusterStatus) (v1alpha1.ClusterStatus, bool) {
	namespaced, err := cl.IsObjectNamespaced(desired)
	switch {
	case meta.IsNoMatchError(err):
		// A stable message: the error's text varies with what discovery saw, and a status that
		// changed with it would be rewritten for nothing.
		st.Phase, st.Reason = v1alpha1.PhaseFailed, v1alpha1.ReasonKindNotServed
		st.Message = fmt.Sprintf("The cluster does not serve %s %s (is its CustomResourceDefinition installed there?)",
			desired.GetAPIVersion(), desired.GetKind())
		return st, false
	case err != nil:
		return failed(st, fmt.Errorf("finding the scope of %s: %w", desired.GroupVersionKind().Kind, err)), false
	case !namespaced && desired.GetNamespace() != "":
		st.Phase, st.Reason = v1alpha1.PhaseFailed, v1alpha1.ReasonClusterScoped
		st.Message = fmt.Sprintf("%s is cluster-scoped in the cluster, and a %s only writes into its own namespace; use a ClusterFederatedObject",
			desired.GetKind(), r.kind)
		return st, false
	case namespaced && desired.GetNamespace() == "":
		st.Phase, st.Reason = v1alpha1.PhaseFailed, v1alpha1.ReasonInvalid
		st.Message = fmt.Sprintf("%s is namespaced in the cluster; a %s is for cluster-scoped kinds, use a FederatedObject",
			desired.GetKind(), r.kind)
		return st, false
	}
	return st, true
}

// alreadyExists reports an object in a member that kfed did not create, and leaves it alone.
func (r *FederatedReconciler) alreadyExists(obj propagate.Federated, st v1alpha1.ClusterStatus, live *unstructured.Unstructured) v1alpha1.ClusterStatus {
	st.Phase = v1alpha1.PhaseAlreadyExists
	st.Message = fmt.Sprintf("%s %s exists in the cluster and kfed did not create it; annotate the %s with %s: \"true\" to take it over",
		live.GetKind(), client.ObjectKeyFromObject(live), r.kind, v1alpha1.AnnotationAdopt)
	// Once per conflict: later reconciles find it in the status (after an operator restart) or
	// in memory (when the cache does not show the status patch yet) and stay quiet.
	_, reported := r.conflicts.LoadOrStore(string(obj.GetUID())+"/"+st.Name, struct{}{})
	if !reported && previousPhase(obj, st.Name) != v1alpha1.PhaseAlreadyExists {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, string(v1alpha1.PhaseAlreadyExists), "Propagate", "Cluster %s: %s", st.Name, st.Message)
	}
	return st
}

// previousPhase is the phase the object's status has for a cluster, before this reconcile.
func previousPhase(obj propagate.Federated, cluster string) v1alpha1.PropagationPhase {
	for _, c := range obj.GetFederatedStatus().Clusters {
		if c.Name == cluster {
			return c.Phase
		}
	}
	return ""
}

// failed turns a member error into a Failed status with a reason where one is known.
func failed(st v1alpha1.ClusterStatus, err error) v1alpha1.ClusterStatus {
	st.Phase, st.Message = v1alpha1.PhaseFailed, err.Error()
	switch {
	case meta.IsNoMatchError(err):
		st.Reason, st.Message = v1alpha1.ReasonKindNotServed, "The cluster does not serve this kind: "+err.Error()
	case apierrors.IsForbidden(err):
		st.Reason = v1alpha1.ReasonForbidden
	case apierrors.IsInvalid(err):
		st.Reason = v1alpha1.ReasonInvalid
	}
	return st
}

// trueValue is the value of kfed's boolean labels and annotations.
const trueValue = "true"

// statusField is the top-level field of a member object's status.
const statusField = "status"

// annotated tells whether an object carries one of kfed's boolean annotations set to "true".
func annotated(obj metav1.Object, key string) bool {
	return obj.GetAnnotations()[key] == trueValue
}

// ownedBy tells whether a member object was written by kfed for obj.
func ownedBy(live *unstructured.Unstructured, obj propagate.Federated) bool {
	return live.GetLabels()[v1alpha1.LabelManaged] == trueValue &&
		live.GetAnnotations()[v1alpha1.AnnotationOrigin] == propagate.FormatOrigin(propagate.OriginOf(obj))
}

// fillCounts copies replica counts of the member object into the cluster status.
func fillCounts(st *v1alpha1.ClusterStatus, live *unstructured.Unstructured, planned *int32) {
	if planned != nil {
		st.Replicas = *planned
	}
	if live == nil {
		return
	}
	for _, path := range [][]string{{statusField, "readyReplicas"}, {statusField, "numberReady"}, {statusField, "succeeded"}} {
		if n, found, _ := unstructured.NestedInt64(live.Object, path...); found {
			st.ReadyReplicas = int32(n) //nolint:gosec // a replica count
			break
		}
	}
	if planned == nil {
		for _, path := range [][]string{{statusField, "replicas"}, {statusField, "desiredNumberScheduled"}} {
			if n, found, _ := unstructured.NestedInt64(live.Object, path...); found {
				st.Replicas = int32(n) //nolint:gosec // a replica count
				break
			}
		}
	}
}

// ensureNamespace creates a member namespace, labelled managed, when it does not exist.
func (r *FederatedReconciler) ensureNamespace(ctx context.Context, cluster string, direct client.Client, namespace string) error {
	if namespace == "" {
		return nil
	}
	key := cluster + "/" + namespace
	if _, ok := r.namespaces.Load(key); ok {
		return nil
	}
	err := direct.Get(ctx, types.NamespacedName{Name: namespace}, &corev1.Namespace{})
	if apierrors.IsNotFound(err) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: map[string]string{v1alpha1.LabelManaged: trueValue}}}
		err = direct.Create(ctx, ns)
		if err == nil {
			countWrite(cluster, "create")
		}
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("making sure namespace %s exists in cluster %s: %w", namespace, cluster, err)
	}
	r.namespaces.Store(key, struct{}{})
	return nil
}

// deleteFromMember deletes obj's copy from a member, if kfed wrote one there. An unreachable
// member is an error (ErrClusterNotConnected).
func (r *FederatedReconciler) deleteFromMember(ctx context.Context, obj propagate.Federated, cluster string) error {
	gvk, key, err := propagate.MemberKey(obj)
	if err != nil || gvk.Kind == "" {
		return nil //nolint:nilerr // nothing valid was ever propagated
	}
	cl, err := r.Registry.Client(cluster)
	if err != nil {
		if r.neverPropagatedTo(obj, cluster) {
			return nil
		}
		return err
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	if err := cl.Get(ctx, key, live); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return nil
		}
		return fmt.Errorf("reading %s %s in cluster %s: %w", gvk.Kind, key, cluster, err)
	}
	if !ownedBy(live, obj) {
		return nil
	}
	uid := live.GetUID()
	if err := cl.Delete(ctx, live, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s in cluster %s: %w", gvk.Kind, key, cluster, err)
	}
	countWrite(cluster, "delete")
	return nil
}

// neverPropagatedTo tells whether the status shows obj never reached the cluster.
func (r *FederatedReconciler) neverPropagatedTo(obj propagate.Federated, cluster string) bool {
	for _, c := range obj.GetFederatedStatus().Clusters {
		if c.Name == cluster {
			return c.Phase != v1alpha1.PhasePropagated && c.Phase != v1alpha1.PhaseClusterNotReady
		}
	}
	return true
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
