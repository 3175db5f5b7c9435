package controllers

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/member"
)

// setClusterStatus writes what is known of a member into its FederatedCluster's status. With a
// credential error there is no connection, and nothing but the condition is reported.
func setClusterStatus(fc *v1alpha1.FederatedCluster, h member.Health, credErr *credentialError) {
	st := &fc.Status
	st.ObservedGeneration = fc.Generation
	ready := metav1.Condition{
		Type:               v1alpha1.ConditionReady,
		Status:             metav1.ConditionFalse,
		ObservedGeneration: fc.Generation,
	}
	switch {
	case credErr != nil:
		ready.Reason, ready.Message = credErr.reason, credErr.message
		h = member.Health{}
	case h.Ready:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionTrue, h.Reason, h.Message
		if h.SyncError != "" {
			ready.Message += "; but " + h.SyncError
		}
	default:
		ready.Reason, ready.Message = h.Reason, h.Message
	}
	meta.SetStatusCondition(&st.Conditions, ready)
	setClusterProgress(&st.Conditions, ready)

	st.KubernetesVersion = h.KubernetesVersion
	st.Nodes = h.Nodes.Ready
	st.Allocatable = h.Nodes.Allocatable
	st.Region = fc.Spec.Region
	if st.Region == "" {
		st.Region = h.Nodes.Region
	}
	st.Zones = slices.Clone(fc.Spec.Zones)
	slices.Sort(st.Zones)
	if len(st.Zones) == 0 {
		st.Zones = slices.Clone(h.Nodes.Zones)
	}
	st.ZoneList = strings.Join(st.Zones, ",")
}

// setClusterProgress puts kstatus's Reconciling and Stalled beside a cluster's (or a
// FederatedDomain's) Ready, so that kstatus, Flux and Argo CD read it as kubectl wait does:
// Ready=False while the first probes are still to answer (Probing) is Reconciling; Ready=False
// for any other reason (the member or the DNS provider down, credentials refused, unusable or
// missing) is Stalled, since it takes a change in the member, the provider or a Secret. Ready
// carries neither.
func setClusterProgress(conds *[]metav1.Condition, ready metav1.Condition) {
	set, unset := "", []string{v1alpha1.ConditionReconciling, v1alpha1.ConditionStalled}
	switch {
	case ready.Status == metav1.ConditionTrue:
	case ready.Reason == v1alpha1.ReasonProbing:
		set, unset = v1alpha1.ConditionReconciling, unset[1:]
	default:
		set, unset = v1alpha1.ConditionStalled, unset[:1]
	}
	for _, t := range unset {
		meta.RemoveStatusCondition(conds, t)
	}
	if set != "" {
		meta.SetStatusCondition(conds, metav1.Condition{Type: set, Status: metav1.ConditionTrue, ObservedGeneration: ready.ObservedGeneration,
			Reason: ready.Reason, Message: ready.Message})
	}
}
