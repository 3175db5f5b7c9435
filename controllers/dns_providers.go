package controllers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kfed-io/kfed/api/v1alpha1"
	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/clouddns"
	"github.com/kfed-io/kfed/internal/dns/coredns"
	"github.com/kfed-io/kfed/internal/dns/externaldns"
	"github.com/kfed-io/kfed/internal/dns/rfc2136"
	"github.com/kfed-io/kfed/internal/dns/route53"
)

// The provider kinds of a FederatedDomain, as the fields of spec.provider are named: the keys
// of Options.DNSProviders.
const (
	ProviderBuiltin        = "builtin"
	ProviderCoreDNS        = "coreDNS"
	ProviderRFC2136        = "rfc2136"
	ProviderExternalDNS    = "externalDNS"
	ProviderRoute53        = "route53"
	ProviderGoogleCloudDNS = "googleCloudDNS"
)

// LabelDomain is set on the DNSEndpoints kfed writes for the externalDNS provider: the name of
// the FederatedDomain they belong to.
const LabelDomain = "federation.kfed.io/domain"

// DNSProviderInput is what a provider of one FederatedDomain is made from.
type DNSProviderInput struct {
	// Domain is the FederatedDomain.
	Domain *v1alpha1.FederatedDomain
	// SecretKey returns one key of a Secret the domain's spec names (an empty namespace is the
	// operator's). Its errors are ProviderErrors with reason SecretNotFound or
	// CredentialsInvalid, and name the Secret and key, never the value.
	SecretKey func(ctx context.Context, ref v1alpha1.ObjectReference, key string, optional bool) (string, error)
	// Host is a client of the host (for providers that write host objects).
	Host client.Client
	// HostName names the host in messages.
	HostName string
	// Object is the host object the records are for, for providers that write one object per
	// resource (externalDNS); nil when the provider is made to check the domain.
	Object *DNSObject
	// Namespace is the operator's namespace.
	Namespace string
}

// DNSObject names the federated object a provider writes for, and owns what it writes.
type DNSObject struct {
	Namespace, Name string
	Owner           *metav1.OwnerReference
}

// DNSProviderFactory makes the provider of a FederatedDomain. A provider that implements
// io.Closer is kept while the domain and its Secrets are unchanged, and closed when replaced.
type DNSProviderFactory func(ctx context.Context, in DNSProviderInput) (kdns.Provider, error)

// DefaultDNSProviders are the provider constructors this build has: coreDNS, rfc2136,
// externalDNS, route53 and googleCloudDNS (builtin is kfed's own server and needs none). A
// provider missing from Options.DNSProviders makes its FederatedDomains report Ready=False,
// reason ProviderNotBuilt.
func DefaultDNSProviders() map[string]DNSProviderFactory {
	return map[string]DNSProviderFactory{
		ProviderCoreDNS:        newCoreDNSProvider,
		ProviderRFC2136:        newRFC2136Provider,
		ProviderExternalDNS:    newExternalDNSProvider,
		ProviderRoute53:        newRoute53Provider,
		ProviderGoogleCloudDNS: newCloudDNSProvider,
	}
}

// providerKind returns the name of the one field of spec.provider that is set.
func providerKind(p *v1alpha1.DNSProvider) string {
	switch {
	case p.Builtin != nil:
		return ProviderBuiltin
	case p.CoreDNS != nil:
		return ProviderCoreDNS
	case p.RFC2136 != nil:
		return ProviderRFC2136
	case p.ExternalDNS != nil:
		return ProviderExternalDNS
	case p.Route53 != nil:
		return ProviderRoute53
	case p.GoogleCloudDNS != nil:
		return ProviderGoogleCloudDNS
	}
	return ""
}

// zoneOf is the zone the records of a domain go in.
func zoneOf(d *v1alpha1.FederatedDomain) string {
	if r := d.Spec.Provider.RFC2136; r != nil && r.Zone != "" {
		return r.Zone
	}
	return d.Spec.Domain
}

// ttlOf is the domain's TTL.
func ttlOf(d *v1alpha1.FederatedDomain) int64 {
	if d.Spec.TTL != nil && *d.Spec.TTL > 0 {
		return *d.Spec.TTL
	}
	return defaultDomainTTL
}

// defaultDomainTTL is spec.ttl's default.
const defaultDomainTTL = 30

func newCoreDNSProvider(_ context.Context, in DNSProviderInput) (kdns.Provider, error) {
	c := in.Domain.Spec.Provider.CoreDNS
	p, err := coredns.New(coredns.Config{Endpoints: c.EtcdEndpoints, Prefix: c.Prefix, Zone: zoneOf(in.Domain)})
	if err != nil {
		return nil, kdns.NewProviderError(v1alpha1.ReasonInvalid, err, "spec.provider.coreDNS")
	}
	return p, nil
}

