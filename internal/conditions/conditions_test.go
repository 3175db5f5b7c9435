package conditions

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

func cond(t, status, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: metav1.ConditionStatus(status), Reason: reason, Message: msg, ObservedGeneration: 3}
}

func TestSummarize(t *testing.T) {
	const other = "DNSPublished"
	defer func(saved []string) { Contributors = saved }(Contributors)
	Contributors = []string{v1alpha1.ConditionPropagated, other}

	tests := []struct {
		name string
		in   []metav1.Condition
		want []metav1.Condition
	}{
		{
			name: "no owned condition: nothing changes",
			in:   []metav1.Condition{cond("Other", "True", "X", "")},
			want: []metav1.Condition{cond("Other", "True", "X", "")},
		},
		{
			name: "every owned condition True: Ready True with the first one's reason, nothing reconciling or stalled",
			in: []metav1.Condition{cond(v1alpha1.ConditionPropagated, "True", "Propagated", "Propagated to 3 clusters"),
				cond(other, "True", "Published", "3 names"), cond(v1alpha1.ConditionReconciling, "True", "Propagating", "old")},
			want: []metav1.Condition{cond(v1alpha1.ConditionPropagated, "True", "Propagated", "Propagated to 3 clusters"),
				cond(other, "True", "Published", "3 names"), cond(v1alpha1.ConditionReady, "True", "Propagated", "Propagated to 3 clusters")},
		},
		{
			name: "one converging: Ready False and Reconciling with its reason",
			in: []metav1.Condition{cond(v1alpha1.ConditionPropagated, "False", "Propagating", "Waiting for a"),
				cond(other, "True", "Published", "3 names")},
			want: []metav1.Condition{cond(v1alpha1.ConditionPropagated, "False", "Propagating", "Waiting for a"),
				cond(other, "True", "Published", "3 names"), cond(v1alpha1.ConditionReady, "False", "Propagating", "Waiting for a"),
				cond(v1alpha1.ConditionReconciling, "True", "Propagating", "Waiting for a")},
		},
		{
			name: "another writer's condition speaks for Ready when it is the one not True",
			in: []metav1.Condition{cond(v1alpha1.ConditionPropagated, "True", "Propagated", "ok"),
				cond(other, "False", "Publishing", "waiting for the provider")},
			want: []metav1.Condition{cond(v1alpha1.ConditionPropagated, "True", "Propagated", "ok"),
				cond(other, "False", "Publishing", "waiting for the provider"),
				cond(v1alpha1.ConditionReady, "False", "Publishing", "waiting for the provider"),
				cond(v1alpha1.ConditionReconciling, "True", "Publishing", "waiting for the provider")},
		},
		{
			name: "a stalled reason: Stalled True, not Reconciling",
			in:   []metav1.Condition{cond(v1alpha1.ConditionPropagated, "False", v1alpha1.ReasonInvalid, "bad placement")},
			want: []metav1.Condition{cond(v1alpha1.ConditionPropagated, "False", v1alpha1.ReasonInvalid, "bad placement"),
				cond(v1alpha1.ConditionReady, "False", v1alpha1.ReasonInvalid, "bad placement"),
				cond(v1alpha1.ConditionStalled, "True", v1alpha1.ReasonInvalid, "bad placement")},
		},
		{
			name: "one stalled and one converging: both, Ready from the first by precedence",
			in: []metav1.Condition{cond(v1alpha1.ConditionPropagated, "False", v1alpha1.ReasonPropagating, "moving"),
				cond(other, "False", v1alpha1.ReasonNoClusters, "none")},
			want: []metav1.Condition{cond(v1alpha1.ConditionPropagated, "False", v1alpha1.ReasonPropagating, "moving"),
				cond(other, "False", v1alpha1.ReasonNoClusters, "none"),
				cond(v1alpha1.ConditionReady, "False", v1alpha1.ReasonPropagating, "moving"),
				cond(v1alpha1.ConditionStalled, "True", v1alpha1.ReasonNoClusters, "none"),
				cond(v1alpha1.ConditionReconciling, "True", v1alpha1.ReasonPropagating, "moving")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := append([]metav1.Condition(nil), tt.in...)
			Summarize(&got, 3)
			opts := []cmp.Option{cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime"),
				cmpopts.SortSlices(func(a, b metav1.Condition) bool { return a.Type < b.Type })}
			if diff := cmp.Diff(tt.want, got, opts...); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}
