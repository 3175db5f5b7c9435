// Package controllers holds kfed's reconcilers: thin loops that read, plan, apply and patch
// status, one per concern.
package controllers

import (
	"fmt"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/kinds"
	"github.com/kfed-io/kfed/internal/member"
)

// Options configure the controllers.
type Options struct {
	// Namespace is where member credential Secrets live (the manager's --namespace).
	Namespace string
	// UnschedulableWindow is how long a member pod must stay Unschedulable before kfed counts
	// the member as full for its workload and moves the excess replicas elsewhere (default 60s).
	UnschedulableWindow time.Duration
	// WrapMemberTransport, when set, wraps the transport of every request to a member: for
	// tests that count what kfed sends.
	WrapMemberTransport func(http.RoundTripper) http.RoundTripper
	// DNSProviders are the constructors of the FederatedDomain providers, by the name of their
	// spec.provider field (DefaultDNSProviders: all but builtin). The builtin
	// server is kfed's own and needs none; a domain whose provider has no constructor here is
	// Ready=False, reason ProviderNotBuilt.
	DNSProviders map[string]DNSProviderFactory
	// MapBuiltinListen, when set, maps a builtin FederatedDomain's spec.provider.builtin.listen
	// to the address this replica listens on: for tests that run two replicas in one process
	// (in a cluster each replica has its own address).
	MapBuiltinListen func(listen string) string
}

// NewScheme returns the scheme of the host and member clients: the built-in kinds and kfed's.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("adding the built-in kinds to the scheme: %w", err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("adding the kfed kinds to the scheme: %w", err)
	}
	return s, nil
}

// CacheOptions configures the host cache. Secrets are cached in every namespace, because a
// FederatedSecret copies a Secret of its own namespace; member credentials are still read only
// from the operator's namespace (the cluster controller checks).
func CacheOptions(Options) cache.Options {
	return cache.Options{}
}

// Setup adds the member Registry and every controller to the manager, and returns the Registry.
func Setup(mgr ctrl.Manager, o Options) (*member.Registry, error) {
	reg := member.NewRegistry(member.Options{
		Scheme:        mgr.GetScheme(),
		Logger:        mgr.GetLogger().WithName("member"),
		WrapTransport: o.WrapMemberTransport,
	})
	if err := mgr.Add(reg); err != nil {
		return nil, fmt.Errorf("adding the member registry: %w", err)
	}
	clusters := &ClusterReconciler{
		Client:    mgr.GetClient(),
		Registry:  reg,
		Recorder:  mgr.GetEventRecorder("kfed-cluster-controller"),
		Namespace: o.Namespace,
	}
	if err := clusters.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the FederatedCluster controller: %w", err)
	}
	copies := newCopyWatches(reg)
	drains := newDrainLedger()
	for _, k := range kinds.All {
		r := &FederatedReconciler{
			Client:    mgr.GetClient(),
			APIReader: mgr.GetAPIReader(),
			Registry:  reg,
			Recorder:  mgr.GetEventRecorder("kfed-propagation"),
			Kind:      k,

			UnschedulableWindow: o.UnschedulableWindow,
			copies:              copies,
			drains:              drains,
		}
		if err := r.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("setting up the %s controller: %w", k.Name, err)
		}
	}
	gclb := &GCLBReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Registry: reg, Namespace: o.Namespace}
	if err := gclb.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the GCLB controller of FederatedIngresses: %w", err)
	}
	if err := setupDNS(mgr, reg, o, drains); err != nil {
		return nil, err
	}
	return reg, nil
}

// setupDNS adds the builtin DNS servers (every replica), the FederatedDomain controller and
// the DNS controller of FederatedServices.
func setupDNS(mgr ctrl.Manager, reg *member.Registry, o Options, drains *drainLedger) error {
	providers := &dnsProviders{factories: o.DNSProviders, host: mgr.GetClient(), hostName: mgr.GetConfig().Host,
		namespace: o.Namespace, kept: map[string]keptProvider{}}
	zones := newBuiltinZones(mgr.GetCache())
	zones.mapListen = o.MapBuiltinListen
	if err := mgr.Add(zones); err != nil {
		return fmt.Errorf("adding the builtin DNS servers: %w", err)
	}
	recheck := make(chan event.GenericEvent, 64)
	domains := &DomainReconciler{Client: mgr.GetClient(), providers: providers, zones: zones, recheck: recheck}
	if err := domains.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the FederatedDomain controller: %w", err)
	}
	dns := &DNSReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Registry: reg, providers: providers, recheck: recheck,
		drains: drains}
	if err := dns.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the DNS controller: %w", err)
	}
	return nil
}
