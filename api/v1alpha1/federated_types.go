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

	// GlobalLoadBalancer gives the Ingress one global address in front of its member clusters:
	// a DNS name that answers with the healthy clusters' load-balancer addresses (mode DNS),
	// or one GCE global load balancer shared by the members' ingress controllers (mode GCLB).
	// Without it each member Ingress keeps its own address only.
	// +optional
	GlobalLoadBalancer *GlobalLoadBalancer `json:"globalLoadBalancer,omitempty"`

	FederatedSpec `json:",inline"`
}

// Names the GCE ingress controller reads, which a FederatedIngress of mode GCLB writes into members.
const (
	// AnnotationGlobalStaticIPName on a member Ingress names the reserved global static IP its
	// load balancer uses: spec.globalLoadBalancer.staticIPName.
	AnnotationGlobalStaticIPName = "kubernetes.io/ingress.global-static-ip-name"
	// IngressUIDNamespace and IngressUIDName are the member ConfigMap whose keys IngressUIDKey
	// and IngressProviderUIDKey the GCE ingress controller puts in its resources' names.
	IngressUIDNamespace   = "kube-system"
	IngressUIDName        = "ingress-uid"
	IngressUIDKey         = "uid"
	IngressProviderUIDKey = "provider-uid"
)

// Reasons of a FederatedIngress's GlobalAddressReady condition (ConditionGlobalAddressReady).
const (
	// ReasonGlobalAddressReady (True): the global address answers as status.addresses says.
	ReasonGlobalAddressReady = "AddressReady"
	// ReasonWaitingForAddress (False): no address yet (mode GCLB: no member Ingress reports the
	// static IP; no member holds the Ingress).
	ReasonWaitingForAddress = "WaitingForAddress"
	// ReasonUIDNotShared (False, mode GCLB): a placed cluster does not hold the federation's
	// ingress uid yet (not Ready, or the write failed); the message names it.
	ReasonUIDNotShared = "UIDNotShared"
	// ReasonStrategyNotSupported (False, mode DNS): the FederatedDomain's provider cannot answer
	// the strategy as it is meant (e.g. CoreDNS's etcd plugin has no weighted or geo answers, Route
	// 53 latency records need AWS regions); the message names the provider and the strategy.
	// Nothing is published rather than a different strategy.
	ReasonStrategyNotSupported = "StrategyNotSupported"
	// ReasonNoHealthyCluster (False, mode DNS): no placed cluster is healthy for the Ingress (Ready,
	// a member Ingress with a load-balancer address, a ready endpoint of its backend), so the
	// host answers NXDOMAIN; the message says why for each cluster.
	ReasonNoHealthyCluster = "NoHealthyCluster"
)

// GlobalLoadBalancerMode is how a FederatedIngress gets its global address.
// +kubebuilder:validation:Enum=DNS;GCLB
type GlobalLoadBalancerMode string

// The modes of a global load balancer.
const (
	// GlobalLoadBalancerDNS publishes spec.globalLoadBalancer.host in a FederatedDomain, answered
	// with the load-balancer addresses of the healthy member Ingresses.
	GlobalLoadBalancerDNS GlobalLoadBalancerMode = "DNS"
	// GlobalLoadBalancerGCLB makes the GCE ingress controllers of the members (GKE) program one
	// global load balancer on the static IP spec.globalLoadBalancer.staticIPName.
	GlobalLoadBalancerGCLB GlobalLoadBalancerMode = "GCLB"
)

// GlobalLoadBalancingStrategy is how a DNS global address chooses among the healthy clusters.
// +kubebuilder:validation:Enum=RoundRobin;Weighted;Failover;Geo
type GlobalLoadBalancingStrategy string

// The strategies of a DNS global address.
const (
	// StrategyRoundRobin answers with every healthy cluster's address.
	StrategyRoundRobin GlobalLoadBalancingStrategy = "RoundRobin"
	// StrategyWeighted answers with one healthy cluster's address, picked with a probability
	// proportional to the ready endpoints of the backend Service there.
	StrategyWeighted GlobalLoadBalancingStrategy = "Weighted"
	// StrategyFailover answers with the healthy clusters of primaryRegion, else with every other
	// healthy cluster.
	StrategyFailover GlobalLoadBalancingStrategy = "Failover"
	// StrategyGeo answers with the healthy clusters of the client's region, else with every
	// healthy cluster.
	StrategyGeo GlobalLoadBalancingStrategy = "Geo"
)

