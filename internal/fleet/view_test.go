package fleet

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/member"
)

func cluster(ready bool) *v1alpha1.FederatedCluster {
	status := metav1.ConditionFalse
	if ready {
		status = metav1.ConditionTrue
	}
	return &v1alpha1.FederatedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "m0", Labels: map[string]string{"tier": "gold"}},
		Spec:       v1alpha1.FederatedClusterSpec{Taints: []v1alpha1.ClusterTaint{{Key: "k", Effect: v1alpha1.TaintEffectNoSchedule}}},
		Status: v1alpha1.FederatedClusterStatus{
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: status}},
			Region:     "us-east1", Zones: []string{"us-east1-b"}, Nodes: 2,
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")},
		},
	}
}

func TestView(t *testing.T) {
	tests := []struct {
		name        string
		hostReady   bool
		health      member.Health
		known       bool
		wantState   State
		wantMessage string
	}{
		{"the host says not Ready", false, member.Health{Ready: true, Synced: true}, true, StateNotReady, "The cluster is not Ready"},
		{"Ready and connected", true, member.Health{Ready: true, Synced: true}, true, StateReady, ""},
		{"Ready but the cache cannot sync", true, member.Health{Ready: true, SyncError: "cannot list nodes"}, true, StateNotReady,
			"kfed is not connected to the cluster: cannot list nodes"},
		{"the Registry's verdict is fresher than the host's", true, member.Health{Reason: v1alpha1.ReasonProbeFailed}, true, StateNotReady,
			"The cluster is not Ready"},
		{"the Registry is still probing", true, member.Health{Reason: v1alpha1.ReasonProbing}, true, StateConnecting,
			"kfed is not connected to the cluster yet"},
		{"the Registry does not hold the member yet", true, member.Health{}, false, StateConnecting, "kfed is not connected to the cluster yet"},
		{"Ready but the cache is still syncing", true, member.Health{Ready: true}, true, StateConnecting, "kfed is not connected to the cluster yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := View(cluster(tt.hostReady), tt.health, tt.known)
			if v.State != tt.wantState || v.Message != tt.wantMessage {
				t.Errorf("View() = %s %q, want %s %q", v.State, v.Message, tt.wantState, tt.wantMessage)
			}
			if v.Region != "us-east1" || len(v.Zones) != 1 || len(v.Taints) != 1 || v.Nodes != 2 || v.Labels["tier"] != "gold" {
				t.Errorf("View() lost the cluster's facts: %+v", v)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	base := View(cluster(true), member.Health{Ready: true, Synced: true}, true)
	with := func(mod func(*Cluster)) *Cluster {
		c := base
		c.Labels = map[string]string{"tier": "gold"}
		mod(&c)
		return &c
	}
	tests := []struct {
		name     string
		old, cur *Cluster
		want     Change
	}{
		{"nothing changed", &base, with(func(*Cluster) {}), 0},
		{"joined", nil, &base, ChangeSelection | ChangeState | ChangeCapacity | ChangeTopology},
		{"left", &base, nil, ChangeSelection | ChangeState | ChangeCapacity | ChangeTopology},
		{"labels", &base, with(func(c *Cluster) { c.Labels = map[string]string{"tier": "silver"} }), ChangeSelection},
		{"readiness", &base, with(func(c *Cluster) { c.State, c.Message = StateNotReady, "The cluster is not Ready" }), ChangeState},
		{"taints", &base, with(func(c *Cluster) { c.Taints = nil }), ChangeState},
		{"a node joined", &base, with(func(c *Cluster) { c.Nodes = 3 }), ChangeCapacity},
		{"allocatable", &base, with(func(c *Cluster) {
			c.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("12")}
		}), ChangeCapacity},
		{"the same allocatable written another way", &base, with(func(c *Cluster) {
			c.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8000m")}
		}), 0},
		{"zones", &base, with(func(c *Cluster) { c.Zones = []string{"us-east1-b", "us-east1-c"} }), ChangeTopology},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Diff(tt.old, tt.cur)); diff != "" {
				t.Errorf("Diff() (-want +got):\n%s", diff)
			}
		})
	}
}
