package controllers

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/propagate"
)

// setFederatedStatus writes the outcome of a reconcile into the object's status. Ready means
// what the user asked for is true now: the object is in every selected cluster and, for a
// replica-scheduled kind, the requested replicas are ready.
func setFederatedStatus(obj propagate.Federated, o outcome) {
	st := obj.GetFederatedStatus()
	st.ObservedGeneration = obj.GetGeneration()
	st.ClusterCount = int32(len(o.selected)) //nolint:gosec // a count of clusters
	st.Clusters = slices.Clone(o.clusters)
	slices.SortFunc(st.Clusters, func(a, b v1alpha1.ClusterStatus) int { return strings.Compare(a.Name, b.Name) })
	st.Plan = o.plan
	st.Replicas, st.ReadyReplicas = 0, 0
	for _, c := range st.Clusters {
		st.Replicas += c.Replicas
		st.ReadyReplicas += c.ReadyReplicas
	}

	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, ObservedGeneration: obj.GetGeneration()}
	var failedIn, waitingIn []string
	for _, c := range st.Clusters {
		switch c.Phase {
		case v1alpha1.PhasePropagated:
		case v1alpha1.PhaseFailed, v1alpha1.PhaseAlreadyExists:
			failedIn = append(failedIn, fmt.Sprintf("%s: %s", c.Name, c.Message))
		default:
			waitingIn = append(waitingIn, fmt.Sprintf("%s (%s)", c.Name, c.Phase))
		}
	}
	switch {
	case o.invalid != "":
		ready.Reason, ready.Message = o.invalidReason, o.invalid
	case len(o.selected) == 0:
		ready.Reason, ready.Message = v1alpha1.ReasonNoClusters, "No joined cluster matches spec.placement"
	case len(failedIn) > 0:
		ready.Reason, ready.Message = v1alpha1.ReasonPropagationFailed, strings.Join(failedIn, "; ")
	case len(waitingIn) > 0:
		ready.Reason, ready.Message = v1alpha1.ReasonPropagating, "Waiting for "+strings.Join(waitingIn, ", ")
	case o.total != nil && st.ReadyReplicas < *o.total:
		ready.Reason = v1alpha1.ReasonPropagating
		ready.Message = fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, *o.total)
	default:
		ready.Status, ready.Reason = metav1.ConditionTrue, v1alpha1.ReasonPropagated
		ready.Message = fmt.Sprintf("Propagated to %d clusters", len(o.selected))
	}
	meta.SetStatusCondition(&st.Conditions, ready)
}