func newRFC2136Provider(ctx context.Context, in DNSProviderInput) (kdns.Provider, error) {
	c := in.Domain.Spec.Provider.RFC2136
	secret, err := in.SecretKey(ctx, c.TSIGSecretRef, v1alpha1.SecretKeyTSIG, false)
	if err != nil {
		return nil, err
	}
	keyName, err := in.SecretKey(ctx, c.TSIGSecretRef, v1alpha1.SecretKeyTSIGName, true)
	if err != nil {
		return nil, err
	}
	if keyName == "" {
		keyName = c.TSIGSecretRef.Name
	}
	p, err := rfc2136.New(rfc2136.Config{Server: c.Server, Zone: zoneOf(in.Domain),
		TSIGKeyName: strings.TrimSpace(keyName), TSIGAlgorithm: string(c.TSIGAlgorithm), TSIGSecret: strings.TrimSpace(secret)})
	if err != nil {
		// rfc2136.New names the key, never the secret.
		return nil, kdns.NewProviderError(v1alpha1.ReasonCredentialsInvalid, err, "spec.provider.rfc2136 with Secret %s",
			secretName(c.TSIGSecretRef, in.Namespace))
	}
	return p, nil
}

// checkObjectName is the DNSEndpoint name a domain check's provider is given: it only reads.
const checkObjectName = "kfed-domain-check"

func newExternalDNSProvider(_ context.Context, in DNSProviderInput) (kdns.Provider, error) {
	obj := DNSObject{Namespace: in.Namespace, Name: checkObjectName}
	if in.Object != nil {
		obj = *in.Object
	}
	p, err := externaldns.New(externaldns.Config{Client: in.Host, Namespace: obj.Namespace, Name: obj.Name, Owner: obj.Owner,
		Labels: map[string]string{LabelDomain: in.Domain.Name}, Host: in.HostName})
	if err != nil {
		return nil, kdns.NewProviderError(v1alpha1.ReasonInvalid, err, "spec.provider.externalDNS")
	}
	return p, nil
}

func newRoute53Provider(ctx context.Context, in DNSProviderInput) (kdns.Provider, error) {
	c := in.Domain.Spec.Provider.Route53
	cfg := route53.Config{HostedZoneID: c.HostedZoneID, Region: c.Region, Endpoint: c.Endpoint, Logger: logf.FromContext(ctx)}
	where := "spec.provider.route53"
	if ref := c.CredentialsSecretRef; ref != nil {
		where += " with Secret " + secretName(*ref, in.Namespace)
		var creds route53.Credentials
		for _, k := range []struct {
			key      string
			optional bool
			into     *string
		}{
			{v1alpha1.SecretKeyAWSAccessKeyID, false, &creds.AccessKeyID},
			{v1alpha1.SecretKeyAWSSecretAccessKey, false, &creds.SecretAccessKey},
			{v1alpha1.SecretKeyAWSSessionToken, true, &creds.SessionToken},
		} {
			v, err := in.SecretKey(ctx, *ref, k.key, k.optional)
			if err != nil {
				return nil, err
			}
			*k.into = strings.TrimSpace(v)
		}
		cfg.Credentials = &creds
	}
	p, err := route53.New(ctx, cfg)
	if err != nil {
		// route53.New names the zone and the kind of credentials, never a key.
		return nil, kdns.NewProviderError(v1alpha1.ReasonInvalid, err, "%s", where)
	}
	return p, nil
}

func newCloudDNSProvider(ctx context.Context, in DNSProviderInput) (kdns.Provider, error) {
	c := in.Domain.Spec.Provider.GoogleCloudDNS
	cfg := clouddns.Config{Project: c.Project, ManagedZone: c.ManagedZone, Endpoint: c.Endpoint, Logger: logf.FromContext(ctx)}
	where := "spec.provider.googleCloudDNS"
	if ref := c.CredentialsSecretRef; ref != nil {
		where += " with Secret " + secretName(*ref, in.Namespace)
		v, err := in.SecretKey(ctx, *ref, v1alpha1.SecretKeyGoogleCredentials, false)
		if err != nil {
			return nil, err
		}
		cfg.CredentialsJSON = []byte(v)
	}
	p, err := clouddns.New(ctx, cfg)
	if err != nil {
		return nil, kdns.NewProviderError(v1alpha1.ReasonCredentialsInvalid, err, "%s", where)
	}
	return p, nil
}

func secretName(ref v1alpha1.ObjectReference, namespace string) string {
	if ref.Namespace != "" {
		namespace = ref.Namespace
	}
	return namespace + "/" + ref.Name
}

// secretRefs are the Secrets a domain's provider reads.
func secretRefs(d *v1alpha1.FederatedDomain) []v1alpha1.ObjectReference {
	p := d.Spec.Provider
	switch {
	case p.RFC2136 != nil:
		return []v1alpha1.ObjectReference{p.RFC2136.TSIGSecretRef}
	case p.Route53 != nil && p.Route53.CredentialsSecretRef != nil:
		return []v1alpha1.ObjectReference{*p.Route53.CredentialsSecretRef}
	case p.GoogleCloudDNS != nil && p.GoogleCloudDNS.CredentialsSecretRef != nil:
		return []v1alpha1.ObjectReference{*p.GoogleCloudDNS.CredentialsSecretRef}
	}
	return nil
}

