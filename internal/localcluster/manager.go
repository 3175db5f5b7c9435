package localcluster

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/internal/member"
)

// Manager is the kfed manager running in the test process against a host.
type Manager struct {
	// Registry is the manager's member registry.
	Registry *member.Registry

	cancel  context.CancelFunc
	done    chan error
	stop    sync.Once
	stopErr error
}

// StartManager runs the kfed manager (every controller, no metrics or probe endpoints) in this
// process against host (through host.Config, which a test may wrap to watch the requests), with
// the operator namespace o.Namespace (created when missing).
func StartManager(ctx context.Context, host *Cluster, o controllers.Options) (*Manager, error) {
	if o.Namespace == "" {
		return nil, errors.New("StartManager needs the operator namespace")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.Namespace}}
	if err := host.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating the operator namespace %s: %w", o.Namespace, err)
	}
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, err
	}
	// As main's ctrl.GetConfig: no client-side rate limit (the API server's priority and fairness
	// applies); the test clusters' admin configs would otherwise allow 5 requests/s.
	cfg := rest.CopyConfig(host.Config)
	if cfg.QPS == 0 {
		cfg.QPS = -1
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  controllers.CacheOptions(o),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Controller names repeat when a test stops the manager and starts another.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	reg, err := controllers.Setup(mgr, o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &Manager{Registry: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- mgr.Start(ctx) }()
	return m, nil
}

// Stop stops the manager and returns what it returned; calling it again returns the same.
func (m *Manager) Stop() error {
	m.stop.Do(func() {
		m.cancel()
		if err := <-m.done; err != nil {
			m.stopErr = fmt.Errorf("running the manager: %w", err)
		}
	})
	return m.stopErr
}
