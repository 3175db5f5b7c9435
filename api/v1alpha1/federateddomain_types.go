package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reasons of a FederatedDomain's Ready condition. Unauthorized (ReasonUnauthorized),
// SecretNotFound (ReasonSecretNotFound) and CredentialsInvalid (ReasonCredentialsInvalid) are
// shared with FederatedCluster.
const (
	// ReasonProviderReady: the provider answers and the zone is writable.
	ReasonProviderReady = "ProviderReady"
	// ReasonProviderUnreachable: the DNS server, etcd or API the provider writes to does not answer.
	ReasonProviderUnreachable = "ProviderUnreachable"
	// ReasonZoneNotFound: the provider answers but does not hold the zone (hosted zone, managed
	// zone or the zone an RFC 2136 server is authoritative for).
	ReasonZoneNotFound = "ZoneNotFound"
	// ReasonUpdateRefused: the provider answers but refuses to change the zone (an RFC 2136
	// server that answers REFUSED or NOTAUTH to a signed update).
	ReasonUpdateRefused = "UpdateRefused"
	// ReasonCRDMissing: the host does not serve the kind the provider writes
	// (externaldns.k8s.io/v1alpha1 DNSEndpoint).
	ReasonCRDMissing = "CRDMissing"
	// ReasonListenFailed: the builtin server cannot listen on spec.provider.builtin.listen.
	ReasonListenFailed = "ListenFailed"
	// ReasonProviderNotBuilt: this build of the operator was given no constructor for the
	// provider (controllers.Options.DNSProviders has none for its kind).
	ReasonProviderNotBuilt = "ProviderNotBuilt"
	// ReasonProviderError: the provider answered with a failure of another kind; the message says which.
	ReasonProviderError = "ProviderError"
)

// FederatedDomainSpec says which DNS domain kfed publishes federated names in and how.
type FederatedDomainSpec struct {
	// Domain is the DNS domain the names go in, e.g. example.com: lower case, no trailing dot.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?[.])*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')",message="domain must be a DNS name: lower-case labels of letters, digits and '-' separated by dots, without a trailing dot"
	Domain string `json:"domain"`

	// FederationName is the federation's label in every name: <svc>.<ns>.<federationName>.svc.<domain>.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="federationName must be a DNS label: lower-case letters, digits and '-'"
	FederationName string `json:"federationName"`

	// TTL of the records, in seconds.
	// +optional
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	TTL *int64 `json:"ttl,omitempty"`

	// Provider is where the records go: exactly one of its fields.
	// +required
	Provider DNSProvider `json:"provider"`
}

// DNSProvider holds exactly one provider.
//
// +kubebuilder:validation:XValidation:rule="[has(self.builtin), has(self.coreDNS), has(self.rfc2136), has(self.externalDNS), has(self.route53), has(self.googleCloudDNS)].filter(x, x).size() == 1",message="exactly one of builtin, coreDNS, rfc2136, externalDNS, route53 and googleCloudDNS must be set"
type DNSProvider struct {
	// Builtin is kfed's own authoritative DNS server, run by every operator replica.
	// +optional
	Builtin *BuiltinProvider `json:"builtin,omitempty"`

	// CoreDNS writes the records into etcd in the SkyDNS layout that CoreDNS's etcd plugin serves.
	// +optional
	CoreDNS *CoreDNSProvider `json:"coreDNS,omitempty"`

	// RFC2136 sends TSIG-signed dynamic updates to a DNS server (BIND and others).
	// +optional
	RFC2136 *RFC2136Provider `json:"rfc2136,omitempty"`

	// ExternalDNS writes externaldns.k8s.io/v1alpha1 DNSEndpoint objects into the host, for
	// an external-dns there to publish.
	// +optional
	ExternalDNS *ExternalDNSProvider `json:"externalDNS,omitempty"`

	// Route53 writes the records into an AWS Route 53 hosted zone.
	// +optional
	Route53 *Route53Provider `json:"route53,omitempty"`

	// GoogleCloudDNS writes the records into a Google Cloud DNS managed zone.
	// +optional
	GoogleCloudDNS *GoogleCloudDNSProvider `json:"googleCloudDNS,omitempty"`
}

