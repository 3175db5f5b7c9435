// Command manager is the kfed operator: it runs in the host cluster and federates the members.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/internal/propagate"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kfed manager:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		metricsAddr, probeAddr, namespace, logFormat string
		leaderElect                                  bool
		logLevel                                     int
		unschedulableWindow                          time.Duration
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", `Address of the Prometheus metrics endpoint; "0" disables it.`)
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader, so that only one of several replicas acts.")
	flag.StringVar(&namespace, "namespace", "kfed-system", "Namespace of the member credential Secrets and of the leader election lease.")
	flag.StringVar(&logFormat, "log-format", "json", `Log format: "json" (production) or "console" (development).`)
	flag.IntVar(&logLevel, "v", 0, "Log verbosity: 0 is info; higher numbers log more.")
	flag.DurationVar(&unschedulableWindow, "unschedulable-window", propagate.DefaultUnschedulableWindow,
		"How long a member pod must stay Unschedulable before kfed counts the member as full for its workload and moves the excess replicas elsewhere.")
	// --kubeconfig is registered by controller-runtime's config package.
	flag.Parse()

	if unschedulableWindow <= 0 {
		return fmt.Errorf("--unschedulable-window must be positive, not %s", unschedulableWindow)
	}
	log, err := newLogger(logFormat, logLevel)
	if err != nil {
		return err
	}
	ctrl.SetLogger(log)
	klog.SetLogger(log)

	scheme, err := controllers.NewScheme()
	if err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the host cluster's kubeconfig: %w", err)
	}
	opts := controllers.Options{Namespace: namespace, UnschedulableWindow: unschedulableWindow,
		DNSProviders: controllers.DefaultDNSProviders()}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   controllers.CacheOptions(opts),
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "kfed-manager.federation.kfed.io",
		LeaderElectionNamespace: namespace,
		// The process exits on shutdown, so the lease can be handed over at once.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	if _, err := controllers.Setup(mgr, opts); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding the readiness check: %w", err)
	}
	log.Info("Starting the kfed manager", "namespace", namespace, "leaderElect", leaderElect)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	return nil
}

// newLogger builds a zap logger behind logr: JSON for production, console for development.
func newLogger(format string, level int) (logr.Logger, error) {
	var cfg zap.Config
	switch format {
	case "json":
		cfg = zap.NewProductionConfig()
	case "console":
		cfg = zap.NewDevelopmentConfig()
	default:
		return logr.Logger{}, fmt.Errorf(`--log-format must be "json" or "console", not %q`, format)
	}
	if level < 0 || level > 10 {
		return logr.Logger{}, fmt.Errorf("-v must be from 0 to 10, not %d", level)
	}
	// logr's V(n) is zap's level -n.
	cfg.Level = zap.NewAtomicLevelAt(zapcore.Level(-int8(level))) //nolint:gosec // bounded to 0..10 above
	z, err := cfg.Build()
	if err != nil {
		return logr.Logger{}, fmt.Errorf("building the logger: %w", err)
	}
	return zapr.NewLogger(z), nil
}
