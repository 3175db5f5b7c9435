package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/fleet"
	"github.com/kfed-io/kfed/internal/propagate"
	"github.com/kfed-io/kfed/internal/scheduler"
)

// replicaPlan is what the replica scheduler decided for one reconcile.
type replicaPlan struct {
	// write is the count to write per cluster now (the plan, with scale-downs held back).
	write map[string]int32
	// held says, per cluster, why its scale-down waits.
	held map[string]string
	// entries is status.plan; intent is status.planIntent.
	entries []v1alpha1.ClusterPlan
	intent  string
	// current is what each member copy asks for now.
	current map[string]int64
}

// planReplicas runs the replica scheduler for the kinds that have one; nil for the others.
//
// A change of spec.replicaScheduling (weights, min/max, total, mode) is the user asking for a new
// distribution: the plan follows it whether or not rebalance is set (the scheduler runs with
// Rebalance for the reconcile that sees the change; status.planIntent records it). rebalance
// governs only the moves kfed would make on its own (a cluster returns or joins, capacity
// frees). The clusters that give replicas up shrink only as far as the ready replicas elsewhere
// allow (propagate.HoldShrinks).
func (r *FederatedReconciler) planReplicas(ctx context.Context, obj propagate.Federated, selected map[string]bool,
	members []propagate.Member, views []fleet.Cluster, out *outcome) (*replicaPlan, error) {
	rs := obj.GetReplicaScheduling()
	total, ok := propagate.TotalReplicas(obj)
	if rs == nil || !ok {
		return nil, nil
	}
	out.total = &total
	intent, err := schedulingIntent(rs, total)
	if err != nil {
		return nil, err
	}
	_, key, err := propagate.MemberKey(obj)
	if err != nil {
		return nil, err
	}
	in := scheduler.Input{
		Key:         key.String(),
		Total:       int64(total),
		Mode:        scheduler.Mode(rs.Mode),
		Rebalance:   rs.Rebalance || intent != obj.GetFederatedStatus().PlanIntent,
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
	var ready int64
	observed := false // some member's workload controller reports status for its copy
	for i := range members {
		m := &members[i]
		if !selected[m.Cluster.Name] {
			continue
		}
		c := scheduler.Cluster{Name: m.Cluster.Name, Ready: m.Ready}
		for _, t := range views[i].Taints {
			c.Taints = append(c.Taints, scheduler.TaintEffect(t.Effect))
		}
		if m.Live != nil && propagate.OwnedBy(m.Live, obj) {
			spec, found, _ := unstructured.NestedInt64(m.Live.Object, "spec", "replicas")
			if w, ok := r.written(obj, m.Cluster.Name, m.Live); ok {
				spec, found = w, true
			}
			if found {
				c.Current, current[m.Cluster.Name] = spec, spec
			}
			// A cluster counts the ready replicas it keeps: a copy kfed just scaled down may
			// still report the ready replicas it had.
			if n, ok := propagate.ReadyReplicas(m.Live); ok {
				ready += min(n, spec)
			}
			if g, _, _ := unstructured.NestedInt64(m.Live.Object, "status", "observedGeneration"); g > 0 {
				observed = true
			}
			c.Capacity = r.capacity(ctx, obj, m.Cluster.Name, m.Live, out)
		}
		in.Clusters = append(in.Clusters, c)
	}
	plan, err := scheduler.Schedule(in)
	if err != nil {
		return nil, fmt.Errorf("spec.replicaScheduling: %w", err)
	}
	rp := &replicaPlan{intent: intent, current: current}
	planned := make(map[string]int32, len(plan.Assignments))
	for _, a := range plan.Assignments {
		planned[a.Cluster] = int32(a.Replicas)                                         //nolint:gosec // at most the int32 total
		entry := v1alpha1.ClusterPlan{Cluster: a.Cluster, Replicas: int32(a.Replicas)} //nolint:gosec // idem
		for _, reason := range a.Reasons {
			entry.Reasons = append(entry.Reasons, string(reason))
		}
		rp.entries = append(rp.entries, entry)
	}
	rp.write, rp.held = planned, nil
	// Where no member reports the workload's status at all, no readiness will ever come to wait
	// for (the members run no controller for it): the move is written at once.
	if in.Mode != scheduler.ModeDuplicated && observed {
		rp.write, rp.held = propagate.HoldShrinks(planned, current, ready, int64(total))
	}
	r.holdForDrain(rp, members, views, out)
	return rp, nil
}

// holdForDrain keeps the replicas of a draining cluster that is still Ready (a NoExecute
// taint) until it is out of every DNS answer and resolvers have let go of it (drainLedger); a
// cluster that is not Ready is scaled down at once, since nothing reaches it anyway.
func (r *FederatedReconciler) holdForDrain(rp *replicaPlan, members []propagate.Member, views []fleet.Cluster, out *outcome) {
	for i := range members {
		v := &views[i]
		if !v.Draining() {
			r.drains.notDraining(v.Name)
			continue
		}
		want, planned := rp.write[v.Name]
		now, has := rp.current[v.Name]
		if !v.Ready() || !planned || !has || int64(want) >= now {
			continue
		}
		ok, why, recheck := r.drains.drained(v.Name)
		if ok {
			continue
		}
		rp.write[v.Name] = int32(now) //nolint:gosec // a replica count kfed wrote
		if rp.held == nil {
			rp.held = map[string]string{}
		}
		rp.held[v.Name] = why
		out.requeueAt(recheck)
	}
}

// schedulingIntent is a digest of what the user asked of the replica scheduler: a change of it
// is a request for a new distribution.
func schedulingIntent(rs *v1alpha1.ReplicaScheduling, total int32) (string, error) {
	b, err := json.Marshal(struct {
		Mode     v1alpha1.ReplicaSchedulingMode        `json:"mode"`
		Total    int32                                 `json:"total"`
		Clusters map[string]v1alpha1.ClusterPreference `json:"clusters"`
	}{rs.Mode, total, rs.Clusters})
	if err != nil {
		return "", fmt.Errorf("encoding spec.replicaScheduling: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

// capacity estimates how many replicas of obj the member can run, from the pods of its copy
// there that stay Unschedulable (propagate.EstimateCapacity, held by propagate.HoldCapacity for
// capacityHoldWindows windows). Pods are read only while the copy has replicas that are not ready.
func (r *FederatedReconciler) capacity(ctx context.Context, obj propagate.Federated, cluster string,
	live *unstructured.Unstructured, out *outcome) *int64 {
	key := string(obj.GetUID()) + "/" + cluster
	now := time.Now()
	var fresh *propagate.Capacity
	replicas, _, _ := unstructured.NestedInt64(live.Object, "status", "replicas")
	ready, _, _ := unstructured.NestedInt64(live.Object, "status", "readyReplicas")
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

// writtenReplicas is the replica count kfed last wrote to a member copy, and the generation the
// copy had in kfed's cache when it was written.
type writtenReplicas struct {
	baseGeneration, replicas int64
}

// rememberWrite records the replica count written to a member copy whose cached generation was
// baseGeneration (0 for a copy created).
func (r *FederatedReconciler) rememberWrite(obj propagate.Federated, cluster string, baseGeneration int64, desired *unstructured.Unstructured) {
	if obj.GetReplicaScheduling() == nil {
		return
	}
	if n, found, _ := unstructured.NestedInt64(desired.Object, "spec", "replicas"); found {
		r.writes.Store(string(obj.GetUID())+"/"+cluster, writtenReplicas{baseGeneration: baseGeneration, replicas: n})
	}
}

// written returns the replicas kfed wrote to a member copy while the cache still shows the copy
// from before that write (its generation not past the one written over); false once the cache
// has caught up.
func (r *FederatedReconciler) written(obj propagate.Federated, cluster string, live *unstructured.Unstructured) (int64, bool) {
	key := string(obj.GetUID()) + "/" + cluster
	v, ok := r.writes.Load(key)
	if !ok {
		return 0, false
	}
	w := v.(writtenReplicas)
	if live.GetGeneration() > w.baseGeneration {
		r.writes.CompareAndDelete(key, v)
		return 0, false
	}
	return w.replicas, true
}