// BuiltinProvider is kfed's own authoritative server.
type BuiltinProvider struct {
	// Listen is the host:port the server answers on, over UDP and TCP, e.g. 127.0.0.1:5353.
	// +required
	// +kubebuilder:validation:MaxLength=261
	// +kubebuilder:validation:XValidation:rule="self.matches('^([[][0-9a-fA-F:.]+[]]|[-0-9A-Za-z.]*):[0-9]{1,5}$') && int(self.substring(self.lastIndexOf(':') + 1)) >= 1 && int(self.substring(self.lastIndexOf(':') + 1)) <= 65535",message="listen must be host:port with a port from 1 to 65535, e.g. 127.0.0.1:5353 or [::1]:5353"
	Listen string `json:"listen"`

	// Geo maps client addresses to regions: the client's region comes from its EDNS0 client
	// subnet, else its source address.
	// +optional
	// +listType=map
	// +listMapKey=region
	// +kubebuilder:validation:MaxItems=256
	Geo []GeoRegion `json:"geo,omitempty"`
}

// GeoRegion is the client networks of one region.
type GeoRegion struct {
	// Region, as FederatedClusters name theirs (topology.kubernetes.io/region).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Region string `json:"region"`

	// CIDRs of the clients in the region, IPv4 or IPv6.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:items:XValidation:rule="isCIDR(self)",message="each entry must be a CIDR, e.g. 10.0.0.0/8 or 2001:db8::/32"
	CIDRs []string `json:"cidrs"`
}

// CoreDNSProvider writes the records into etcd for CoreDNS's etcd plugin.
type CoreDNSProvider struct {
	// EtcdEndpoints are the etcd client URLs, e.g. http://127.0.0.1:2379.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=2048
	// +kubebuilder:validation:items:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="each etcd endpoint must be an http:// or https:// URL with a host"
	EtcdEndpoints []string `json:"etcdEndpoints"`

	// Prefix of the SkyDNS keys, as the etcd plugin's "path".
	// +optional
	// +kubebuilder:default=/skydns
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="prefix must start with '/'"
	Prefix string `json:"prefix,omitempty"`
}

// TSIGAlgorithm is the HMAC of a TSIG key.
// +kubebuilder:validation:Enum=hmac-sha1;hmac-sha224;hmac-sha256;hmac-sha384;hmac-sha512
type TSIGAlgorithm string

// Keys of the Secret tsigSecretRef names.
const (
	// SecretKeyTSIG holds the base64 TSIG key (required).
	SecretKeyTSIG = "secret"
	// SecretKeyTSIGName holds the TSIG key's name as the server knows it (optional: the
	// Secret's name when absent).
	SecretKeyTSIGName = "keyName"
)

// Keys of the Secret a route53 provider's credentialsSecretRef names.
const (
	SecretKeyAWSAccessKeyID     = "aws_access_key_id"
	SecretKeyAWSSecretAccessKey = "aws_secret_access_key" //nolint:gosec // the name of a Secret key, not a credential
	SecretKeyAWSSessionToken    = "aws_session_token"     // optional
)

// SecretKeyGoogleCredentials is the key of the Secret a googleCloudDNS provider's
// credentialsSecretRef names: a service account key in JSON.
const SecretKeyGoogleCredentials = "credentials.json"

