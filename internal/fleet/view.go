// Package fleet gives every consumer of member clusters (propagation, DNS, global load
// balancing) the same verdict of each joined cluster: a pure function of its FederatedCluster in
// the host and of the member Registry's live health.
package fleet

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/member"
)

// State is the verdict of one cluster.
type State string

const (
	// StateReady: the host reports the cluster Ready and kfed is connected to it (its cache has
	// synced), so reads and writes go through.
	StateReady State = "Ready"
	// StateNotReady: the host reports the cluster not Ready, or kfed cannot use its connection.
	StateNotReady State = "NotReady"
	// StateConnecting: the host reports the cluster Ready but kfed has no verdict of its own yet
	// (the operator just started, or the member just failed and the host does not say so yet).
	// Consumers wait rather than act on it: acting would move replicas away only to move them back.
	StateConnecting State = "Connecting"
)

// Cluster is what every consumer knows of one joined cluster.
type Cluster struct {
	Name   string
	Labels map[string]string
	State  State
	// Message says why the cluster is not Ready; empty when it is.
	Message     string
	Region      string
	Zones       []string
	Taints      []v1alpha1.ClusterTaint
	Nodes       int32
	Allocatable corev1.ResourceList
}

// Ready tells whether the cluster can be read and written now.
func (c *Cluster) Ready() bool { return c.State == StateReady }

// Draining tells whether the cluster's replicas are to move away (a NoExecute taint): DNS takes
// it out of its answers first, and the replicas go once resolvers have let go of it.
func (c *Cluster) Draining() bool {
	for _, t := range c.Taints {
		if t.Effect == v1alpha1.TaintEffectNoExecute {
			return true
		}
	}
	return false
}

// View returns the verdict of a cluster from its FederatedCluster and the Registry's Health of
// it (known is false when the Registry does not hold the member).
func View(fc *v1alpha1.FederatedCluster, h member.Health, known bool) Cluster {
	c := Cluster{
		Name:        fc.Name,
		Labels:      fc.Labels,
		Region:      fc.Status.Region,
		Zones:       fc.Status.Zones,
		Taints:      fc.Spec.Taints,
		Nodes:       fc.Status.Nodes,
		Allocatable: fc.Status.Allocatable,
	}
	switch {
	case !meta.IsStatusConditionTrue(fc.Status.Conditions, v1alpha1.ConditionReady):
		c.State, c.Message = StateNotReady, "The cluster is not Ready"
	case known && h.Ready && h.Synced:
		c.State = StateReady
	case known && h.Ready && h.SyncError != "":
		c.State, c.Message = StateNotReady, "kfed is not connected to the cluster: "+h.SyncError
	case known && !h.Ready && h.Reason != v1alpha1.ReasonProbing:
		// The Registry's verdict is fresher than the host's: the same message as the host's
		// NotReady, so that the host catching up changes nothing.
		c.State, c.Message = StateNotReady, "The cluster is not Ready"
	default:
		c.State, c.Message = StateConnecting, "kfed is not connected to the cluster yet"
	}
	return c
}

// Change says which parts of a cluster's verdict differ between two views, so that a consumer
// wakes only the objects that depend on them.
type Change uint8

const (
	// ChangeSelection: the cluster joined, left or changed labels, so placements may select it
	// differently.
	ChangeSelection Change = 1 << iota
	// ChangeState: readiness or taints changed.
	ChangeState
	// ChangeCapacity: the node count or allocatable resources changed.
	ChangeCapacity
	// ChangeTopology: the region or zones changed.
	ChangeTopology
)

// Has tells whether c includes any of the parts in o.
func (c Change) Has(o Change) bool { return c&o != 0 }

// Diff returns what differs between an old and a new view of a cluster; nil stands for a
// cluster that is not joined.
func Diff(old, cur *Cluster) Change {
	switch {
	case old == nil && cur == nil:
		return 0
	case old == nil || cur == nil:
		return ChangeSelection | ChangeState | ChangeCapacity | ChangeTopology
	}
	var ch Change
	if !maps.Equal(old.Labels, cur.Labels) {
		ch |= ChangeSelection
	}
	if old.State != cur.State || old.Message != cur.Message || !slices.Equal(old.Taints, cur.Taints) {
		ch |= ChangeState
	}
	if old.Nodes != cur.Nodes || !equality.Semantic.DeepEqual(old.Allocatable, cur.Allocatable) {
		ch |= ChangeCapacity
	}
	if old.Region != cur.Region || !slices.Equal(old.Zones, cur.Zones) {
		ch |= ChangeTopology
	}
	return ch
}