// dnsProviders makes the providers of FederatedDomains, keeping the ones that hold connections
// (an etcd client) while their domain and Secrets are unchanged. Safe for concurrent use.
type dnsProviders struct {
	factories map[string]DNSProviderFactory
	host      client.Client
	hostName  string
	namespace string

	mu   sync.Mutex
	kept map[string]keptProvider // by FederatedDomain name
}

type keptProvider struct {
	fingerprint string
	provider    kdns.Provider
}

// get returns the provider of domain d, for object (nil: to check the domain).
func (p *dnsProviders) get(ctx context.Context, d *v1alpha1.FederatedDomain, object *DNSObject) (kdns.Provider, error) {
	kind := providerKind(&d.Spec.Provider)
	factory := p.factories[kind]
	if factory == nil {
		return nil, kdns.NewProviderError(v1alpha1.ReasonProviderNotBuilt, nil,
			"the %s provider is not available in this build of kfed", kind)
	}
	// Making a provider does not wait for its server, so one lock over it all is cheap and
	// no provider is made twice or closed while another caller took it.
	p.mu.Lock()
	defer p.mu.Unlock()
	fingerprint, err := p.fingerprint(ctx, d)
	if err != nil {
		return nil, err
	}
	if k, ok := p.kept[d.Name]; ok && k.fingerprint == fingerprint && (object == nil || closes(k.provider)) {
		return k.provider, nil
	}
	made, err := factory(ctx, DNSProviderInput{Domain: d, SecretKey: p.secretKey, Host: p.host, HostName: p.hostName,
		Object: object, Namespace: p.namespace})
	if err != nil {
		return nil, err
	}
	if object == nil || closes(made) {
		if old, had := p.kept[d.Name]; had {
			closeProvider(old.provider)
		}
		p.kept[d.Name] = keptProvider{fingerprint: fingerprint, provider: made}
	}
	return made, nil
}

func closes(pr kdns.Provider) bool {
	_, ok := pr.(io.Closer)
	return ok
}

// forget closes and drops the provider of a domain that is gone.
func (p *dnsProviders) forget(name string) {
	p.mu.Lock()
	k, ok := p.kept[name]
	delete(p.kept, name)
	p.mu.Unlock()
	if ok {
		closeProvider(k.provider)
	}
}

func closeProvider(pr kdns.Provider) {
	if c, ok := pr.(io.Closer); ok {
		_ = c.Close()
	}
}

// fingerprint changes whenever the domain's spec or a Secret it reads changes.
func (p *dnsProviders) fingerprint(ctx context.Context, d *v1alpha1.FederatedDomain) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%d", d.UID, d.Generation)
	for _, ref := range secretRefs(d) {
		s, err := p.secret(ctx, ref)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "/%s", s.ResourceVersion)
	}
	return b.String(), nil
}

func (p *dnsProviders) secret(ctx context.Context, ref v1alpha1.ObjectReference) (*corev1.Secret, error) {
	ns := ref.Namespace
	if ns == "" {
		ns = p.namespace
	}
	s := &corev1.Secret{}
	if err := p.host.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, kdns.NewProviderError(v1alpha1.ReasonSecretNotFound, nil, "Secret %s/%s not found", ns, ref.Name)
		}
		return nil, kdns.NewProviderError(kdns.ReasonProviderError, err, "reading Secret %s/%s", ns, ref.Name)
	}
	return s, nil
}

func (p *dnsProviders) secretKey(ctx context.Context, ref v1alpha1.ObjectReference, key string, optional bool) (string, error) {
	s, err := p.secret(ctx, ref)
	if err != nil {
		return "", err
	}
	v, ok := s.Data[key]
	if !ok && !optional {
		return "", kdns.NewProviderError(v1alpha1.ReasonCredentialsInvalid, nil, "Secret %s/%s has no key %q", s.Namespace, s.Name, key)
	}
	return string(v), nil
}

// conditionReason is the FederatedDomain Ready reason of a provider error.
func conditionReason(err error) string {
	var pe *kdns.ProviderError
	if !errors.As(err, &pe) {
		return v1alpha1.ReasonProviderError
	}
	switch r := pe.Reason(); r {
	case kdns.ReasonUnauthorized:
		return v1alpha1.ReasonUnauthorized
	case kdns.ReasonProviderUnreachable, kdns.ReasonZoneNotFound, kdns.ReasonCRDMissing,
		v1alpha1.ReasonSecretNotFound, v1alpha1.ReasonCredentialsInvalid, v1alpha1.ReasonProviderNotBuilt,
		v1alpha1.ReasonInvalid, v1alpha1.ReasonListenFailed:
		return r
	default:
		return v1alpha1.ReasonProviderError
	}
}
