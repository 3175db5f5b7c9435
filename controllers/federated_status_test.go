package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

func TestSetFederatedStatus(t *testing.T) {
	thousand := int32(1000)
	propagated := func(name string, replicas, ready int32) v1alpha1.ClusterStatus {
		return v1alpha1.ClusterStatus{Name: name, Phase: v1alpha1.PhasePropagated, Replicas: replicas, ReadyReplicas: ready}
	}
	cond := func(t, status, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: t, Status: metav1.ConditionStatus(status), Reason: reason, Message: msg, ObservedGeneration: 4}
	}
	tests := []struct {
		name       string
		outcome    outcome
		wantConds  []metav1.Condition
		wantTotals [2]int32
	}{
		{
			name:    "invalid: stalled",
			outcome: outcome{invalidReason: v1alpha1.ReasonInvalid, invalid: "spec.placement: bad selector"},
			wantConds: []metav1.Condition{
				cond(v1alpha1.ConditionPropagated, "False", v1alpha1.ReasonInvalid, "spec.placement: bad selector"),
				cond(v1alpha1.ConditionReady, "False", v1alpha1.ReasonInvalid, "spec.placement: bad selector"),
				cond(v1alpha1.ConditionStalled, "True", v1alpha1.ReasonInvalid, "spec.placement: bad selector"),
			},
		},
		{
			name:    "no cluster selected: stalled",
			outcome: outcome{},
			wantConds: []metav1.Condition{
				cond(v1alpha1.ConditionPropagated, "False", v1alpha1.ReasonNoClusters, "No joined cluster matches spec.placement"),
				cond(v1alpha1.ConditionReady, "False", v1alpha1.ReasonNoClusters, "No joined cluster matches spec.placement"),
				cond(v1alpha1.ConditionStalled, "True", v1alpha1.ReasonNoClusters, "No joined cluster matches spec.placement"),
			},
		},
		{
			name: "refused in one cluster, waiting for another: failed wins, stalled",
			outcome: outcome{selected: []string{"a", "b", "c"}, clusters: []v1alpha1.ClusterStatus{
				{Name: "c", Phase: v1alpha1.PhaseClusterNotReady},
				{Name: "b", Phase: v1alpha1.PhaseFailed, Reason: v1alpha1.ReasonForbidden, Message: "forbidden"},
				propagated("a", 0, 0),
			}},
			wantConds: []metav1.Condition{
				cond(v1alpha1.ConditionPropagated, "False", v1alpha1.ReasonPropagationFailed, "b: forbidden"),
				cond(v1alpha1.ConditionReady, "False", v1alpha1.ReasonPropagationFailed, "b: forbidden"),
				cond(v1alpha1.ConditionStalled, "True", v1alpha1.ReasonPropagationFailed, "b: forbidden"),
			},
		},
		{
			name: "a failure that is retried keeps converging",
			outcome: outcome{selected: []string{"a", "b"}, clusters: []v1alpha1.ClusterStatus{
				propagated("a", 0, 0), {Name: "b", Phase: v1alpha1.PhaseFailed, Message: "connection reset"},
			}},
			wantConds: []metav1.Condition{
				cond(v1alpha1.ConditionPropagated, "False", v1alpha1.ReasonPropagating, "Waiting for b (retrying: connection reset)"),
				cond(v1alpha1.ConditionReady, "False", v1alpha1.ReasonPropagating, "Waiting for b (retrying: connection reset)"),
				cond(v1alpha1.ConditionReconciling, "True", v1alpha1.ReasonPropagating, "Waiting for b (retrying: connection reset)"),
			},
		},
		{
			name: "replicas not all ready yet",
			outcome: outcome{selected: []string{"a", "b"}, total: &thousand, clusters: []v1alpha1.ClusterStatus{
				propagated("b", 500, 400), propagated("a", 500, 500),
			}},
			wantTotals: [2]int32{1000, 900},
			wantConds: []metav1.Condition{
				cond(v1alpha1.ConditionPropagated, "False", v1alpha1.ReasonPropagating, "900 of 1000 replicas ready"),
				cond(v1alpha1.ConditionReady, "False", v1alpha1.ReasonPropagating, "900 of 1000 replicas ready"),
				cond(v1alpha1.ConditionReconciling, "True", v1alpha1.ReasonPropagating, "900 of 1000 replicas ready"),
			},
		},
		{
			name: "everything in place and ready",
			outcome: outcome{selected: []string{"a", "b"}, total: &thousand, clusters: []v1alpha1.ClusterStatus{
				propagated("b", 500, 500), propagated("a", 500, 500),
			}},
			wantTotals: [2]int32{1000, 1000},
			wantConds: []metav1.Condition{
				cond(v1alpha1.ConditionPropagated, "True", v1alpha1.ReasonPropagated, "Propagated to 2 clusters"),
				cond(v1alpha1.ConditionReady, "True", v1alpha1.ReasonPropagated, "Propagated to 2 clusters"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := &v1alpha1.FederatedDeployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: 4}}
			// A converging status before: Reconciling goes when it no longer holds.
			obj.Status.Conditions = []metav1.Condition{cond(v1alpha1.ConditionReconciling, "True", "Propagating", "old")}
			setFederatedStatus(obj, tt.outcome)
			opts := []cmp.Option{cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime"),
				cmpopts.SortSlices(func(a, b metav1.Condition) bool { return a.Type < b.Type })}
			if diff := cmp.Diff(tt.wantConds, obj.Status.Conditions, opts...); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if got := [2]int32{obj.Status.Replicas, obj.Status.ReadyReplicas}; got != tt.wantTotals {
				t.Errorf("replicas, ready = %v, want %v", got, tt.wantTotals)
			}
			if obj.Status.ObservedGeneration != 4 || obj.Status.ClusterCount != int32(len(tt.outcome.selected)) {
				t.Errorf("observedGeneration %d, clusterCount %d", obj.Status.ObservedGeneration, obj.Status.ClusterCount)
			}
			for i := 1; i < len(obj.Status.Clusters); i++ {
				if obj.Status.Clusters[i-1].Name > obj.Status.Clusters[i].Name {
					t.Errorf("status.clusters not sorted by name: %v", obj.Status.Clusters)
				}
			}
		})
	}
}
