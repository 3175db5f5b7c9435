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
	for _, k := range kinds.All {
		r := &FederatedReconciler{
			Client:    mgr.GetClient(),
			APIReader: mgr.GetAPIReader(),
			Registry:  reg,
			Recorder:  mgr.GetEventRecorder("kfed-propagation"),
			Kind:      k,

			UnschedulableWindow: o.UnschedulableWindow,
			copies:              copies,
		}
		if err := r.SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("setting up the %s controller: %w", k.Name, err)
		}
	}
	return reg, nil
}
