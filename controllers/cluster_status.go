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
