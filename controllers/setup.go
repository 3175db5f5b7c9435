// Package controllers holds kfed's reconcilers: thin loops that read, plan, apply and patch
// status, one per concern.
package controllers

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/member"
)

// Options configure the controllers.
type Options struct {
	// Namespace is where member credential Secrets live (the manager's --namespace).
	Namespace string
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

// CacheOptions restricts the host cache to what the controllers need: Secrets only in the
// operator's namespace, so kfed neither holds nor needs read access to every Secret of the host.
func CacheOptions(o Options) cache.Options {
	return cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {Namespaces: map[string]cache.Config{o.Namespace: {}}},
		},
	}
}

// Setup adds the member Registry and every controller to the manager, and returns the Registry.
func Setup(mgr ctrl.Manager, o Options) (*member.Registry, error) {
	reg := member.NewRegistry(member.Options{
		Scheme: mgr.GetScheme(),
		Logger: mgr.GetLogger().WithName("member"),
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
	return reg, nil
}
