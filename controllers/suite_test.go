package controllers_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/test/framework"
)

const operatorNamespace = "kfed-system"

// Shared by the tests of this package: a host with kfed's CRDs, three members, and the manager
// running in this process against the host (framework.StartManager, which creates the operator
// namespace).
var (
	fed      *framework.Federation
	operator *framework.Manager
	registry *member.Registry // operator's
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// No pass/fail wait of this package relies on gomega's 1 s default: a wait that names no
	// bound gets one a loaded 2-core machine meets.
	gomega.SetDefaultEventuallyTimeout(30 * time.Second)
	gomega.SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
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
	if operator, err = framework.StartManager(ctx, fed.Host, controllers.Options{Namespace: operatorNamespace}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	registry = operator.Registry
	code := m.Run()
	if err := operator.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	return code
}

// zapLevel is the test log level: errors only, unless KFED_TEST_VERBOSE is set.
func zapLevel() zapcore.Level {
	if os.Getenv("KFED_TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel
}

// stopAPIServer stops a member's API server (a real cluster failure) and returns restart, which
// starts it again once (a real recovery); defer restart() so that the member comes back however
// the test ends, before the deferred deletions that need it.
func stopAPIServer(t *testing.T, m *framework.Cluster) (restart func()) {
	t.Helper()
	if err := m.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if err := m.StartAPIServer(); err != nil {
				t.Error(err)
			}
		})
	}
}
