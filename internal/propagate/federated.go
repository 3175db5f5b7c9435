// Package propagate is the pure planner of propagation: from a federated object, its placement
// and overrides and the replica plan, it builds the object each member cluster should have, and
// tells whether what a member has already matches it. It talks to no API server.
package propagate

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

// Federated is what every federated kind offers, so that one generic reconciler handles them
// all: FederatedDeployment, FederatedReplicaSet, FederatedDaemonSet, FederatedJob,
// FederatedConfigMap, FederatedSecret, FederatedService, FederatedIngress, FederatedObject and
// ClusterFederatedObject.
type Federated interface {
	metav1.Object
	runtime.Object

	// FederatedKind is the kind of the federated object itself, e.g. "FederatedDeployment"
	// (typed objects read through a client often have no TypeMeta).
	FederatedKind() string
	// TargetGVK is the kind of the member object, e.g. apps/v1 Deployment.
	TargetGVK() schema.GroupVersionKind
	// TemplateObject is the member object before name, replicas and overrides: apiVersion,
	// kind, metadata and the native fields, decoded from JSON with integers as int64.
	TemplateObject() (map[string]any, error)
	// GetPlacement returns spec.placement.
	GetPlacement() *v1alpha1.Placement
	// GetOverrides returns spec.overrides.
	GetOverrides() []v1alpha1.ClusterOverride
	// GetReplicaScheduling returns spec.replicaScheduling (its defaults when unset) for the
	// kinds whose replicas are planned (Deployment, ReplicaSet), and nil for the others.
	GetReplicaScheduling() *v1alpha1.ReplicaScheduling
	// GetFederatedStatus returns the status, for the reconciler to fill in.
	GetFederatedStatus() *v1alpha1.FederatedStatus
}

// Every federated kind is a Federated.
var (
	_ Federated = &v1alpha1.FederatedDeployment{}
	_ Federated = &v1alpha1.FederatedReplicaSet{}
	_ Federated = &v1alpha1.FederatedDaemonSet{}
	_ Federated = &v1alpha1.FederatedJob{}
	_ Federated = &v1alpha1.FederatedConfigMap{}
	_ Federated = &v1alpha1.FederatedSecret{}
	_ Federated = &v1alpha1.FederatedService{}
	_ Federated = &v1alpha1.FederatedIngress{}
	_ Federated = &v1alpha1.FederatedObject{}
	_ Federated = &v1alpha1.ClusterFederatedObject{}
)

// Cluster is what placement and overrides know of a member cluster: its FederatedCluster's
// name and labels.
type Cluster struct {
	Name   string
	Labels map[string]string
}

// ReplicaScheduled is a federated kind whose replicas the scheduler divides: its template's
// replica count is the total unless spec.replicaScheduling.totalReplicas says otherwise. A kind
// is replica-scheduled by having the method (the API type), not by a switch here.
type ReplicaScheduled interface {
	Federated
	GetTemplateReplicas() *int32
}

// TotalReplicas returns how many replicas a federated workload runs in all:
// spec.replicaScheduling.totalReplicas, else the template's spec.replicas, else 1 (the native
// default). ok is false for the kinds without replica scheduling.
func TotalReplicas(obj Federated) (total int32, ok bool) {
	r, scheduled := obj.(ReplicaScheduled)
	if !scheduled {
		return 0, false
	}
	template := r.GetTemplateReplicas()
	if rs := obj.GetReplicaScheduling(); rs != nil && rs.TotalReplicas != nil {
		return *rs.TotalReplicas, true
	}
	if template != nil {
		return *template, true
	}
	return 1, true
}
