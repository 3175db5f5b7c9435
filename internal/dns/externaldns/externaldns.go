// Package externaldns is the Provider that hands records to external-dns: it writes them as the
// spec.endpoints of one externaldns.k8s.io/v1alpha1 DNSEndpoint object in the host, which
// external-dns's crd source publishes to whatever DNS it is configured for. The CRD is
// external-dns's; kfed ships a copy in config/externaldns. A host without it gives CRDMissing.
package externaldns

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"

	"github.com/miekg/dns"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kdns "github.com/kfed-io/kfed/internal/dns"
)

// GroupVersionKind is external-dns's DNSEndpoint.
var GroupVersionKind = schema.GroupVersionKind{Group: "externaldns.k8s.io", Version: "v1alpha1", Kind: "DNSEndpoint"}

// MaxEndpoints is the most endpoints the DNSEndpoint CRD allows in one object.
const MaxEndpoints = 1000

// Config says which DNSEndpoint to write and which ones to read.
type Config struct {
	// Client reaches the host; objects are read and written unstructured, uncached.
	Client client.Client
	// Namespace and Name are the DNSEndpoint this Provider writes (the federated resource's).
	Namespace, Name string
	// Owner, when set, becomes the DNSEndpoint's owner reference (the federated resource), so
	// the object goes with it.
	Owner *metav1.OwnerReference
	// Labels are set on the DNSEndpoint; Records reads every DNSEndpoint in the host that has
	// them all, so they must name what kfed manages (e.g. the FederatedDomain).
	Labels map[string]string
	// Host names the host in messages (e.g. its API server URL); "the host" when empty.
	Host string
}

// Provider writes one DNSEndpoint and reads every DNSEndpoint with its labels. It is safe for
// concurrent use.
type Provider struct {
	cfg   Config
	where string
}

var _ kdns.Provider = (*Provider)(nil)

// New checks the Config and returns its Provider; it does not contact the host.
func New(cfg Config) (*Provider, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("externaldns: no client of the host")
	case cfg.Namespace == "" || cfg.Name == "":
		return nil, fmt.Errorf("externaldns: the DNSEndpoint needs a namespace and a name, not %q/%q", cfg.Namespace, cfg.Name)
	case len(cfg.Labels) == 0:
		return nil, errors.New("externaldns: no labels to find the DNSEndpoints kfed manages by")
	}
	if cfg.Owner != nil && (cfg.Owner.APIVersion == "" || cfg.Owner.Kind == "" || cfg.Owner.Name == "" || cfg.Owner.UID == "") {
		return nil, fmt.Errorf("externaldns: owner reference %+v lacks an apiVersion, kind, name or uid", *cfg.Owner)
	}
	host := cfg.Host
	if host == "" {
		host = "the host"
	}
	cfg.Labels = maps.Clone(cfg.Labels)
	return &Provider{cfg: cfg, where: fmt.Sprintf("externalDNS DNSEndpoint %s/%s in %s", cfg.Namespace, cfg.Name, host)}, nil
}

// dnsEndpointSpec and endpoint are the parts of a DNSEndpoint kfed reads and writes.
type dnsEndpointSpec struct {
	Endpoints []endpoint `json:"endpoints,omitempty"`
}

type endpoint struct {
	DNSName          string             `json:"dnsName,omitempty"`
	Targets          []string           `json:"targets,omitempty"`
	RecordType       string             `json:"recordType,omitempty"`
	SetIdentifier    string             `json:"setIdentifier,omitempty"`
	RecordTTL        int64              `json:"recordTTL,omitempty"`
	Labels           map[string]string  `json:"labels,omitempty"`
	ProviderSpecific []providerSpecific `json:"providerSpecific,omitempty"`
}

type providerSpecific struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

func (e *endpoint) key() kdns.Key {
	return kdns.Key{DNSName: strings.TrimSuffix(strings.ToLower(e.DNSName), "."), RecordType: e.RecordType, SetIdentifier: e.SetIdentifier}
}

func newObject() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(GroupVersionKind)
	return u
}

