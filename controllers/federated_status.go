package controllers

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/conditions"
	"github.com/kfed-io/kfed/internal/propagate"
)

// setFederatedStatus writes the outcome of a reconcile into the object's status: the clusters,
// the plan, the totals and the Propagated condition propagation owns; Ready, Reconciling and
// Stalled are then summarised from every owned condition (conditions.Summarize). Propagated
// means the object is in every selected cluster and, for a replica-scheduled kind, the requested
// replicas are ready.
func setFederatedStatus(obj propagate.Federated, o outcome) {
	st := obj.GetFederatedStatus()
	st.ObservedGeneration = obj.GetGeneration()
	st.ClusterCount = int32(len(o.selected)) //nolint:gosec // a count of clusters
	st.Clusters = slices.Clone(o.clusters)
	slices.SortFunc(st.Clusters, func(a, b v1alpha1.ClusterStatus) int { return strings.Compare(a.Name, b.Name) })
	st.Plan, st.PlanIntent = nil, ""
	if o.replicas != nil {
		st.Plan, st.PlanIntent = o.replicas.entries, o.replicas.intent
	}
	st.Replicas, st.ReadyReplicas = 0, 0
	for _, c := range st.Clusters {
		st.Replicas += c.Replicas
		st.ReadyReplicas += c.ReadyReplicas
	}
	meta.SetStatusCondition(&st.Conditions, propagatedCondition(obj.GetGeneration(), o, st))
	conditions.Summarize(&st.Conditions, obj.GetGeneration())
}

// propagatedCondition is the Propagated condition of an outcome. A cluster that failed for a
// reason that will not pass by itself (refused, forbidden, not served, taken) makes it
// PropagationFailed, which is stalled; a failure that is retried, a cluster not ready and a move
// in progress keep it Propagating.
func propagatedCondition(generation int64, o outcome, st *v1alpha1.FederatedStatus) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionPropagated, Status: metav1.ConditionFalse, ObservedGeneration: generation}
	var failedIn, waitingIn []string
	for _, cs := range st.Clusters {
		switch {
		case cs.Phase == v1alpha1.PhasePropagated:
		case cs.Phase == v1alpha1.PhaseAlreadyExists, cs.Phase == v1alpha1.PhaseFailed && cs.Reason != "":
			failedIn = append(failedIn, fmt.Sprintf("%s: %s", cs.Name, cs.Message))
		case cs.Phase == v1alpha1.PhaseFailed:
			waitingIn = append(waitingIn, fmt.Sprintf("%s (retrying: %s)", cs.Name, cs.Message))
		default:
			waitingIn = append(waitingIn, fmt.Sprintf("%s (%s)", cs.Name, cs.Phase))
		}
	}
	switch {
	case o.invalid != "":
		c.Reason, c.Message = o.invalidReason, o.invalid
	case len(o.selected) == 0:
		c.Reason, c.Message = v1alpha1.ReasonNoClusters, "No joined cluster matches spec.placement"
	case len(failedIn) > 0:
		c.Reason, c.Message = v1alpha1.ReasonPropagationFailed, strings.Join(failedIn, "; ")
	case len(waitingIn) > 0:
		c.Reason, c.Message = v1alpha1.ReasonPropagating, "Waiting for "+strings.Join(waitingIn, ", ")
	case o.total != nil && st.ReadyReplicas < *o.total:
		c.Reason = v1alpha1.ReasonPropagating
		c.Message = fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, *o.total)
	default:
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonPropagated
		c.Message = fmt.Sprintf("Propagated to %d clusters", len(o.selected))
	}
	return c
}

// setDeletionBlocked says the deletion of an object waits for members that may hold a copy.
func setDeletionBlocked(obj propagate.Federated, blocked []string) {
	st := obj.GetFederatedStatus()
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionPropagated, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonDeletionBlocked,
		ObservedGeneration: obj.GetGeneration(),
		Message: fmt.Sprintf("Waiting to delete the member copies in %s; unjoin a cluster that will not come back to release the object",
			strings.Join(blocked, ", ")),
	})
	conditions.Summarize(&st.Conditions, obj.GetGeneration())
}

// takeOwnedStatus copies into dst's status what propagation owns in src's (everything but the
// conditions of other writers), then summarises the conditions again.
func takeOwnedStatus(dst, src propagate.Federated) {
	d, o := dst.GetFederatedStatus(), src.GetFederatedStatus()
	conds := d.Conditions
	*d = *o.DeepCopy()
	d.Conditions = conds
	for _, t := range []string{v1alpha1.ConditionPropagated} {
		if c := meta.FindStatusCondition(o.Conditions, t); c != nil {
			meta.SetStatusCondition(&d.Conditions, *c)
		}
	}
	conditions.Summarize(&d.Conditions, dst.GetGeneration())
}
