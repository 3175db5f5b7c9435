package propagate

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// DefaultUnschedulableWindow is how long a pod must stay Unschedulable before kfed takes it as
// a sign that its member cluster is full.
const DefaultUnschedulableWindow = 60 * time.Second

// Capacity is an estimate of how many replicas of one workload a member can run.
type Capacity struct {
	// Replicas the member can run in all, those it runs now included: the workload's pods
	// that the member's scheduler placed.
	Replicas int64
	// Stuck is the number of the workload's pods that stayed Unschedulable longer than the window.
	Stuck int
}

// EstimateCapacity reads a workload's pods in one member. When some pod has stayed
// Unschedulable (PodScheduled False, reason Unschedulable) for longer than window at now, the
// member is full for this workload: its capacity is the number of pods it did place, and the
// excess may go to other clusters. Otherwise the capacity is unknown (nil).
//
// Pods being deleted do not count. recheck is how long until a pod that is Unschedulable but not
// for long enough yet crosses the window (0 when none is): the estimate may change then.
func EstimateCapacity(pods []corev1.Pod, now time.Time, window time.Duration) (capacity *Capacity, recheck time.Duration) {
	var placed int64
	stuck := 0
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		if p.Spec.NodeName != "" {
			placed++
			continue
		}
		since, ok := unschedulableSince(p)
		if !ok {
			continue
		}
		if waited := now.Sub(since); waited >= window {
			stuck++
		} else if left := window - waited; recheck == 0 || left < recheck {
			recheck = left
		}
	}
	if stuck == 0 {
		return nil, recheck
	}
	return &Capacity{Replicas: placed, Stuck: stuck}, recheck
}

// unschedulableSince returns when the pod's scheduler last found it could not be placed.
func unschedulableSince(p *corev1.Pod) (time.Time, bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return c.LastTransitionTime.Time, true
		}
	}
	return time.Time{}, false
}

// HeldCapacity is a capacity estimate kept for a while after it was last made.
type HeldCapacity struct {
	Replicas int64
	Until    time.Time
}

// HoldCapacity returns the capacity to plan a member with at now, and what to keep for next
// time (nil: nothing). A fresh estimate is used and held until now+hold. Without one (the
// member's unschedulable pods are gone, typically because the replicas moved away), an earlier
// estimate still held is used, so that the replicas do not come straight back to a member that
// was full; once it expires the capacity is unknown again and the member is offered replicas.
func HoldCapacity(fresh *Capacity, held *HeldCapacity, now time.Time, hold time.Duration) (*int64, *HeldCapacity) {
	switch {
	case fresh != nil:
		n := fresh.Replicas
		return &n, &HeldCapacity{Replicas: n, Until: now.Add(hold)}
	case held != nil && now.Before(held.Until):
		n := held.Replicas
		return &n, held
	default:
		return nil, nil
	}
}
