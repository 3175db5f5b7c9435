package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/member"
)

func TestSetClusterStatus(t *testing.T) {
	alloc := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}
	healthy := member.Health{
		Ready: true, Reason: v1alpha1.ReasonProbeSucceeded, Message: "ok", KubernetesVersion: "v1.37.2", Synced: true,
		Nodes: member.NodeSummary{Ready: 2, Region: "us-east1", Zones: []string{"us-east1-b"}, Allocatable: alloc},
	}
	cases := []struct {
		name    string
		spec    v1alpha1.FederatedClusterSpec
		health  member.Health
		credErr *credentialError
		want    v1alpha1.FederatedClusterStatus
	}{{
		name:   "ready member, topology discovered",
		health: healthy,
		want: v1alpha1.FederatedClusterStatus{
			ObservedGeneration: 3,
			Conditions:         []metav1.Condition{{Type: "Ready", Status: "True", Reason: v1alpha1.ReasonProbeSucceeded, Message: "ok", ObservedGeneration: 3}},
			Region:             "us-east1", Zones: []string{"us-east1-b"}, ZoneList: "us-east1-b", KubernetesVersion: "v1.37.2", Nodes: 2, Allocatable: alloc,
		},
	}, {
		name:   "spec topology wins, zones sorted",
		spec:   v1alpha1.FederatedClusterSpec{Region: "r", Zones: []string{"z2", "z1"}},
		health: healthy,
		want: v1alpha1.FederatedClusterStatus{
			ObservedGeneration: 3,
			Conditions:         []metav1.Condition{{Type: "Ready", Status: "True", Reason: v1alpha1.ReasonProbeSucceeded, Message: "ok", ObservedGeneration: 3}},
			Region:             "r", Zones: []string{"z1", "z2"}, ZoneList: "z1,z2", KubernetesVersion: "v1.37.2", Nodes: 2, Allocatable: alloc,
		},
	}, {
		name:   "member down keeps the last known facts and says why",
		health: member.Health{Reason: v1alpha1.ReasonProbeFailed, Message: "refused", KubernetesVersion: "v1.37.2", Nodes: healthy.Nodes},
		want: v1alpha1.FederatedClusterStatus{
			ObservedGeneration: 3,
			Conditions: []metav1.Condition{{Type: "Ready", Status: "False", Reason: v1alpha1.ReasonProbeFailed, Message: "refused", ObservedGeneration: 3},
				{Type: "Stalled", Status: "True", Reason: v1alpha1.ReasonProbeFailed, Message: "refused", ObservedGeneration: 3}},
			Region: "us-east1", Zones: []string{"us-east1-b"}, ZoneList: "us-east1-b", KubernetesVersion: "v1.37.2", Nodes: 2, Allocatable: alloc,
		},
	}, {
		name:   "ready, but its nodes cannot be watched: the message says so",
		health: member.Health{Ready: true, Reason: v1alpha1.ReasonProbeSucceeded, Message: "ok", SyncError: "kfed could not list nodes"},
		want: v1alpha1.FederatedClusterStatus{
			ObservedGeneration: 3,
			Conditions: []metav1.Condition{{Type: "Ready", Status: "True", Reason: v1alpha1.ReasonProbeSucceeded,
				Message: "ok; but kfed could not list nodes", ObservedGeneration: 3}},
		},
	}, {
		name:    "credential error: nothing but the condition",
		health:  healthy,
		credErr: &credentialError{reason: v1alpha1.ReasonSecretNotFound, message: "Secret kfed-system/x not found"},
		want: v1alpha1.FederatedClusterStatus{
			ObservedGeneration: 3,
			Conditions: []metav1.Condition{{Type: "Ready", Status: "False", Reason: v1alpha1.ReasonSecretNotFound,
				Message: "Secret kfed-system/x not found", ObservedGeneration: 3},
				{Type: "Stalled", Status: "True", Reason: v1alpha1.ReasonSecretNotFound, Message: "Secret kfed-system/x not found", ObservedGeneration: 3}},
		},
	}, {
		name:   "first probes still to answer: converging",
		health: member.Health{Reason: v1alpha1.ReasonProbing, Message: "Waiting for the first successful probe of /readyz"},
		want: v1alpha1.FederatedClusterStatus{
			ObservedGeneration: 3,
			Conditions: []metav1.Condition{{Type: "Ready", Status: "False", Reason: v1alpha1.ReasonProbing,
				Message: "Waiting for the first successful probe of /readyz", ObservedGeneration: 3},
				{Type: "Reconciling", Status: "True", Reason: v1alpha1.ReasonProbing,
					Message: "Waiting for the first successful probe of /readyz", ObservedGeneration: 3}},
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fc := &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: "m", Generation: 3}, Spec: tc.spec}
			setClusterStatus(fc, tc.health, tc.credErr)
			if diff := cmp.Diff(tc.want, fc.Status, cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime"), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestSetClusterStatusIsStable(t *testing.T) {
	// The same health twice gives the same status, transition time included: no write.
	fc := &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: "m", Generation: 1}}
	h := member.Health{Ready: true, Reason: v1alpha1.ReasonProbeSucceeded, Message: "ok"}
	setClusterStatus(fc, h, nil)
	first := fc.Status.DeepCopy()
	setClusterStatus(fc, h, nil)
	if diff := cmp.Diff(first, &fc.Status); diff != "" {
		t.Fatalf("(-first +second)\n%s", diff)
	}
}

func TestClusterProgressFollowsReady(t *testing.T) {
	// A cluster that probes, fails, recovers: Reconciling, then Stalled alone, then neither; and a
	// failure that lasts keeps its transition time (no write per probe).
	fc := &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: "m", Generation: 1}}
	types := func() []string {
		ts := make([]string, 0, len(fc.Status.Conditions))
		for _, c := range fc.Status.Conditions {
			ts = append(ts, c.Type)
		}
		return ts
	}
	setClusterStatus(fc, member.Health{Reason: v1alpha1.ReasonProbing}, nil)
	if diff := cmp.Diff([]string{"Ready", "Reconciling"}, types()); diff != "" {
		t.Fatalf("probing (-want +got)\n%s", diff)
	}
	setClusterStatus(fc, member.Health{Reason: v1alpha1.ReasonProbeFailed, Message: "refused"}, nil)
	if diff := cmp.Diff([]string{"Ready", "Stalled"}, types()); diff != "" {
		t.Fatalf("probe failed (-want +got)\n%s", diff)
	}
	first := fc.Status.DeepCopy()
	setClusterStatus(fc, member.Health{Reason: v1alpha1.ReasonProbeFailed, Message: "refused"}, nil)
	if diff := cmp.Diff(first, &fc.Status); diff != "" {
		t.Fatalf("the same failure twice changed the status (-first +second)\n%s", diff)
	}
	setClusterStatus(fc, member.Health{Ready: true, Reason: v1alpha1.ReasonProbeSucceeded}, nil)
	if diff := cmp.Diff([]string{"Ready"}, types()); diff != "" {
		t.Fatalf("ready (-want +got)\n%s", diff)
	}
}
