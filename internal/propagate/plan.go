package propagate

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

// Action is what kfed does to the copy of a federated object in one member.
type Action string

const (
	// ActionNone: nothing to write; the status says why (in place, not ready, refused, ...).
	ActionNone Action = "None"
	// ActionCreate: create the copy (a plain create: it fails on a name kfed did not take).
	ActionCreate Action = "Create"
	// ActionApply: server-side apply the copy, after a hand-over of kfed's create-time fields
	// when HandOver is set.
	ActionApply Action = "Apply"
	// ActionDelete: delete the copy kfed wrote.
	ActionDelete Action = "Delete"
)

// Scope is how a member serves the kind of a federated object's copies.
type Scope string

const (
	// ScopeNamespaced: the member serves the kind, namespaced.
	ScopeNamespaced Scope = "Namespaced"
	// ScopeCluster: the member serves the kind, cluster-scoped.
	ScopeCluster Scope = "Cluster"
	// ScopeNotServed: the member does not serve the kind (its CRD is missing).
	ScopeNotServed Scope = "NotServed"
	// ScopeUnknown: finding the scope failed (Member.ReadErr says why).
	ScopeUnknown Scope = "Unknown"
)

// Member is what kfed knows of one joined cluster and of a federated object's copy there, as
// its caches hold them: the input of the plan.
type Member struct {
	// Cluster names the cluster and carries the labels overrides select by.
	Cluster Cluster
	// Ready is the cluster's verdict (fleet.Cluster.Ready): kfed can read and write it now.
	// NotReadyMessage says why not.
	Ready           bool
	NotReadyMessage string
	// Waiting says the cluster is not read yet (a read is slow to answer): not Ready, and
	// reported Pending rather than ClusterNotReady.
	Waiting bool
	// Scope is how the member serves the copy's kind; the copy is read only when the scope
	// allows the object to write there.
	Scope Scope
	// Live is the copy the member holds (nil when it holds none); ReadErr is the error of
	// finding the scope or reading the copy, when that failed.
	Live    *unstructured.Unstructured
	ReadErr error
	// Previous is the cluster's entry of status.clusters before this reconcile.
	Previous v1alpha1.ClusterStatus
}

// MemberAction is the plan for one cluster: what to write, and the status to report when the
// write succeeds (or when there is nothing to write).
type MemberAction struct {
	Cluster string
	Action  Action
	// HandOver says an Apply must first move kfed's create-time fields to its apply entry
	// (ApplyOwnership).
	HandOver bool
	// Object is the desired copy of a Create or Apply, the live copy of a Delete.
	Object *unstructured.Unstructured
	// Status is the cluster's entry of status.clusters (selected clusters only).
	Status v1alpha1.ClusterStatus
	// Retry says the status reports a failure that may pass: the reconcile retries with backoff.
	Retry bool
	// Blocked says a deletion waits on this cluster: it may hold a copy and cannot be reached.
	Blocked bool
}

// Plan is the input of PlanMembers.
type Plan struct {
	// Object is the federated object; Target carries what a copy is built from besides it (the
	// source Secret of a FederatedSecret). Target.Cluster and Target.Replicas are set per cluster.
	Object Federated
	Target Target
	// Selected holds the names of the clusters the placement selects.
	Selected map[string]bool
	// Members are every joined cluster.
	Members []Member
	// Replicas is the replica plan per cluster (replica-scheduled kinds only; nil otherwise).
	Replicas map[string]int32
	// Held names the clusters whose scale-down waits for replicas to become ready elsewhere
	// (HoldShrinks) or for DNS to let go of them; their copies are written with the replicas
	// they run now.
	Held map[string]string
	// HoldDelete names the clusters no longer selected whose copies stay until DNS lets go of
	// them (drain before move), and why.
	HoldDelete map[string]string
}

// PlanMembers decides, for every joined cluster, what to do with the object's copy there:
//   - a selected cluster that is not Ready: nothing (ClusterNotReady; Pending while kfed's read of
//     it is slow to answer);
//   - a copy that cannot be built (an override that does not apply): nothing (Failed, OverrideFailed);
//   - a kind the member does not serve: nothing (Failed, KindNotServed); a namespaced object whose
//     kind is cluster-scoped there: nothing (Failed, ClusterScoped); a cluster-scoped object whose
//     kind is namespaced there: nothing (Failed, Invalid);
//   - a copy that could not be read: nothing (Failed, retried);
//   - no copy: Create;
//   - a copy kfed did not write: nothing (AlreadyExists), unless the object is annotated to adopt it;
//   - a copy that holds what is desired: nothing (Propagated);
//   - otherwise Apply, after a hand-over when kfed's fields still sit in its create-time entry;
//   - a cluster no longer selected: Delete of a copy kfed wrote there (DeleteAction), unless
//     HoldDelete keeps it for now.
//
// The result is in the order of p.Members.
func PlanMembers(p Plan) []MemberAction {
	out := make([]MemberAction, 0, len(p.Members))
	for i := range p.Members {
		m := &p.Members[i]
		if !p.Selected[m.Cluster.Name] {
			if _, held := p.HoldDelete[m.Cluster.Name]; held {
				out = append(out, MemberAction{Cluster: m.Cluster.Name, Action: ActionNone})
				continue
			}
			a := DeleteAction(p.Object, m)
			a.Blocked = false // a cluster that left the placement is cleaned up when it can be
			out = append(out, a)
			continue
		}
		out = append(out, planSelected(p, m))
	}
	return out
}

