package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/fleet"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/internal/propagate"
)

// readMembers gathers what kfed's caches hold of obj in every joined cluster: the input of
// propagate.PlanMembers. Clusters are read in parallel; a cluster that is not Ready is not read.
// A cluster whose read does not answer within memberReadBudget (a member that hangs holds the
// lookup of a kind's mapping; a kind new to a member takes a while to look up) is returned as
// waiting and named in stalled; the read goes on in the background, no other read of the object
// goes to that cluster meanwhile, and its end wakes the object again.
func (r *FederatedReconciler) readMembers(ctx context.Context, obj propagate.Federated, views []fleet.Cluster) (
	members []propagate.Member, stalled []string) {
	gvk, key, err := propagate.MemberKey(obj)
	previous := map[string]v1alpha1.ClusterStatus{}
	for _, c := range obj.GetFederatedStatus().Clusters {
		previous[c.Name] = c
	}
	members = make([]propagate.Member, len(views))
	done := make([]bool, len(views))
	type result struct {
		i int
		m propagate.Member
	}
	results := make(chan result, len(views))
	var gaveUp atomic.Bool
	objKey := client.ObjectKeyFromObject(obj)
	running := 0
	for i, v := range views {
		members[i] = propagate.Member{
			Cluster:         propagate.Cluster{Name: v.Name, Labels: v.Labels},
			Ready:           v.Ready(),
			NotReadyMessage: v.Message,
			Previous:        previous[v.Name],
		}
		if !members[i].Ready || err != nil || gvk.Kind == "" {
			done[i] = true
			continue
		}
		flight := "read/" + string(obj.GetUID()) + "/" + v.Name
		if _, busy := r.inflight.LoadOrStore(flight, struct{}{}); busy {
			continue // not done: reported as stalled below
		}
		running++
		go func(m propagate.Member) {
			m = r.readMember(ctx, m, gvk, key)
			r.inflight.Delete(flight)
			results <- result{i, m}
			if gaveUp.Load() && r.enqueue != nil {
				r.enqueue(objKey)
			}
		}(members[i])
	}
	timer := time.NewTimer(memberReadBudget)
	defer timer.Stop()
wait:
	for ; running > 0; running-- {
		select {
		case res := <-results:
			members[res.i], done[res.i] = res.m, true
		case <-timer.C:
			gaveUp.Store(true)
			// A read that ended before the flag was set is taken here; one that ends after it
			// sees the flag and wakes the object.
			for drained := false; !drained; {
				select {
				case res := <-results:
					members[res.i], done[res.i] = res.m, true
				default:
					drained = true
				}
			}
			break wait
		}
	}
	for i := range members {
		if !done[i] {
			members[i].Ready, members[i].Waiting = false, true
			members[i].NotReadyMessage = fmt.Sprintf("Waiting for kfed's read of the cluster (more than %s)", memberReadBudget)
			stalled = append(stalled, members[i].Cluster.Name)
		}
	}
	return members, stalled
}

// wakePlaced enqueues every object placed on a cluster.
func (r *FederatedReconciler) wakePlaced(cluster string) {
	if r.enqueue == nil {
		return
	}
	for _, o := range r.placed.on(cluster, false) {
		r.enqueue(o)
	}
}

