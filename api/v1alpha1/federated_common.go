package v1alpha1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// Placement says which joined clusters get the object. When both fields are set a cluster must
// match both; when neither is set, every joined cluster does.
type Placement struct {
	// Clusters names the member clusters (FederatedCluster names) that get the object.
	// Empty means no restriction by name.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	Clusters []string `json:"clusters,omitempty"`

	// ClusterSelector selects member clusters by the labels of their FederatedCluster.
	// Unset means no restriction by label; an empty selector matches every cluster.
	// +optional
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`
}

// PatchOp is an RFC 6902 JSON Patch operation.
// +kubebuilder:validation:Enum=add;remove;replace;test;move;copy
type PatchOp string

// The RFC 6902 operations.
const (
	PatchOpAdd     PatchOp = "add"
	PatchOpRemove  PatchOp = "remove"
	PatchOpReplace PatchOp = "replace"
	PatchOpTest    PatchOp = "test"
	PatchOpMove    PatchOp = "move"
	PatchOpCopy    PatchOp = "copy"
)

// JSON is any JSON value (object, array, string, number, boolean), kept as its encoding.
//
// +kubebuilder:validation:Type=""
// +kubebuilder:validation:XPreserveUnknownFields
type JSON struct {
	Raw []byte `json:"-"`
}

// MarshalJSON returns the value's encoding, or null when there is none.
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j.Raw) == 0 {
		return []byte("null"), nil
	}
	return j.Raw, nil
}

// UnmarshalJSON keeps a copy of the encoding; null leaves the value empty.
func (j *JSON) UnmarshalJSON(data []byte) error {
	if j == nil {
		return errors.New("v1alpha1.JSON: UnmarshalJSON on a nil pointer")
	}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		j.Raw = nil
		return nil
	}
	j.Raw = append(j.Raw[:0], data...)
	return nil
}

// Patch is one RFC 6902 JSON Patch operation on the member object. Paths are JSON Pointers
// into the whole member object (apiVersion, kind, metadata, spec, ...).
//
// +kubebuilder:validation:XValidation:rule="self.path.startsWith('/')",message="path must be a JSON Pointer into the member object, starting with '/'",fieldPath=".path"
// +kubebuilder:validation:XValidation:rule="!(self.path in ['/metadata', '/metadata/name', '/metadata/namespace', '/kind', '/apiVersion']) && !self.path.startsWith('/metadata/name/') && !self.path.startsWith('/metadata/namespace/') && !self.path.startsWith('/kind/') && !self.path.startsWith('/apiVersion/')",message="path must not touch /metadata/name, /metadata/namespace, /kind, /apiVersion (or /metadata as a whole): the member object keeps the federated object's identity",fieldPath=".path"
// +kubebuilder:validation:XValidation:rule="self.op != 'move' || !has(self.from) || (!(self.from in ['/metadata', '/metadata/name', '/metadata/namespace', '/kind', '/apiVersion']) && !self.from.startsWith('/metadata/name/') && !self.from.startsWith('/metadata/namespace/') && !self.from.startsWith('/kind/') && !self.from.startsWith('/apiVersion/'))",message="from of a move must not be /metadata/name, /metadata/namespace, /kind, /apiVersion (or /metadata as a whole)",fieldPath=".from"
// +kubebuilder:validation:XValidation:rule="!(self.op in ['move', 'copy']) || has(self.from)",message="from is required for op move and copy",fieldPath=".from"
type Patch struct {
	// Op is the operation: add, remove, replace, test, move or copy.
	// +required
	Op PatchOp `json:"op"`

	// Path is the JSON Pointer the operation applies to, e.g. /spec/template/spec/containers/0/image.
	// +required
	// +kubebuilder:validation:MaxLength=1024
	Path string `json:"path"`

	// From is the source JSON Pointer of move and copy.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	From string `json:"from,omitempty"`

	// Value of add, replace and test (which need one): any JSON value.
	// +optional
	Value *JSON `json:"value,omitempty"`
}

// ClusterOverride patches the member object of the clusters it selects: one cluster by name, or
// every cluster whose labels match a selector.
//
// +kubebuilder:validation:XValidation:rule="has(self.clusterName) != has(self.clusterSelector)",message="exactly one of clusterName and clusterSelector must be set"
type ClusterOverride struct {
	// ClusterName is the member cluster this override applies to.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClusterName string `json:"clusterName,omitempty"`

	// ClusterSelector selects the member clusters this override applies to by the labels of
	// their FederatedCluster.
	// +optional
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`

	// Patches are applied in order, after the replicas of the plan are set.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Patches []Patch `json:"patches"`
}