func specOf(u *unstructured.Unstructured) (*dnsEndpointSpec, error) {
	spec := &dnsEndpointSpec{}
	raw, ok := u.Object["spec"].(map[string]any)
	if !ok {
		return spec, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// classify turns an API error into a ProviderError.
func (p *Provider) classify(err error, what string) error {
	var ne net.Error
	switch {
	case err == nil:
		return nil
	case meta.IsNoMatchError(err):
		return kdns.NewProviderError(kdns.ReasonCRDMissing, err, "%s: %s: the host has no DNSEndpoint CRD (install external-dns or config/externaldns)",
			p.where, what)
	case apierrors.IsNotFound(err) && notFoundKind(err) == "namespaces":
		return kdns.NewProviderError(kdns.ReasonProviderError, err, "%s: %s: the namespace does not exist", p.where, what)
	case apierrors.IsNotFound(err):
		return kdns.NewProviderError(kdns.ReasonCRDMissing, err, "%s: %s: the host serves no DNSEndpoints (install external-dns or config/externaldns)",
			p.where, what)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return kdns.NewProviderError(kdns.ReasonUnauthorized, err, "%s: %s", p.where, what)
	case apierrors.IsConflict(err), apierrors.IsAlreadyExists(err):
		return kdns.NewProviderError(kdns.ReasonConflict, err, "%s: %s: another writer changed it", p.where, what)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return kdns.NewProviderError(kdns.ReasonInvalidRecord, err, "%s: %s", p.where, what)
	case apierrors.IsServiceUnavailable(err), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err), apierrors.IsTooManyRequests(err),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		return kdns.NewProviderError(kdns.ReasonProviderUnreachable, err, "%s: %s", p.where, what)
	default:
		return kdns.NewProviderError(kdns.ReasonProviderError, err, "%s: %s", p.where, what)
	}
}

func notFoundKind(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Details != nil {
		return se.Status().Details.Kind
	}
	return ""
}

// Records returns the endpoints of every DNSEndpoint in the host with the Provider's labels.
func (p *Provider) Records(ctx context.Context) ([]*kdns.Endpoint, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(GroupVersionKind.GroupVersion().WithKind("DNSEndpointList"))
	if err := p.cfg.Client.List(ctx, list, client.MatchingLabels(p.cfg.Labels)); err != nil {
		return nil, p.classify(err, "listing the DNSEndpoints")
	}
	var out []*kdns.Endpoint
	for i := range list.Items {
		spec, err := specOf(&list.Items[i])
		if err != nil {
			return nil, kdns.NewProviderError(kdns.ReasonProviderError, err, "%s: reading DNSEndpoint %s/%s", p.where,
				list.Items[i].GetNamespace(), list.Items[i].GetName())
		}
		for _, e := range spec.Endpoints {
			ep := &kdns.Endpoint{DNSName: e.DNSName, RecordType: e.RecordType, Targets: e.Targets, TTL: e.RecordTTL, SetIdentifier: e.SetIdentifier}
			out = append(out, ep.Normalize())
		}
	}
	slices.SortFunc(out, func(a, b *kdns.Endpoint) int { return compareKeys(a.Key(), b.Key()) })
	return out, nil
}

func compareKeys(a, b kdns.Key) int {
	return strings.Compare(a.DNSName+" "+a.RecordType+" "+a.SetIdentifier, b.DNSName+" "+b.RecordType+" "+b.SetIdentifier)
}

// ApplyChanges writes the Changes into the Provider's DNSEndpoint: a Delete or an UpdateOld
// removes the endpoint of its key, a Create or an UpdateNew sets it. The object is created
// when it gets its first endpoint and deleted when it loses its last; every write carries the
// resourceVersion read, so a concurrent writer's change gives Conflict instead of being lost.
func (p *Provider) ApplyChanges(ctx context.Context, changes *kdns.Changes) error {
	if err := kdns.CheckChanges(p.where, changes); err != nil {
		return err
	}
	if changes == nil || changes.Empty() {
		return nil
	}
	for _, ep := range slices.Concat(changes.Create, changes.UpdateNew, changes.UpdateOld, changes.Delete) {
		if err := p.check(ep); err != nil {
			return err
		}
	}
	obj := newObject()
	exists := true
	if err := p.cfg.Client.Get(ctx, client.ObjectKey{Namespace: p.cfg.Namespace, Name: p.cfg.Name}, obj); err != nil {
		if !apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return p.classify(err, "reading it")
		}
		exists = false
		obj = newObject()
	}
	spec, err := specOf(obj)
	if err != nil {
		return kdns.NewProviderError(kdns.ReasonProviderError, err, "%s: reading its spec", p.where)
	}
	next := applied(spec, changes)
	if len(next.Endpoints) > MaxEndpoints {
		return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: %d endpoints, more than the %d one DNSEndpoint holds", p.where,
			len(next.Endpoints), MaxEndpoints)
	}
	return p.write(ctx, obj, exists, next)
}

