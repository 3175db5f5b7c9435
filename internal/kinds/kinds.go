// Package kinds is the one table of kfed's federated kinds: the manager sets up a reconciler
// per entry, `kfed status` lists them, `kfed federate` converts native objects to them, and a
// test checks the manager's RBAC against them. Adding a kind is one entry here plus its API type.
package kinds

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/propagate"
)

// Kind is one federated kind.
type Kind struct {
	// Name is the kind, e.g. FederatedDeployment; Plural its resource, e.g. federateddeployments.
	Name, Plural string
	// Typed says the kind has a typed template of one native kind (its TargetGVK): `kfed
	// federate` converts objects of that kind to it. FederatedObject and ClusterFederatedObject
	// carry a whole manifest of any kind instead.
	Typed bool
	// Workload says the member objects run replicas that kfed counts (status.replicas).
	Workload bool
	// New returns an empty object of the kind; NewList an empty list of it.
	New     func() propagate.Federated
	NewList func() client.ObjectList
}

// All are the federated kinds, in the order `kfed status` shows them.
var All = []Kind{
	kind[v1alpha1.FederatedDeployment, v1alpha1.FederatedDeploymentList]("federateddeployments", true, true),
	kind[v1alpha1.FederatedReplicaSet, v1alpha1.FederatedReplicaSetList]("federatedreplicasets", true, true),
	kind[v1alpha1.FederatedDaemonSet, v1alpha1.FederatedDaemonSetList]("federateddaemonsets", true, true),
	kind[v1alpha1.FederatedJob, v1alpha1.FederatedJobList]("federatedjobs", true, true),
	kind[v1alpha1.FederatedConfigMap, v1alpha1.FederatedConfigMapList]("federatedconfigmaps", true, false),
	kind[v1alpha1.FederatedSecret, v1alpha1.FederatedSecretList]("federatedsecrets", true, false),
	kind[v1alpha1.FederatedService, v1alpha1.FederatedServiceList]("federatedservices", true, false),
	kind[v1alpha1.FederatedIngress, v1alpha1.FederatedIngressList]("federatedingresses", true, false),
	kind[v1alpha1.FederatedObject, v1alpha1.FederatedObjectList]("federatedobjects", false, false),
	kind[v1alpha1.ClusterFederatedObject, v1alpha1.ClusterFederatedObjectList]("clusterfederatedobjects", false, false),
}

// kind builds the entry of a federated type O with list type L.
func kind[O, L any, PO interface {
	*O
	propagate.Federated
}, PL interface {
	*L
	client.ObjectList
}](plural string, typed, workload bool) Kind {
	return Kind{
		Name:     PO(new(O)).FederatedKind(),
		Plural:   plural,
		Typed:    typed,
		Workload: workload,
		New:      func() propagate.Federated { return PO(new(O)) },
		NewList:  func() client.ObjectList { return PL(new(L)) },
	}
}

// ByName returns the kind of that name.
func ByName(name string) (Kind, bool) {
	for _, k := range All {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}