// FederatedSpec is the part of every federated kind's spec that says where the object goes and
// how it differs per cluster.
type FederatedSpec struct {
	// Placement says which member clusters get the object; unset means every joined cluster.
	// +optional
	Placement Placement `json:"placement,omitempty"`

	// Overrides patch the member object of some clusters; they are applied in order.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Overrides []ClusterOverride `json:"overrides,omitempty"`
}

// ReplicaSchedulingMode says how the total of replicas is spread over clusters.
// +kubebuilder:validation:Enum=Divided;Duplicated
type ReplicaSchedulingMode string

const (
	// ReplicaSchedulingDivided splits the total over the clusters; the counts add up to it.
	ReplicaSchedulingDivided ReplicaSchedulingMode = "Divided"
	// ReplicaSchedulingDuplicated gives every cluster the whole total.
	ReplicaSchedulingDuplicated ReplicaSchedulingMode = "Duplicated"
)

// ClusterPreferenceDefault is the key of ReplicaScheduling.Clusters that applies to every
// cluster without an entry of its own.
const ClusterPreferenceDefault = "*"

// ClusterPreference is what the user asks for one cluster's share of replicas.
//
// +kubebuilder:validation:XValidation:rule="!has(self.maxReplicas) || !has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="minReplicas must not exceed maxReplicas",fieldPath=".minReplicas"
type ClusterPreference struct {
	// Weight is the cluster's relative share of the replicas left after the minimums; 0 means
	// the cluster gets at most its minReplicas.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	Weight *int64 `json:"weight,omitempty"`

	// MinReplicas are placed on the cluster before anything is shared by weight.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinReplicas int64 `json:"minReplicas,omitempty"`

	// MaxReplicas caps the cluster; unset means no cap.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxReplicas *int64 `json:"maxReplicas,omitempty"`
}

// ReplicaScheduling says how many replicas run and how they are spread over the clusters.
type ReplicaScheduling struct {
	// Mode is Divided (the total is split over the clusters) or Duplicated (each cluster runs
	// the total).
	// +optional
	// +kubebuilder:default=Divided
	Mode ReplicaSchedulingMode `json:"mode,omitempty"`

	// TotalReplicas to run; unset means the template's spec.replicas (1 when that is unset).
	// +optional
	// +kubebuilder:validation:Minimum=0
	TotalReplicas *int32 `json:"totalReplicas,omitempty"`

	// Rebalance moves running replicas to reach the weighted split; without it a change moves
	// as few replicas as it can.
	// +optional
	Rebalance bool `json:"rebalance,omitempty"`

	// Clusters holds per-cluster preferences by cluster name; the key "*" applies to every
	// cluster without an entry of its own. Empty means equal weights over every placed cluster.
	// +optional
	// +kubebuilder:validation:MaxProperties=1000
	// +kubebuilder:validation:XValidation:rule="self.all(k, k == '*' || k.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'))",message="keys must be cluster names or \"*\""
	Clusters map[string]ClusterPreference `json:"clusters,omitempty"`
}

