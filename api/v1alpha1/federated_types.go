package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The native kinds of the federated configuration and networking kinds.
var (
	configMapGVK = corev1.SchemeGroupVersion.WithKind("ConfigMap")
	secretGVK    = corev1.SchemeGroupVersion.WithKind("Secret")
	serviceGVK   = corev1.SchemeGroupVersion.WithKind("Service")
	ingressGVK   = networkingv1.SchemeGroupVersion.WithKind("Ingress")
)

// ConfigMapTemplate is the ConfigMap each member gets, before overrides.
type ConfigMapTemplate struct {
	// +optional
	Metadata TemplateMeta `json:"metadata,omitempty"`

	// Data of the member ConfigMap: UTF-8 values.
	// +optional
	Data map[string]string `json:"data,omitempty"`

	// BinaryData of the member ConfigMap: base64-encoded values.
	// +optional
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
}

// FederatedConfigMapSpec is a ConfigMap copied into member clusters.
type FederatedConfigMapSpec struct {
	// Template of the member ConfigMaps.
	// +required
	Template ConfigMapTemplate `json:"template"`

	FederatedSpec `json:",inline"`
}

// FederatedConfigMap is a ConfigMap copied into member clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fcm,categories=kfed
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusterCount`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedConfigMap struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedConfigMapSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedConfigMapList is a list of FederatedConfigMap.
//
// +kubebuilder:object:root=true
type FederatedConfigMapList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FederatedConfigMap `json:"items"`
}

// FederatedKind returns "FederatedConfigMap".
func (o *FederatedConfigMap) FederatedKind() string { return "FederatedConfigMap" }

// TargetGVK returns v1 ConfigMap.
func (o *FederatedConfigMap) TargetGVK() schema.GroupVersionKind { return configMapGVK }

// GetPlacement returns spec.placement.
func (o *FederatedConfigMap) GetPlacement() *Placement { return &o.Spec.Placement }

// GetOverrides returns spec.overrides.
func (o *FederatedConfigMap) GetOverrides() []ClusterOverride { return o.Spec.Overrides }

// GetReplicaScheduling returns nil: a ConfigMap has no replicas.
func (o *FederatedConfigMap) GetReplicaScheduling() *ReplicaScheduling { return nil }

// GetFederatedStatus returns the status.
func (o *FederatedConfigMap) GetFederatedStatus() *FederatedStatus { return &o.Status }

// TemplateObject returns the template as a ConfigMap object.
func (o *FederatedConfigMap) TemplateObject() (map[string]any, error) {
	fields := map[string]any{}
	if len(o.Spec.Template.Data) > 0 {
		fields["data"] = o.Spec.Template.Data
	}
	if len(o.Spec.Template.BinaryData) > 0 {
		fields["binaryData"] = o.Spec.Template.BinaryData
	}
	return templateObject(configMapGVK, o.Spec.Template.Metadata, fields)
}

// SecretReference names a Secret in the namespace of the object that refers to it.
type SecretReference struct {
	// Name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// FederatedSecretSpec is a host Secret copied into member clusters. The data stays in the
// Secret: it never lives in a custom resource.
type FederatedSecretSpec struct {
	// SecretRef names the Secret in the same namespace whose type and data are copied.
	// +required
	SecretRef SecretReference `json:"secretRef"`

	FederatedSpec `json:",inline"`
}

// FederatedSecret copies a Secret of its own namespace into member clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fsecret,categories=kfed
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusterCount`
// +kubebuilder:printcolumn:name="Secret",type=string,JSONPath=`.spec.secretRef.name`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedSecretSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedSecretList is a list of FederatedSecret.
//
// +kubebuilder:object:root=true
type FederatedSecretList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FederatedSecret `json:"items"`
}

// FederatedKind returns "FederatedSecret".
func (o *FederatedSecret) FederatedKind() string { return "FederatedSecret" }

// TargetGVK returns v1 Secret.
func (o *FederatedSecret) TargetGVK() schema.GroupVersionKind { return secretGVK }

// GetPlacement returns spec.placement.
func (o *FederatedSecret) GetPlacement() *Placement { return &o.Spec.Placement }

