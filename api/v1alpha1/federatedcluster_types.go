package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Keys of the credential Secret a FederatedCluster refers to.
const (
	// SecretKeyKubeconfig holds a whole kubeconfig; its current context is used.
	SecretKeyKubeconfig = "kubeconfig"
	// SecretKeyToken holds a bearer token; used with SecretKeyCA and spec.apiEndpoint.
	SecretKeyToken = "token"
	// SecretKeyCA holds the PEM CA bundle that signs the member API server's certificate.
	SecretKeyCA = "ca.crt"
)

// Reasons of a FederatedCluster's Ready condition.
const (
	// ReasonProbeSucceeded: the member answered /readyz successThreshold times in a row.
	ReasonProbeSucceeded = "ProbeSucceeded"
	// ReasonProbing: the member has not yet answered often enough to be called Ready.
	ReasonProbing = "Probing"
	// ReasonProbeFailed: /readyz failed failureThreshold times in a row (unreachable, timeout, not ready).
	ReasonProbeFailed = "ProbeFailed"
	// ReasonUnauthorized: the member rejected the credentials (HTTP 401 or 403).
	ReasonUnauthorized = "Unauthorized"
	// ReasonCertificateInvalid: the member's serving certificate does not verify against the CA given.
	ReasonCertificateInvalid = "CertificateInvalid"
	// ReasonCredentialsInvalid: the credential Secret lacks a key or holds something unusable.
	ReasonCredentialsInvalid = "CredentialsInvalid"
	// ReasonSecretNotFound: the credential Secret does not exist (or is in a namespace kfed does not read).
	ReasonSecretNotFound = "SecretNotFound"
)

// TaintEffect says what a FederatedCluster taint does to replicas.
// +kubebuilder:validation:Enum=NoSchedule;NoExecute
type TaintEffect string

const (
	// TaintEffectNoSchedule: no new replicas are placed on the cluster; existing ones stay.
	TaintEffectNoSchedule TaintEffect = "NoSchedule"
	// TaintEffectNoExecute: replicas move away from the cluster.
	TaintEffectNoExecute TaintEffect = "NoExecute"
)

// ClusterTaint keeps replicas off a member cluster.
type ClusterTaint struct {
	// Key of the taint.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=316
	Key string `json:"key"`

	// Value of the taint.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Value string `json:"value,omitempty"`

	// Effect of the taint: NoSchedule or NoExecute.
	// +required
	Effect TaintEffect `json:"effect"`
}

// HealthCheck says how often and how patiently kfed probes a member's /readyz.
// +kubebuilder:validation:XValidation:rule="self.timeoutSeconds < self.periodSeconds",message="timeoutSeconds must be less than periodSeconds",fieldPath=".timeoutSeconds"
type HealthCheck struct {
	// PeriodSeconds between two probes.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=300
	PeriodSeconds int32 `json:"periodSeconds,omitempty"`

	// TimeoutSeconds after which one probe counts as failed; less than periodSeconds.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=299
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`

	// FailureThreshold is how many failed probes in a row make a Ready cluster NotReady.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	FailureThreshold int32 `json:"failureThreshold,omitempty"`

	// SuccessThreshold is how many successful probes in a row make a NotReady cluster Ready.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	SuccessThreshold int32 `json:"successThreshold,omitempty"`
}

// FederatedClusterSpec says how to reach a member cluster and how to treat it.
type FederatedClusterSpec struct {
	// SecretRef names the Secret with the member's credentials: key "kubeconfig" (a whole
	// kubeconfig), or keys "token" and "ca.crt" together with apiEndpoint.
	// +required
	SecretRef ObjectReference `json:"secretRef"`

	// APIEndpoint is the member API server's https URL; it overrides the kubeconfig's server.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() == 'https' && url(self).getHostname() != ''",message="apiEndpoint must be an https:// URL with a host"
	APIEndpoint string `json:"apiEndpoint,omitempty"`

	// Region of the member; when empty it is discovered from the member's node label
	// topology.kubernetes.io/region.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Region string `json:"region,omitempty"`

	// Zones of the member; when empty they are discovered from the member's node label
	// topology.kubernetes.io/zone.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	Zones []string `json:"zones,omitempty"`

	// HealthCheck tunes the /readyz probe.
	// +optional
	// +kubebuilder:default={periodSeconds:10,timeoutSeconds:5,failureThreshold:3,successThreshold:1}
	HealthCheck HealthCheck `json:"healthCheck,omitempty"`

	// Taints keep replicas off the cluster (NoSchedule) or move them away (NoExecute).
	// +optional
	// +listType=map
	// +listMapKey=key
	// +listMapKey=effect
	// +kubebuilder:validation:MaxItems=32
	Taints []ClusterTaint `json:"taints,omitempty"`
}

// FederatedClusterStatus is what kfed last observed of the member.
type FederatedClusterStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready says whether the member answers its /readyz with the credentials given.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Region of the member: spec.region, else the one its nodes carry.
	// +optional
	Region string `json:"region,omitempty"`

	// Zones of the member: spec.zones, else the ones its nodes carry, sorted.
	// +optional
	// +listType=set
	Zones []string `json:"zones,omitempty"`

	// ZoneList is zones joined by commas ("us-east1-b,us-east1-c"), for the Zones column of
	// kubectl get: a printer column shows a list as JSON.
	// +optional
	ZoneList string `json:"zoneList,omitempty"`

	// KubernetesVersion of the member's API server (gitVersion).
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`

	// Nodes is the number of Ready nodes in the member.
	// +optional
	Nodes int32 `json:"nodes,omitempty"`

	// Allocatable is the cpu, memory and pods allocatable summed over the Ready nodes.
	// +optional
	Allocatable corev1.ResourceList `json:"allocatable,omitempty"`
}

// FederatedCluster is a member cluster joined to the federation.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=fcl,categories=kfed
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=`.status.region`
// +kubebuilder:printcolumn:name="Zones",type=string,JSONPath=`.status.zoneList`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.kubernetesVersion`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedClusterSpec `json:"spec"`
	// +optional
	Status FederatedClusterStatus `json:"status,omitempty"`
}

// FederatedClusterList is a list of FederatedCluster.
//
// +kubebuilder:object:root=true
type FederatedClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FederatedCluster `json:"items"`
}

func init() {
	register(&FederatedCluster{}, &FederatedClusterList{})
}