// RFC2136Provider sends dynamic updates signed with TSIG.
//
// +kubebuilder:validation:XValidation:rule="has(self.tsigSecretRef.name) && self.tsigSecretRef.name.size() > 0",message="tsigSecretRef.name is required: the Secret whose key \"secret\" holds the base64 TSIG key",fieldPath=".tsigSecretRef.name"
type RFC2136Provider struct {
	// Server is the host:port of the DNS server that takes the updates, e.g. 127.0.0.1:53.
	// +required
	// +kubebuilder:validation:MaxLength=261
	// +kubebuilder:validation:XValidation:rule="self.matches('^([[][0-9a-fA-F:.]+[]]|[-0-9A-Za-z.]+):[0-9]{1,5}$') && int(self.substring(self.lastIndexOf(':') + 1)) >= 1 && int(self.substring(self.lastIndexOf(':') + 1)) <= 65535",message="server must be host:port with a port from 1 to 65535, e.g. 127.0.0.1:53"
	Server string `json:"server"`

	// Zone the server is authoritative for; empty means spec.domain.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?[.])*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')",message="zone must be a DNS name without a trailing dot"
	Zone string `json:"zone,omitempty"`

	// TSIGSecretRef names the Secret whose key "secret" holds the base64 TSIG key and whose
	// optional key "keyName" holds the key's name (the Secret's name when absent).
	// +required
	TSIGSecretRef ObjectReference `json:"tsigSecretRef"`

	// TSIGAlgorithm is the key's HMAC.
	// +optional
	// +kubebuilder:default=hmac-sha256
	TSIGAlgorithm TSIGAlgorithm `json:"tsigAlgorithm,omitempty"`
}

// ExternalDNSProvider writes DNSEndpoint objects into the host; it has no settings.
type ExternalDNSProvider struct{}

// Route53Provider writes into an AWS Route 53 hosted zone.
type Route53Provider struct {
	// HostedZoneID of the zone, e.g. Z0123456789ABCDEFGHIJ.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	HostedZoneID string `json:"hostedZoneID"`

	// Region of the AWS API; empty means the SDK's default.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Region string `json:"region,omitempty"`

	// CredentialsSecretRef names a Secret with a static AWS access key in its keys
	// aws_access_key_id, aws_secret_access_key and (optional) aws_session_token; unset means the
	// operator's own (the SDK's default chain: environment, web identity, instance role).
	// +optional
	CredentialsSecretRef *ObjectReference `json:"credentialsSecretRef,omitempty"`

	// Endpoint overrides the Route 53 API URL.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="endpoint must be an http:// or https:// URL with a host"
	Endpoint string `json:"endpoint,omitempty"`
}

// GoogleCloudDNSProvider writes into a Google Cloud DNS managed zone.
type GoogleCloudDNSProvider struct {
	// Project that holds the managed zone.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Project string `json:"project"`

	// ManagedZone is the name of the managed zone.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ManagedZone string `json:"managedZone"`

	// CredentialsSecretRef names a Secret whose key credentials.json holds a service account
	// key; unset means the operator's own (workload identity, Application Default Credentials).
	// +optional
	CredentialsSecretRef *ObjectReference `json:"credentialsSecretRef,omitempty"`

	// Endpoint overrides the Cloud DNS API URL.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="endpoint must be an http:// or https:// URL with a host"
	Endpoint string `json:"endpoint,omitempty"`
}

// FederatedDomainStatus is what kfed last observed of the provider.
type FederatedDomainStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready says whether the provider answers and the zone is writable.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Provider is the kind of spec.provider (builtin, coreDNS, rfc2136, externalDNS, route53 or
	// googleCloudDNS), for kubectl get.
	// +optional
	Provider string `json:"provider,omitempty"`
}

// FederatedDomain is a DNS domain kfed publishes the names of federated Services and
// Ingresses in, and the provider that holds it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=fdomain,categories=kfed
// +kubebuilder:printcolumn:name="Domain",type=string,JSONPath=`.spec.domain`
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.status.provider`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FederatedDomain struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FederatedDomainSpec `json:"spec"`
	// +optional
	Status FederatedDomainStatus `json:"status,omitempty"`
}

// FederatedDomainList is a list of FederatedDomain.
//
// +kubebuilder:object:root=true
type FederatedDomainList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FederatedDomain `json:"items"`
}

func init() {
	register(&FederatedDomain{}, &FederatedDomainList{})
}
