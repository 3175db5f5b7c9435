package propagate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEstimateCapacity(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	window := time.Minute
	placed := func() corev1.Pod { return corev1.Pod{Spec: corev1.PodSpec{NodeName: "node-0"}} }
	pending := func() corev1.Pod { return corev1.Pod{} } // not looked at by a scheduler yet
	unschedulable := func(ago time.Duration) corev1.Pod {
		return corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			LastTransitionTime: metav1.NewTime(now.Add(-ago)),
		}}}}
	}
	deleting := func(p corev1.Pod) corev1.Pod {
		p.DeletionTimestamp = &metav1.Time{Time: now}
		return p
	}
	otherCondition := corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "SchedulingGated",
		LastTransitionTime: metav1.NewTime(now.Add(-time.Hour)),
	}}}}

	tests := []struct {
		name        string
		pods        []corev1.Pod
		want        *Capacity
		wantRecheck time.Duration
	}{
		{name: "no pods: unknown"},
		{name: "every pod placed: unknown, the member may take more", pods: []corev1.Pod{placed(), placed()}},
		{name: "pods not looked at yet do not count", pods: []corev1.Pod{placed(), pending()}},
		{
			name:        "unschedulable for less than the window: unknown yet, look again when it is over",
			pods:        []corev1.Pod{placed(), unschedulable(20 * time.Second), unschedulable(45 * time.Second)},
			wantRecheck: 15 * time.Second,
		},
		{
			name: "unschedulable for the window: the member runs what it placed",
			pods: []corev1.Pod{placed(), placed(), placed(), unschedulable(time.Minute), unschedulable(10 * time.Minute)},
			want: &Capacity{Replicas: 3, Stuck: 2},
		},
		{
			name:        "some past the window, one not yet",
			pods:        []corev1.Pod{placed(), unschedulable(2 * time.Minute), unschedulable(50 * time.Second)},
			want:        &Capacity{Replicas: 1, Stuck: 1},
			wantRecheck: 10 * time.Second,
		},
		{
			name: "nothing placed at all: capacity zero",
			pods: []corev1.Pod{unschedulable(5 * time.Minute)},
			want: &Capacity{Replicas: 0, Stuck: 1},
		},
		{
			name: "pods being deleted do not count, placed or not",
			pods: []corev1.Pod{placed(), deleting(placed()), deleting(unschedulable(time.Hour))},
		},
		{
			name: "another reason for not being scheduled (a scheduling gate) is not a full cluster",
			pods: []corev1.Pod{placed(), otherCondition},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, recheck := EstimateCapacity(tc.pods, now, window)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("capacity (-want +got):\n%s", diff)
			}
			if recheck != tc.wantRecheck {
				t.Errorf("recheck = %s, want %s", recheck, tc.wantRecheck)
			}
		})
	}
}

func TestHoldCapacity(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	hold := 5 * time.Minute
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		name     string
		fresh    *Capacity
		held     *HeldCapacity
		want     *int64
		wantHeld *HeldCapacity
	}{
		{name: "nothing known"},
		{
			name:     "a fresh estimate is used and held",
			fresh:    &Capacity{Replicas: 6, Stuck: 4},
			want:     n(6),
			wantHeld: &HeldCapacity{Replicas: 6, Until: now.Add(hold)},
		},
		{
			name:     "a fresh estimate replaces a held one",
			fresh:    &Capacity{Replicas: 8, Stuck: 1},
			held:     &HeldCapacity{Replicas: 6, Until: now.Add(time.Minute)},
			want:     n(8),
			wantHeld: &HeldCapacity{Replicas: 8, Until: now.Add(hold)},
		},
		{
			name:     "no fresh estimate: the held one while it lasts",
			held:     &HeldCapacity{Replicas: 6, Until: now.Add(time.Second)},
			want:     n(6),
			wantHeld: &HeldCapacity{Replicas: 6, Until: now.Add(time.Second)},
		},
		{
			name: "no fresh estimate and the held one expired: unknown, offered replicas again",
			held: &HeldCapacity{Replicas: 6, Until: now},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, held := HoldCapacity(tc.fresh, tc.held, now, hold)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("capacity (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantHeld, held); diff != "" {
				t.Errorf("held (-want +got):\n%s", diff)
			}
		})
	}
}