// applied returns the spec with the Changes made, its endpoints sorted by key.
func applied(spec *dnsEndpointSpec, changes *kdns.Changes) *dnsEndpointSpec {
	byKey := map[kdns.Key]endpoint{}
	for _, e := range spec.Endpoints {
		byKey[e.key()] = e
	}
	for _, ep := range slices.Concat(changes.Delete, changes.UpdateOld) {
		delete(byKey, ep.Normalize().Key())
	}
	for _, ep := range slices.Concat(changes.UpdateNew, changes.Create) {
		n := ep.Normalize()
		byKey[n.Key()] = endpoint{DNSName: n.DNSName, Targets: n.Targets, RecordType: n.RecordType, SetIdentifier: n.SetIdentifier, RecordTTL: n.TTL}
	}
	keys := make([]kdns.Key, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	next := &dnsEndpointSpec{Endpoints: make([]endpoint, 0, len(keys))}
	for _, k := range keys {
		next.Endpoints = append(next.Endpoints, byKey[k])
	}
	return next
}

// write creates, updates or (with no endpoints) deletes the DNSEndpoint read as obj.
func (p *Provider) write(ctx context.Context, obj *unstructured.Unstructured, exists bool, next *dnsEndpointSpec) error {
	log := ctrl.LoggerFrom(ctx).WithValues("dnsEndpoint", p.cfg.Namespace+"/"+p.cfg.Name)
	switch {
	case len(next.Endpoints) == 0 && !exists:
		return nil
	case len(next.Endpoints) == 0:
		err := p.cfg.Client.Delete(ctx, obj, client.Preconditions{ResourceVersion: ptr(obj.GetResourceVersion())})
		if err != nil && !apierrors.IsNotFound(err) {
			return p.classify(err, "deleting it")
		}
		log.V(1).Info("Deleted the DNSEndpoint: no endpoints left")
		return nil
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(next)
	if err != nil {
		return kdns.NewProviderError(kdns.ReasonProviderError, err, "%s: encoding its spec", p.where)
	}
	obj.SetNamespace(p.cfg.Namespace)
	obj.SetName(p.cfg.Name)
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range p.cfg.Labels {
		labels[k] = v
	}
	obj.SetLabels(labels)
	if o := p.cfg.Owner; o != nil && !slices.ContainsFunc(obj.GetOwnerReferences(), func(r metav1.OwnerReference) bool { return r.UID == o.UID }) {
		obj.SetOwnerReferences(append(obj.GetOwnerReferences(), *o))
	}
	obj.Object["spec"] = raw
	if !exists {
		if err := p.cfg.Client.Create(ctx, obj); err != nil {
			return p.classify(err, "creating it")
		}
		log.V(1).Info("Created the DNSEndpoint", "endpoints", len(next.Endpoints))
		return nil
	}
	if err := p.cfg.Client.Update(ctx, obj); err != nil { // carries the resourceVersion read
		return p.classify(err, "updating it")
	}
	log.V(1).Info("Updated the DNSEndpoint", "endpoints", len(next.Endpoints))
	return nil
}

func ptr(s string) *string { return &s }

// check refuses what the DNSEndpoint could hold but no DNS could serve.
func (p *Provider) check(ep *kdns.Endpoint) error {
	if ep == nil {
		return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: a nil record in the changes", p.where)
	}
	name := strings.TrimSuffix(ep.DNSName, ".")
	_, ok := dns.IsDomainName(name)
	switch {
	case name == "" || !ok || strings.Contains(name, "..") || strings.ContainsAny(name, " /\\\"()"):
		return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: record %s: %q is not a DNS name", p.where, ep, ep.DNSName)
	case ep.RecordType == "" || strings.ToUpper(ep.RecordType) != ep.RecordType:
		return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: record %s: record type %q is not an upper-case DNS type", p.where, ep, ep.RecordType)
	case len(ep.Targets) == 0:
		return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: record %s: no targets", p.where, ep)
	case ep.TTL < 0:
		return kdns.NewProviderError(kdns.ReasonInvalidRecord, nil, "%s: record %s: negative TTL", p.where, ep)
	}
	return nil
}