// GlobalLoadBalancer is the global address of a FederatedIngress.
//
// A cluster is healthy for the Ingress when it is Ready, its member Ingress has a load-balancer
// address, and the Ingress's backend Service has at least one ready endpoint there.
//
// +kubebuilder:validation:XValidation:rule="self.mode != 'DNS' || has(self.host)",message="host is required when mode is DNS",fieldPath=".host"
// +kubebuilder:validation:XValidation:rule="self.mode != 'GCLB' || has(self.staticIPName)",message="staticIPName is required when mode is GCLB",fieldPath=".staticIPName"
// +kubebuilder:validation:XValidation:rule="self.strategy != 'Failover' || has(self.primaryRegion)",message="primaryRegion is required when strategy is Failover",fieldPath=".primaryRegion"
type GlobalLoadBalancer struct {
	// Mode is how the global address is made: DNS (a name in a FederatedDomain that answers
	// with the healthy clusters' addresses) or GCLB (one GCE global load balancer on a static IP,
	// programmed by the members' GCE ingress controllers).
	// +optional
	// +kubebuilder:default=DNS
	Mode GlobalLoadBalancerMode `json:"mode,omitempty"`

	// Host is the DNS name of the global address (mode DNS), e.g. shop.example.com: lower
	// case, without a trailing dot, in the domain of the FederatedDomain.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?[.])*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')",message="host must be a DNS name: lower-case labels of letters, digits and '-' separated by dots, without a trailing dot"
	Host string `json:"host,omitempty"`

	// DomainRef is the name of the FederatedDomain the host is published in (mode DNS); empty
	// means the only one, when exactly one exists.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	DomainRef string `json:"domainRef,omitempty"`

	// Strategy is how the DNS answer (mode DNS) chooses among the healthy clusters: RoundRobin (all of
	// them), Weighted (one, with a probability proportional to the backend Service's ready
	// endpoints there), Failover (those of primaryRegion, else the others) or Geo (those of the
	// client's region, else all of them).
	// +optional
	// +kubebuilder:default=RoundRobin
	Strategy GlobalLoadBalancingStrategy `json:"strategy,omitempty"`

	// PrimaryRegion is the region whose clusters answer while one of them is healthy
	// (strategy Failover), as FederatedClusters name their regions.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	PrimaryRegion string `json:"primaryRegion,omitempty"`

	// StaticIPName is the name of the reserved global static IP address (mode GCLB), set on every
	// member Ingress as kubernetes.io/ingress.global-static-ip-name.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="staticIPName must be a GCE resource name: a lower-case letter, then letters, digits and '-', not ending in '-'"
	StaticIPName string `json:"staticIPName,omitempty"`

	// TTL of the host's records in seconds (mode DNS); unset means the FederatedDomain's.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	TTL *int64 `json:"ttl,omitempty"`
}

// GlobalAddress is one address of a FederatedIngress's global address, in the shape of an
// Ingress's load-balancer status: what a client reaches now, and through which clusters.
//
// +kubebuilder:validation:XValidation:rule="has(self.ip) != has(self.hostname)",message="exactly one of ip and hostname must be set"
type GlobalAddress struct {
	// IP is an IPv4 or IPv6 address clients reach.
	// +optional
	// +kubebuilder:validation:MaxLength=45
	IP string `json:"ip,omitempty"`

	// Hostname is a DNS name clients reach (a load balancer known by name).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Hostname string `json:"hostname,omitempty"`

	// Clusters are the member clusters behind the address, sorted.
	// +optional
	// +listType=set
	Clusters []string `json:"clusters,omitempty"`
}

// FederatedIngressStatus is the status of a FederatedIngress: the status of every federated
// kind and its global address.
type FederatedIngressStatus struct {
	FederatedStatus `json:",inline"`

	// Addresses are what the global address answers now, and through which clusters: the healthy
	// clusters' load-balancer addresses (mode DNS; with strategy Failover the primary region's
	// while one is healthy; with Geo every region's, each client getting its own), or the static
	// IP once a member Ingress reports it (mode GCLB). Empty when nothing is healthy.
	// +optional
	// +listType=atomic
	Addresses []GlobalAddress `json:"addresses,omitempty"`

	// DNS is the record sets published for the global address (mode DNS), with their routing.
	// +optional
	DNS *IngressDNSStatus `json:"dns,omitempty"`
}

// IngressDNSStatus is what a FederatedIngress's global address holds now in its FederatedDomain.
type IngressDNSStatus struct {
	// Domain is the FederatedDomain's spec.domain the host is in.
	// +optional
	Domain string `json:"domain,omitempty"`

	// RecordSets published now: one per cluster or region where the strategy routes between
	// them (Weighted, Geo, Failover), else one.
	// +optional
	// +listType=atomic
	RecordSets []DNSRecordSet `json:"recordSets,omitempty"`
}

// DNSRecordSet is one published record set of a global address, and how answers choose it.
type DNSRecordSet struct {
	DNSName `json:",inline"`

	// SetIdentifier tells the record sets of one name apart (a cluster, a region, primary or
	// secondary); empty for the only set of a name.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	SetIdentifier string `json:"setIdentifier,omitempty"`

	// Policy is how answers choose among the sets of the name: Weighted, Failover or Geo; empty
	// for a plain set.
	// +optional
	// +kubebuilder:validation:Enum=Weighted;Failover;Geo
	Policy string `json:"policy,omitempty"`

	// Weight of the set (Weighted): the ready endpoints behind it.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Weight int64 `json:"weight,omitempty"`

	// Primary marks the set answered while it exists (Failover).
	// +optional
	Primary bool `json:"primary,omitempty"`

	// Region of the clusters behind the set (Geo).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Region string `json:"region,omitempty"`
}

// FederatedIngress is an Ingress created in member clusters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fing,categories=kfed
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Clusters",type=integer,JSONPath=`.status.clusterCount`
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.spec.globalLoadBalancer.host`
// +kubebuilder:printcolumn:name="Strategy",type=string,JSONPath=`.spec.globalLoadBalancer.strategy`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedIngress struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedIngressSpec `json:"spec"`
	// +optional
	Status FederatedIngressStatus `json:"status,omitempty"`
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

// GetFederatedStatus returns the status every federated kind shares.
func (o *FederatedIngress) GetFederatedStatus() *FederatedStatus { return &o.Status.FederatedStatus }

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