// GetOverrides returns spec.overrides.
func (o *FederatedSecret) GetOverrides() []ClusterOverride { return o.Spec.Overrides }

// GetReplicaScheduling returns nil: a Secret has no replicas.
func (o *FederatedSecret) GetReplicaScheduling() *ReplicaScheduling { return nil }

// GetFederatedStatus returns the status.
func (o *FederatedSecret) GetFederatedStatus() *FederatedStatus { return &o.Status }

// TemplateObject returns an empty Secret: type and data come from the Secret spec.secretRef names.
func (o *FederatedSecret) TemplateObject() (map[string]any, error) {
	return templateObject(secretGVK, TemplateMeta{}, nil)
}

// ServiceTemplate is the Service each member gets, before overrides.
type ServiceTemplate struct {
	// +optional
	Metadata TemplateMeta `json:"metadata,omitempty"`
	// Spec of the member Service.
	// +optional
	Spec corev1.ServiceSpec `json:"spec,omitempty"`
}

// FederatedServiceSpec is a Service created in member clusters.
type FederatedServiceSpec struct {
	// Template of the member Services.
	// +required
	Template ServiceTemplate `json:"template"`

	// DNS says where the Service's federated names are published. A Service of type
	// LoadBalancer gets names without it when exactly one FederatedDomain exists.
	// +optional
	DNS *ServiceDNS `json:"dns,omitempty"`

	FederatedSpec `json:",inline"`
}

// Reasons of a FederatedService's DNSPublished condition (ConditionDNSPublished).
const (
	// ReasonDNSPublished (DNSPublished=True): the provider holds every planned name.
	ReasonDNSPublished = "Published"
	// ReasonRecordConflict (DNSPublished=False): a planned name holds a record kfed does not own
	// (or another kfed owns); the message names the record and its owner.
	ReasonRecordConflict = "RecordConflict"
	// ReasonDomainNotFound (DNSPublished=False): spec.dns.domainRef names no FederatedDomain, or
	// none is named and there is not exactly one.
	ReasonDomainNotFound = "DomainNotFound"
	// ReasonProviderFailed (DNSPublished=False): the provider did not take the changes; the
	// FederatedDomain's Ready condition says why.
	ReasonProviderFailed = "ProviderFailed"
	// ReasonDNSDisabled: spec.dns.disabled opts the Service out of DNS. The DNS controller
	// leaves DNSPublished absent for such a Service (and for one that is not of type
	// LoadBalancer and has no spec.dns), so that Ready never waits on DNS it was not asked for.
	ReasonDNSDisabled = "Disabled"
)

// ServiceDNS says where a FederatedService's names go.
type ServiceDNS struct {
	// DomainRef is the name of the FederatedDomain; empty means the only one, when exactly one exists.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	DomainRef string `json:"domainRef,omitempty"`

	// TTL of the Service's records in seconds; unset means the FederatedDomain's.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	TTL *int64 `json:"ttl,omitempty"`

	// Disabled opts the Service out of DNS names.
	// +optional
	Disabled bool `json:"disabled,omitempty"`
}

// DNSRecordType is the type of a published name.
// +kubebuilder:validation:Enum=A;AAAA;CNAME
type DNSRecordType string

// The record types of published names.
const (
	DNSRecordTypeA     DNSRecordType = "A"
	DNSRecordTypeAAAA  DNSRecordType = "AAAA"
	DNSRecordTypeCNAME DNSRecordType = "CNAME"
)

// DNSName is one published record set.
type DNSName struct {
	// Name is the fully qualified name, without the trailing dot.
	// +required
	Name string `json:"name"`

	// Type is A, AAAA or CNAME.
	// +required
	Type DNSRecordType `json:"type"`

	// Targets are the addresses (A, AAAA) or the one name (CNAME) the name resolves to.
	// +optional
	// +listType=atomic
	Targets []string `json:"targets,omitempty"`
}

// ServiceDNSStatus is what a FederatedService's names hold now.
type ServiceDNSStatus struct {
	// Domain is the FederatedDomain's spec.domain the names are in.
	// +optional
	Domain string `json:"domain,omitempty"`

	// Names published now.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +listMapKey=type
	Names []DNSName `json:"names,omitempty"`
}

