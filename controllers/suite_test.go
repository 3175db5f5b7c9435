package controllers_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/test/framework"
)

const operatorNamespace = "kfed-system"

// Shared by the tests of this package: a host with kfed's CRDs, three members, and the manager
// running in this process against the host.
var (
	fed      *framework.Federation
	operator *runningManager
	registry *member.Registry // operator's
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true), zap.Level(zapLevel())))

	var err error
	fed, err = framework.Start(ctx, framework.Options{Members: 3})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the clusters:", err)
		return 1
	}
	defer func() {
		if err := fed.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the clusters:", err)
		}
	}()
	if err := fed.Host.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil {
		fmt.Fprintln(os.Stderr, "creating the operator namespace:", err)
		return 1
	}
	if operator, err = startManager(ctx, fed.Host.Config, controllers.Options{Namespace: operatorNamespace}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	registry = operator.registry
	code := m.Run()
	if err := operator.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	return code
}

// runningManager is kfed's manager running in the test process against the host.
type runningManager struct {
	registry *member.Registry
	cancel   context.CancelFunc
	done     chan error
}

// startManager starts kfed's manager against the host reached through cfg, as main does.
// Controller names may repeat, so that a test can stop the manager and start another.
func startManager(ctx context.Context, cfg *rest.Config, opts controllers.Options) (*runningManager, error) {
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, err
	}
	// As main's ctrl.GetConfig: no client-side rate limit (the API server's priority and
	// fairness applies); the test clusters' admin configs would otherwise allow 5 requests/s.
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS = -1
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  controllers.CacheOptions(opts),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	reg, err := controllers.Setup(mgr, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &runningManager{registry: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- mgr.Start(ctx) }()
	return m, nil
}

// stop stops the manager and waits until it has stopped.
func (m *runningManager) stop() error {
	m.cancel()
	return <-m.done
}

// zapLevel is the test log level: errors only, unless KFED_TEST_VERBOSE is set.
func zapLevel() zapcore.Level {
	if os.Getenv("KFED_TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel
}