func planSelected(p Plan, m *Member) MemberAction {
	a := planCopy(p, m)
	if why, held := p.Held[m.Cluster.Name]; held && a.Status.Phase == v1alpha1.PhasePropagated {
		a.Status.Phase, a.Status.Message = v1alpha1.PhasePending, why
	}
	return a
}

// planCopy decides the action of a selected cluster.
func planCopy(p Plan, m *Member) MemberAction {
	name := m.Cluster.Name
	a := MemberAction{Cluster: name, Action: ActionNone, Status: v1alpha1.ClusterStatus{Name: name}}
	st := &a.Status
	if !m.Ready {
		st.Phase, st.Message = v1alpha1.PhaseClusterNotReady, m.NotReadyMessage
		if m.Waiting {
			st.Phase = v1alpha1.PhasePending
		}
		return a
	}
	t := p.Target
	t.Cluster = m.Cluster
	t.Replicas = nil
	if n, ok := p.Replicas[name]; ok {
		t.Replicas = &n
	}
	desired, err := Desired(p.Object, t)
	if err != nil {
		st.Phase, st.Reason, st.Message = v1alpha1.PhaseFailed, v1alpha1.ReasonOverrideFailed, err.Error()
		return a
	}
	if refused(st, m.Scope, desired, p.Object.FederatedKind()) {
		return a
	}
	if m.ReadErr != nil {
		*st = FailedStatus(name, m.ReadErr)
		a.Retry = st.Reason == ""
		return a
	}
	if m.Live == nil {
		a.Action, a.Object = ActionCreate, desired
		st.Phase = v1alpha1.PhasePropagated
		FillCounts(st, nil, t.Replicas)
		return a
	}
	if !OwnedBy(m.Live, p.Object) && !Annotated(p.Object, v1alpha1.AnnotationAdopt) {
		st.Phase = v1alpha1.PhaseAlreadyExists
		st.Message = fmt.Sprintf("%s %s/%s exists in the cluster and kfed did not create it; annotate the %s with %s: \"true\" to take it over",
			m.Live.GetKind(), m.Live.GetNamespace(), m.Live.GetName(), p.Object.FederatedKind(), v1alpha1.AnnotationAdopt)
		if m.Live.GetNamespace() == "" {
			st.Message = fmt.Sprintf("%s %s exists in the cluster and kfed did not create it; annotate the %s with %s: \"true\" to take it over",
				m.Live.GetKind(), m.Live.GetName(), p.Object.FederatedKind(), v1alpha1.AnnotationAdopt)
		}
		return a
	}
	st.Phase = v1alpha1.PhasePropagated
	FillCounts(st, m.Live, t.Replicas)
	if Matches(desired, m.Live) {
		return a
	}
	a.Action, a.Object = ActionApply, desired
	_, a.HandOver, _ = ApplyOwnership(m.Live.GetManagedFields(), FieldOwner)
	return a
}

// refused reports a copy the member may not get: a kind it does not serve, or one whose scope
// does not let the federated object write there. It returns false when the copy may go there.
func refused(st *v1alpha1.ClusterStatus, scope Scope, desired *unstructured.Unstructured, federatedKind string) bool {
	switch {
	case scope == ScopeNotServed:
		// A stable message: the error's text varies with what discovery saw, and a status that
		// changed with it would be rewritten for nothing.
		st.Phase, st.Reason = v1alpha1.PhaseFailed, v1alpha1.ReasonKindNotServed
		st.Message = fmt.Sprintf("The cluster does not serve %s %s (is its CustomResourceDefinition installed there?)",
			desired.GetAPIVersion(), desired.GetKind())
	case scope == ScopeCluster && desired.GetNamespace() != "":
		st.Phase, st.Reason = v1alpha1.PhaseFailed, v1alpha1.ReasonClusterScoped
		st.Message = fmt.Sprintf("%s is cluster-scoped in the cluster, and a %s only writes into its own namespace; use a ClusterFederatedObject",
			desired.GetKind(), federatedKind)
	case scope == ScopeNamespaced && desired.GetNamespace() == "":
		st.Phase, st.Reason = v1alpha1.PhaseFailed, v1alpha1.ReasonInvalid
		st.Message = fmt.Sprintf("%s is namespaced in the cluster; a %s is for cluster-scoped kinds, use a FederatedObject",
			desired.GetKind(), federatedKind)
	default:
		return false
	}
	return true
}