// TemplateMeta is the metadata of a template: labels and annotations of the member object.
type TemplateMeta struct {
	// Labels of the member object.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations of the member object.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PropagationPhase says where the object stands in one member cluster.
type PropagationPhase string

// Phases of a member object.
const (
	// PhasePropagated: the member has the object as desired.
	PhasePropagated PropagationPhase = "Propagated"
	// PhasePending: the object is being created or updated in the member.
	PhasePending PropagationPhase = "Pending"
	// PhaseClusterNotReady: the member cluster is not Ready, so kfed cannot reach it.
	PhaseClusterNotReady PropagationPhase = "ClusterNotReady"
	// PhaseAlreadyExists: the member has an object of that name kfed did not create (see the
	// federation.kfed.io/adopt annotation).
	PhaseAlreadyExists PropagationPhase = "AlreadyExists"
	// PhaseFailed: the member rejected the object or kfed could not build it; see reason and message.
	PhaseFailed PropagationPhase = "Failed"
)

// Reasons of a member's entry in status.clusters and of the Ready condition of federated kinds.
const (
	// ReasonKindNotServed: the member does not serve the object's kind (a CRD is missing).
	ReasonKindNotServed = "KindNotServed"
	// ReasonForbidden: the member refused the write to kfed's credentials (RBAC).
	ReasonForbidden = "Forbidden"
	// ReasonInvalid: the member rejected the object as invalid.
	ReasonInvalid = "Invalid"
	// ReasonOverrideFailed: an override's patch did not apply to the member object.
	ReasonOverrideFailed = "OverrideFailed"
	// ReasonClusterScoped: a FederatedObject names a kind that is cluster-scoped in the member.
	ReasonClusterScoped = "ClusterScoped"
	// ReasonPropagated: every placed cluster has the object as desired and it is ready there.
	ReasonPropagated = "Propagated"
	// ReasonPropagating: some placed clusters do not have the object as desired, or it is not
	// ready there yet.
	ReasonPropagating = "Propagating"
	// ReasonPropagationFailed: some placed clusters failed; see status.clusters.
	ReasonPropagationFailed = "PropagationFailed"
	// ReasonNoClusters: the placement selects no joined cluster.
	ReasonNoClusters = "NoClusters"
	// ReasonSourceNotFound: the Secret a FederatedSecret refers to does not exist.
	ReasonSourceNotFound = "SourceNotFound"
	// ReasonDeletionBlocked (Ready=False): the object is being deleted and a member that may
	// hold a copy cannot be reached; unjoining that member releases it.
	ReasonDeletionBlocked = "DeletionBlocked"
)

// ClusterStatus is the state of the object in one member cluster.
type ClusterStatus struct {
	// Name of the member cluster.
	// +required
	Name string `json:"name"`

	// Phase: Propagated, Pending, ClusterNotReady, AlreadyExists or Failed.
	// +optional
	Phase PropagationPhase `json:"phase,omitempty"`

	// Reason is a CamelCase cause of the phase, e.g. KindNotServed or Forbidden.
	// +optional
	Reason string `json:"reason,omitempty"`

	// Message says in words what happened.
	// +optional
	Message string `json:"message,omitempty"`

	// Replicas the member object has (workloads only).
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// ReadyReplicas the member object has (workloads only).
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
}

// ClusterPlan is the replica count planned for one cluster and why.
type ClusterPlan struct {
	// Cluster is the member cluster's name.
	// +required
	Cluster string `json:"cluster"`

	// Replicas planned for the cluster.
	// +required
	Replicas int32 `json:"replicas"`

	// Reasons of the count, e.g. Weight, Min, MaxCap, CapacityCap, NotReady, NoExecute.
	// +optional
	// +listType=atomic
	Reasons []string `json:"reasons,omitempty"`
}

// FederatedStatus is the status of every federated kind.
type FederatedStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready says whether every placed cluster has the object as desired and ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ClusterCount is the number of clusters the object is placed on.
	// +optional
	ClusterCount int32 `json:"clusterCount"`

	// Clusters is the state of the object in each placed cluster, by name.
	// +optional
	// +listType=map
	// +listMapKey=name
	Clusters []ClusterStatus `json:"clusters,omitempty"`

	// Replicas summed over the member objects (workloads only).
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// ReadyReplicas summed over the member objects (workloads only).
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// Plan is the replica count of each cluster and its reasons (Deployment and ReplicaSet).
	// +optional
	// +listType=map
	// +listMapKey=cluster
	Plan []ClusterPlan `json:"plan,omitempty"`
	// PlanIntent is a digest of the spec.replicaScheduling that status.plan follows: a spec that
	// no longer matches it is the user asking for a new distribution, which kfed follows whether
	// or not rebalance is set.
	// +optional
	PlanIntent string `json:"planIntent,omitempty"`
}

// specTemplate returns the native object of a template made of metadata and spec.
func specTemplate(gvk schema.GroupVersionKind, meta TemplateMeta, spec any) (map[string]any, error) {
	return templateObject(gvk, meta, map[string]any{"spec": spec})
}

// templateObject returns the native object a typed template stands for: apiVersion, kind,
// metadata (labels and annotations) and the given top-level fields, as JSON-decoded maps with
// integers as int64.
func templateObject(gvk schema.GroupVersionKind, meta TemplateMeta, fields map[string]any) (map[string]any, error) {
	obj := map[string]any{"metadata": meta}
	for k, v := range fields {
		obj[k] = v
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s template: %w", gvk.Kind, err)
	}
	out := map[string]any{}
	if err := utiljson.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decoding the %s template: %w", gvk.Kind, err)
	}
	out["apiVersion"], out["kind"] = gvk.GroupVersion().String(), gvk.Kind
	return out, nil
}
