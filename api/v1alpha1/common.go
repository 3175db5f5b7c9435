package v1alpha1

// Labels and annotations kfed reads and writes. Tests outside the repository rely on these names.
const (
	// LabelManaged is set to "true" on every object kfed writes into a member cluster.
	LabelManaged = "federation.kfed.io/managed"
	// AnnotationOrigin names the federated object a member object comes from: <Kind>/<namespace>/<name>.
	AnnotationOrigin = "federation.kfed.io/origin"
	// AnnotationOrphan set to "true" keeps member copies when the federated object is deleted.
	AnnotationOrphan = "federation.kfed.io/orphan"
	// AnnotationAdopt set to "true" lets kfed take over a member object it did not create.
	AnnotationAdopt = "federation.kfed.io/adopt"
	// AnnotationRetainReplicas set to "true" on a federated workload leaves spec.replicas out of
	// the member objects, so that something in the member (an HPA) owns it.
	AnnotationRetainReplicas = "federation.kfed.io/retain-replicas"
	// FinalizerCleanup holds a federated object until kfed has deleted (or orphaned) its member copies.
	FinalizerCleanup = "federation.kfed.io/cleanup"
)

// Condition types. Each writer of a status owns its own condition types; Ready summarises them.
const (
	// ConditionReady is the condition every kfed status carries: what the user asked for is true now.
	ConditionReady = "Ready"
	// ConditionPropagated (owned by propagation): every placed cluster holds the object as
	// desired and, for workloads, the requested replicas are ready.
	ConditionPropagated = "Propagated"
	// ConditionDNSPublished (owned by the DNS controller): the DNS names of a FederatedService
	// are published as status.dns says.
	ConditionDNSPublished = "DNSPublished"
	// ConditionGlobalAddressReady (owned by the global load-balancing controller): the global
	// address of a FederatedIngress answers as status.addresses says.
	ConditionGlobalAddressReady = "GlobalAddressReady"
	// ConditionReconciling (kstatus): True while kfed is converging the object.
	ConditionReconciling = "Reconciling"
	// ConditionStalled (kstatus): True when kfed cannot go on without a change by the user.
	ConditionStalled = "Stalled"
)

// ObjectReference names an object in a namespace. An empty namespace means the operator's namespace.
type ObjectReference struct {
	// Name of the object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace of the object; defaults to the operator's namespace (kfed-system).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}