// DeleteAction decides whether the object's copy in a member is deleted: only a copy kfed
// wrote is. A kind the member does not serve, one the object's scope never let kfed write there,
// or one kfed may not even read (Forbidden: kfed's identity reads every kind it writes) holds
// nothing to delete. A member that cannot be reached blocks the deletion, unless the status shows
// kfed never wrote a copy there.
func DeleteAction(obj Federated, m *Member) MemberAction {
	a := MemberAction{Cluster: m.Cluster.Name, Action: ActionNone}
	gvk, key, err := MemberKey(obj)
	if err != nil || gvk.Kind == "" {
		return a // nothing valid was ever propagated
	}
	if !m.Ready {
		a.Blocked = mayHoldCopy(m.Previous)
		return a
	}
	switch {
	case m.Scope == ScopeNotServed,
		m.Scope == ScopeCluster && key.Namespace != "",
		m.Scope == ScopeNamespaced && key.Namespace == "":
		return a
	case m.ReadErr != nil && apierrors.IsForbidden(m.ReadErr):
		return a
	case m.ReadErr != nil:
		a.Blocked, a.Retry = true, true
		a.Status = FailedStatus(m.Cluster.Name, m.ReadErr)
		return a
	case m.Live == nil || !OwnedBy(m.Live, obj):
		return a
	}
	a.Action, a.Object = ActionDelete, m.Live
	return a
}

// mayHoldCopy tells from a cluster's previous status entry whether kfed may have written a copy
// there: it did unless the entry shows the copy was refused or never got that far.
func mayHoldCopy(prev v1alpha1.ClusterStatus) bool {
	return prev.Phase == v1alpha1.PhasePropagated || prev.Phase == v1alpha1.PhasePending ||
		prev.Phase == v1alpha1.PhaseClusterNotReady
}

// FieldOwner is kfed's field manager in members: it server-side applies what it wants, so the
// fields a member owns (a Service's clusterIP, an HPA's replicas) are never fought over.
const FieldOwner = "kfed"

// trueValue is the value of kfed's boolean labels and annotations.
const trueValue = "true"

// Annotated tells whether an object carries one of kfed's boolean annotations set to "true".
func Annotated(obj interface{ GetAnnotations() map[string]string }, key string) bool {
	return obj.GetAnnotations()[key] == trueValue
}

// OwnedBy tells whether a member object was written by kfed for obj.
func OwnedBy(live *unstructured.Unstructured, obj Federated) bool {
	return live.GetLabels()[v1alpha1.LabelManaged] == trueValue &&
		live.GetAnnotations()[v1alpha1.AnnotationOrigin] == FormatOrigin(OriginOf(obj))
}

// FailedStatus turns a member error into a Failed entry, with a reason where the error says
// the failure will not pass by itself (KindNotServed, Forbidden, Invalid).
func FailedStatus(cluster string, err error) v1alpha1.ClusterStatus {
	st := v1alpha1.ClusterStatus{Name: cluster, Phase: v1alpha1.PhaseFailed, Message: err.Error()}
	switch {
	case apimeta.IsNoMatchError(err):
		st.Reason, st.Message = v1alpha1.ReasonKindNotServed, "The cluster does not serve this kind: "+err.Error()
	case apierrors.IsForbidden(err):
		st.Reason = v1alpha1.ReasonForbidden
	case apierrors.IsInvalid(err):
		st.Reason = v1alpha1.ReasonInvalid
	}
	return st
}

// statusField is the top-level field of a member object's status.
const statusField = "status"

// FillCounts copies the replica counts of the member object into its status entry: the
// planned count when there is one, else what the member reports.
func FillCounts(st *v1alpha1.ClusterStatus, live *unstructured.Unstructured, planned *int32) {
	if planned != nil {
		st.Replicas = *planned
	}
	if live == nil {
		return
	}
	if n, ok := ReadyReplicas(live); ok {
		st.ReadyReplicas = int32(n) //nolint:gosec // a replica count
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

// ReadyReplicas returns what a member workload reports ready: readyReplicas (Deployment,
// ReplicaSet), numberReady (DaemonSet) or succeeded (Job).
func ReadyReplicas(live *unstructured.Unstructured) (int64, bool) {
	for _, path := range [][]string{{statusField, "readyReplicas"}, {statusField, "numberReady"}, {statusField, "succeeded"}} {
		if n, found, _ := unstructured.NestedInt64(live.Object, path...); found {
			return n, true
		}
	}
	return 0, false
}
