package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

func TestSetGCLBStatus(t *testing.T) {
	propagated := metav1.Condition{Type: v1alpha1.ConditionPropagated, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonPropagated, ObservedGeneration: 2}
	tests := []struct {
		name          string
		facts         gclbFacts
		wantAddresses []v1alpha1.GlobalAddress
		want          metav1.Condition
		wantReady     metav1.ConditionStatus
	}{
		{
			name:  "no member holds the Ingress",
			facts: gclbFacts{},
			want: metav1.Condition{Reason: v1alpha1.ReasonWaitingForAddress, Status: metav1.ConditionFalse,
				Message: "No member cluster holds the Ingress yet"},
			wantReady: metav1.ConditionFalse,
		},
		{
			name: "a placed cluster without the uid names it, even with an address elsewhere",
			facts: gclbFacts{
				placed: []string{"b", "a"}, uid: "u1", failed: map[string]string{"b": "not Ready"},
				addresses: []v1alpha1.GlobalAddress{{IP: "203.0.113.7", Clusters: []string{"a"}}},
			},
			wantAddresses: []v1alpha1.GlobalAddress{{IP: "203.0.113.7", Clusters: []string{"a"}}},
			want: metav1.Condition{Reason: v1alpha1.ReasonUIDNotShared, Status: metav1.ConditionFalse,
				Message: "The ingress uid u1 is not shared with b: not Ready"},
			wantReady: metav1.ConditionFalse,
		},
		{
			name:  "uid shared, no static IP reported yet",
			facts: gclbFacts{placed: []string{"a", "b"}, uid: "u1"},
			want: metav1.Condition{Reason: v1alpha1.ReasonWaitingForAddress, Status: metav1.ConditionFalse,
				Message: "2 clusters share the ingress uid u1; no member Ingress reports the static IP yet"},
			wantReady: metav1.ConditionFalse,
		},
		{
			name: "the static IP reported: addresses sorted, clusters sorted, Ready",
			facts: gclbFacts{placed: []string{"a", "b", "c"}, uid: "u1", addresses: []v1alpha1.GlobalAddress{
				{IP: "203.0.113.9", Clusters: []string{"c"}}, {IP: "203.0.113.7", Clusters: []string{"b", "a"}},
			}},
			wantAddresses: []v1alpha1.GlobalAddress{{IP: "203.0.113.7", Clusters: []string{"a", "b"}}, {IP: "203.0.113.9", Clusters: []string{"c"}}},
			want: metav1.Condition{Reason: v1alpha1.ReasonGlobalAddressReady, Status: metav1.ConditionTrue,
				Message: "203.0.113.7, 203.0.113.9 through 3 clusters sharing the ingress uid u1"},
			wantReady: metav1.ConditionTrue,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &v1alpha1.FederatedIngressStatus{}
			st.Conditions = []metav1.Condition{propagated}
			setGCLBStatus(st, 2, tt.facts)
			if diff := cmp.Diff(tt.wantAddresses, st.Addresses); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
			got := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionGlobalAddressReady)
			if got == nil {
				t.Fatal("no GlobalAddressReady condition")
			}
			tt.want.Type, tt.want.ObservedGeneration = v1alpha1.ConditionGlobalAddressReady, 2
			got.LastTransitionTime = metav1.Time{}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("condition (-want +got):\n%s", diff)
			}
			if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionPropagated); c == nil || c.Status != metav1.ConditionTrue {
				t.Error("the Propagated condition of another writer was lost")
			}
			if r := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady); r == nil || r.Status != tt.wantReady {
				t.Errorf("Ready %v, want %s", r, tt.wantReady)
			}
		})
	}
}

func TestProviderUIDIsPerClusterAndStable(t *testing.T) {
	a, b := providerUID("cluster-us-east1-b"), providerUID("cluster-europe-west1-b")
	if a == b || len(a) != 8 || a != providerUID("cluster-us-east1-b") {
		t.Errorf("provider-uids %q and %q: want 8 hex digits, different per cluster, the same every time", a, b)
	}
}