// readMember reads the scope of obj's kind in one Ready member and its copy there.
func (r *FederatedReconciler) readMember(ctx context.Context, m propagate.Member, gvk schema.GroupVersionKind,
	key types.NamespacedName) propagate.Member {
	cl, cerr := r.Registry.Client(m.Cluster.Name)
	if cerr != nil {
		m.Ready, m.NotReadyMessage = false, "kfed is not connected to the cluster yet"
		return m
	}
	probe := &unstructured.Unstructured{}
	probe.SetGroupVersionKind(gvk)
	namespaced, serr := cl.IsObjectNamespaced(probe)
	switch {
	case meta.IsNoMatchError(serr):
		m.Scope = propagate.ScopeNotServed
		return m
	case serr != nil:
		m.Scope, m.ReadErr = propagate.ScopeUnknown, fmt.Errorf("finding the scope of %s: %w", gvk.Kind, serr)
		return m
	case namespaced:
		m.Scope = propagate.ScopeNamespaced
	default:
		m.Scope = propagate.ScopeCluster
	}
	if namespaced != (key.Namespace != "") {
		return m // the plan refuses it; kfed never wrote a copy there
	}
	reader, rerr := r.copyReader(ctx, m.Cluster.Name, gvk)
	if rerr != nil {
		m.ReadErr = fmt.Errorf("reading %s %s in cluster %s: %w", gvk.Kind, key, m.Cluster.Name, rerr)
		return m
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	switch gerr := reader.Get(ctx, key, live); {
	case apierrors.IsNotFound(gerr):
	case gerr != nil:
		m.ReadErr = fmt.Errorf("reading %s %s in cluster %s: %w", gvk.Kind, key, m.Cluster.Name, gerr)
	default:
		m.Live = live
	}
	return m
}

// copyReader reads the copies of a kind in a member from propagation's watch of them, once it has
// synced (waiting up to member.SyncWait); from the member's API server when it has not (a kind
// kfed's identity may not list never syncs: read directly, it fails with the reason).
func (r *FederatedReconciler) copyReader(ctx context.Context, cluster string, gvk schema.GroupVersionKind) (client.Reader, error) {
	w, err := r.copies.of(gvk)
	if err != nil {
		return nil, err
	}
	reader, err := w.WaitReader(ctx, cluster, member.SyncWait)
	if errors.Is(err, member.ErrWatchNotSynced) {
		return r.Registry.DirectClient(cluster)
	}
	return reader, err
}

// copyChanged wakes the object whose copy changed in a member, unless the change is the echo of
// kfed's own write there (echoes). Any other change (another writer, the member's controllers
// writing status, a deletion) wakes it.
func (r *FederatedReconciler) copyChanged(cluster string, obj client.Object, origin types.NamespacedName) {
	if r.echoes.heard(origin, cluster, obj.GetResourceVersion()) && r.enqueue != nil {
		r.enqueue(origin)
	}
}

// memberWriteBudget is how long a reconcile waits for its member writes. A write that takes
// longer (a member that hangs) goes on in the background: its cluster reports Pending and counts
// as slow, so that later reconciles write nothing there and do not wait for it, until that write
// ends; its end wakes the objects placed on the cluster again. So a hung member costs the others
// nothing: the reconciles, and the workers, stay free.
const memberWriteBudget = 2 * time.Second

// memberReadBudget is how long a reconcile waits for its member reads: longer than a read waits
// for a new kind's informer to sync (member.SyncWait), after which it reads the API server.
const memberReadBudget = member.SyncWait + 2*time.Second

// executeAll carries out the planned actions that only selects, the writes in parallel, and
// returns each cluster's status entry and error, in the order of actions (zero for the others).
func (r *FederatedReconciler) executeAll(ctx context.Context, obj propagate.Federated, p *propagate.Plan,
	members []propagate.Member, actions []propagate.MemberAction, only func(int) bool) ([]v1alpha1.ClusterStatus, []error) {
	sts, errs := make([]v1alpha1.ClusterStatus, len(actions)), make([]error, len(actions))
	type result struct {
		i   int
		st  v1alpha1.ClusterStatus
		err error
	}
	results := make(chan result, len(actions))
	slots := make(chan struct{}, memberWriters)
	var gaveUp atomic.Bool
	key := client.ObjectKeyFromObject(obj)
	running := 0
	for i, a := range actions {
		if !only(i) {
			continue
		}
		if a.Action == propagate.ActionNone {
			sts[i], errs[i] = r.execute(ctx, obj, p, &members[i], a)
			continue
		}
		if _, slow := r.slow.Load(a.Cluster); slow {
			sts[i] = v1alpha1.ClusterStatus{Name: a.Cluster, Phase: v1alpha1.PhasePending, Replicas: a.Status.Replicas,
				Message: fmt.Sprintf("Waiting for the cluster to answer: a write has been waiting for more than %s", memberWriteBudget)}
			continue
		}
		flight := string(obj.GetUID()) + "/" + a.Cluster
		if _, busy := r.inflight.LoadOrStore(flight, struct{}{}); busy {
			sts[i] = v1alpha1.ClusterStatus{Name: a.Cluster, Phase: v1alpha1.PhasePending, Replicas: a.Status.Replicas,
				Message: "Waiting for the cluster to answer an earlier write"}
			continue
		}
		running++
		go func() {
			slots <- struct{}{}
			st, err := r.execute(ctx, obj, p, &members[i], a)
			<-slots
			r.inflight.Delete(flight)
			results <- result{i, st, err}
			if _, wasSlow := r.slow.LoadAndDelete(a.Cluster); wasSlow {
				r.wakePlaced(a.Cluster)
			}
			if gaveUp.Load() && r.enqueue != nil {
				r.enqueue(key)
			}
		}()
	}
	timer := time.NewTimer(memberWriteBudget)
	defer timer.Stop()
	for ; running > 0; running-- {
		select {
		case res := <-results:
			sts[res.i], errs[res.i] = res.st, res.err
		case <-timer.C:
			gaveUp.Store(true)
			// A write that ended before the flag was set is read here; one that ends after it
			// sees the flag and wakes the object.
		drain:
			for {
				select {
				case res := <-results:
					sts[res.i], errs[res.i] = res.st, res.err
				default:
					break drain
				}
			}
			for i, a := range actions {
				if only(i) && a.Action != propagate.ActionNone && sts[i].Name == "" {
					r.slow.Store(a.Cluster, struct{}{})
					sts[i] = v1alpha1.ClusterStatus{Name: a.Cluster, Phase: v1alpha1.PhasePending, Replicas: a.Status.Replicas,
						Message: fmt.Sprintf("Waiting for the cluster to answer a write (more than %s)", memberWriteBudget)}
				}
			}
			return sts, errs
		}
	}
	return sts, errs
}

// execute carries out one planned action in a member and returns the cluster's status entry;
// an error is returned too when the write failed for a reason that may pass (a retry with
// backoff). Safe to call for several members at once.
func (r *FederatedReconciler) execute(ctx context.Context, obj propagate.Federated, p *propagate.Plan, m *propagate.Member,
	a propagate.MemberAction) (v1alpha1.ClusterStatus, error) {
	if a.Action == propagate.ActionNone {
		if a.Retry {
			return a.Status, fmt.Errorf("cluster %s: %s", a.Cluster, a.Status.Message)
		}
		return a.Status, nil
	}
	direct, err := r.Registry.DirectClient(a.Cluster)
	if err != nil {
		return v1alpha1.ClusterStatus{Name: a.Cluster, Phase: v1alpha1.PhaseClusterNotReady, Message: "kfed is not connected to the cluster"}, err
	}
	key := client.ObjectKeyFromObject(obj)
	var written string // the copy's resourceVersion after the write
	r.echoes.writing(key, a.Cluster)
	defer func() {
		if r.echoes.done(key, a.Cluster, written) && r.enqueue != nil {
			r.enqueue(key)
		}
	}()
	switch a.Action {
	case propagate.ActionCreate:
		written, err = r.create(ctx, a.Cluster, direct, a.Object)
		if apierrors.IsAlreadyExists(err) {
			// One kfed did not create, or one the cache does not show yet: plan again from
			// what the member holds.
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(a.Object.GroupVersionKind())
			if gerr := direct.Get(ctx, client.ObjectKeyFromObject(a.Object), live); gerr != nil {
				return r.writeFailed(a, gerr)
			}
			fresh := *m
			fresh.Live = live
			again := propagate.PlanMembers(propagate.Plan{Object: p.Object, Target: p.Target, Selected: p.Selected,
				Members: []propagate.Member{fresh}, Replicas: p.Replicas, Held: p.Held})[0]
			if again.Action == propagate.ActionCreate {
				return r.writeFailed(again, err)
			}
			return r.execute(ctx, obj, p, &fresh, again)
		}
	case propagate.ActionApply:
		if a.HandOver {
			err = r.handOver(ctx, a.Cluster, direct, a.Object)
		}
		if err == nil {
			applied := a.Object.DeepCopy()
			err = direct.Apply(ctx, client.ApplyConfigurationFromUnstructured(applied), client.FieldOwner(propagate.FieldOwner), client.ForceOwnership)
			if err == nil {
				countWrite(a.Cluster, "update")
				written = applied.GetResourceVersion()
			}
		}
	case propagate.ActionDelete:
		return a.Status, r.delete(ctx, a.Cluster, direct, a.Object)
	}
	if err != nil {
		return r.writeFailed(a, err)
	}
	var base int64
	if m.Live != nil {
		base = m.Live.GetGeneration()
	}
	r.rememberWrite(obj, a.Cluster, base, a.Object)
	r.observePropagation(obj)
	return a.Status, nil
}

// create creates a copy in a member, and its namespace there when kfed does not know it exists,
// and returns the copy's resourceVersion.
func (r *FederatedReconciler) create(ctx context.Context, cluster string, direct client.Client, desired *unstructured.Unstructured) (string, error) {
	ns := desired.GetNamespace()
	if err := r.ensureNamespace(ctx, cluster, direct, ns); err != nil {
		return "", err
	}
	created := desired.DeepCopy()
	err := direct.Create(ctx, created, client.FieldOwner(propagate.FieldOwner))
	if err == nil {
		countWrite(cluster, "create")
	}
	if apierrors.IsNotFound(err) {
		r.namespaces.Delete(cluster + "/" + ns) // the namespace went away
	}
	return created.GetResourceVersion(), err
}

// delete deletes a copy kfed wrote, only if it is still the object that was read.
func (r *FederatedReconciler) delete(ctx context.Context, cluster string, direct client.Client, live *unstructured.Unstructured) error {
	uid := live.GetUID()
	if err := direct.Delete(ctx, live, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s in cluster %s: %w", live.GetKind(), client.ObjectKeyFromObject(live), cluster, err)
	}
	countWrite(cluster, "delete")
	return nil
}

// handOver moves the fields kfed owns in a member object through its create over to its apply
// entry (propagate.ApplyOwnership), before its first apply to the object. It reads the object
// from the member and makes the write conditional on its resourceVersion.
func (r *FederatedReconciler) handOver(ctx context.Context, cluster string, direct client.Client, desired *unstructured.Unstructured) error {
	fresh := &unstructured.Unstructured{}
	fresh.SetGroupVersionKind(desired.GroupVersionKind())
	if err := direct.Get(ctx, client.ObjectKeyFromObject(desired), fresh); err != nil {
		return err
	}
	entries, changed, err := propagate.ApplyOwnership(fresh.GetManagedFields(), propagate.FieldOwner)
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
func (r *FederatedReconciler) writeFailed(a propagate.MemberAction, err error) (v1alpha1.ClusterStatus, error) {
	st := propagate.FailedStatus(a.Cluster, err)
	st.Replicas = a.Status.Replicas
	if st.Reason != "" {
		return st, nil
	}
	return st, fmt.Errorf("writing %s %s in cluster %s: %w", a.Object.GetKind(), client.ObjectKeyFromObject(a.Object), a.Cluster, err)
}

// memberWriters is how many members one reconcile reads or writes at a time.
const memberWriters = 16

// forEachMember runs fn for every item, up to memberWriters at a time, and returns the results
// in the order of items.
func forEachMember[I, T any](items []I, fn func(I) (T, error)) ([]T, []error) {
	sts, errs := make([]T, len(items)), make([]error, len(items))
	if len(items) == 1 {
		sts[0], errs[0] = fn(items[0])
		return sts, errs
	}
	slots := make(chan struct{}, memberWriters)
	var wg sync.WaitGroup
	for i, item := range items {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			sts[i], errs[i] = fn(item)
		})
	}
	wg.Wait()
	return sts, errs
}

// reportConflict emits one Warning Event per object kfed did not create in a member, and
// remembers it, so that later reconciles stay quiet.
func (r *FederatedReconciler) reportConflict(obj propagate.Federated, st v1alpha1.ClusterStatus) {
	key := string(obj.GetUID()) + "/" + st.Name
	if st.Phase != v1alpha1.PhaseAlreadyExists {
		r.conflicts.Delete(key)
		return
	}
	// Once per conflict: later reconciles find it in the status (after an operator restart) or
	// in memory (when the cache does not show the status patch yet) and stay quiet.
	_, reported := r.conflicts.LoadOrStore(key, struct{}{})
	if !reported && previousPhase(obj, st.Name) != v1alpha1.PhaseAlreadyExists {
		r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, string(v1alpha1.PhaseAlreadyExists), "Propagate", "Cluster %s: %s", st.Name, st.Message)
	}
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
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: managedLabels()}}
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