// FederatedServiceStatus is the status of a FederatedService: the status of every federated
// kind and its DNS names.
type FederatedServiceStatus struct {
	FederatedStatus `json:",inline"`

	// DNS is the names published for the Service.
	// +optional
	DNS *ServiceDNSStatus `json:"dns,omitempty"`
}

// FederatedService is a Service created in member clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fsvc,categories=kfed
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusterCount`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedServiceSpec `json:"spec"`
	// +optional
	Status FederatedServiceStatus `json:"status,omitempty"`
}

// FederatedServiceList is a list of FederatedService.
//
// +kubebuilder:object:root=true
type FederatedServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FederatedService `json:"items"`
}

// FederatedKind returns "FederatedService".
func (o *FederatedService) FederatedKind() string { return "FederatedService" }

// TargetGVK returns v1 Service.
func (o *FederatedService) TargetGVK() schema.GroupVersionKind { return serviceGVK }

// GetPlacement returns spec.placement.
func (o *FederatedService) GetPlacement() *Placement { return &o.Spec.Placement }

// GetOverrides returns spec.overrides.
func (o *FederatedService) GetOverrides() []ClusterOverride { return o.Spec.Overrides }

// GetReplicaScheduling returns nil: a Service has no replicas.
func (o *FederatedService) GetReplicaScheduling() *ReplicaScheduling { return nil }

// GetFederatedStatus returns the status every federated kind shares.
func (o *FederatedService) GetFederatedStatus() *FederatedStatus { return &o.Status.FederatedStatus }

// TemplateObject returns the template as a Service object.
func (o *FederatedService) TemplateObject() (map[string]any, error) {
	return specTemplate(serviceGVK, o.Spec.Template.Metadata, o.Spec.Template.Spec)
}

// IngressTemplate is the Ingress each member gets, before overrides.
type IngressTemplate struct {
	// +optional
	Metadata TemplateMeta `json:"metadata,omitempty"`
	// Spec of the member Ingress.
	// +optional
	Spec networkingv1.IngressSpec `json:"spec,omitempty"`
}

// FederatedIngressSpec is an Ingress created in member clusters.
type FederatedIngressSpec struct {
	// Template of the member Ingresses.
	// +required
	Template IngressTemplate `json:"template"`

	FederatedSpec `json:",inline"`
}

// FederatedIngress is an Ingress created in member clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fing,categories=kfed
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusterCount`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedIngress struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedIngressSpec `json:"spec"`
	// +optional
	Status FederatedStatus `json:"status,omitempty"`
}

// FederatedIngressList is a list of FederatedIngress.
//
// +kubebuilder:object:root=true
type FederatedIngressList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FederatedIngress `json:"items"`
}

// FederatedKind returns "FederatedIngress".
func (o *FederatedIngress) FederatedKind() string { return "FederatedIngress" }

// TargetGVK returns networking.k8s.io/v1 Ingress.
func (o *FederatedIngress) TargetGVK() schema.GroupVersionKind { return ingressGVK }

// GetPlacement returns spec.placement.
func (o *FederatedIngress) GetPlacement() *Placement { return &o.Spec.Placement }

// GetOverrides returns spec.overrides.
func (o *FederatedIngress) GetOverrides() []ClusterOverride { return o.Spec.Overrides }

// GetReplicaScheduling returns nil: an Ingress has no replicas.
func (o *FederatedIngress) GetReplicaScheduling() *ReplicaScheduling { return nil }

// GetFederatedStatus returns the status.
func (o *FederatedIngress) GetFederatedStatus() *FederatedStatus { return &o.Status }

// TemplateObject returns the template as an Ingress object.
func (o *FederatedIngress) TemplateObject() (map[string]any, error) {
	return specTemplate(ingressGVK, o.Spec.Template.Metadata, o.Spec.Template.Spec)
}

func init() {
	register(&FederatedConfigMap{}, &FederatedConfigMapList{},
		&FederatedSecret{}, &FederatedSecretList{},
		&FederatedService{}, &FederatedServiceList{},
		&FederatedIngress{}, &FederatedIngressList{})
}
