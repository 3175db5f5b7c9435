package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/internal/cli"
	"github.com/kfed-io/kfed/test/framework"
)

// Shared by the tests of this package: a host with kfed's CRDs, three members (not full: the
// tests need API servers, not pods), the manager running in this process against the host, and
// one kubeconfig with context "federation" (the host) and one per member.
var (
	fed            *framework.Federation
	kubeconfigPath string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	level := zapcore.ErrorLevel
	if os.Getenv("KFED_TEST_VERBOSE") != "" {
		level = zapcore.DebugLevel
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true), zap.Level(level)))

	var err error
	if fed, err = framework.Start(ctx, framework.Options{Members: 3}); err != nil {
		fmt.Fprintln(os.Stderr, "starting the clusters:", err)
		return 1
	}
	defer func() {
		if err := fed.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the clusters:", err)
		}
	}()
	mgr, err := framework.StartManager(ctx, fed.Host, controllers.Options{Namespace: "kfed-system"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := mgr.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	dir, err := os.MkdirTemp("", "kfed-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	kubeconfigPath = filepath.Join(dir, "kubeconfig")
	if err := fed.WriteKubeconfig(kubeconfigPath); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// result is what one run of kfed printed and returned.
type result struct {
	code        int
	out, errOut string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
}

// kfed runs the command line in this process against the test kubeconfig.
func kfed(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runAs(t, "kfed", stdin, args...)
}

// kfedAs runs the command line as program.
func kfedAs(t *testing.T, program string, args ...string) result {
	t.Helper()
	return runAs(t, program, "", args...)
}

func runAs(t *testing.T, program, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	argv := append([]string{program, "--kubeconfig", kubeconfigPath}, args...)
	code := cli.Main(t.Context(), argv, cli.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// wantOK fails the test unless r succeeded.
func wantOK(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("kfed failed:\n%s", r)
	}
}

// wantError fails the test unless r failed with exit code 1 and one line on stderr containing
// every part.
func wantError(t *testing.T, r result, parts ...string) {
	t.Helper()
	if r.code != 1 {
		t.Fatalf("want exit code 1, got:\n%s", r)
	}
	if lines := strings.Split(strings.TrimSuffix(r.errOut, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "Error: ") {
		t.Fatalf("want one line on stderr starting with \"Error: \", got:\n%s", r)
	}
	for _, p := range parts {
		if !strings.Contains(r.errOut, p) {
			t.Fatalf("want %q on stderr, got:\n%s", p, r)
		}
	}
}

// joinOnce joins member 0 under its own name the first time it is asked, and returns the output
// of that join.
var (
	joinMu   sync.Mutex
	joinRuns = map[string]result{}
)

func joinOnce(t *testing.T) result {
	t.Helper()
	joinMu.Lock()
	defer joinMu.Unlock()
	name := fed.Members[0].Name
	if r, ok := joinRuns[name]; ok {
		return r
	}
	start := time.Now()
	r := kfed(t, "", "join", name, "--cluster-context", name, "--token-wait", "1s")
	wantOK(t, r)
	t.Logf("kfed join %s --cluster-context %s --token-wait 1s: %s wall time", name, name, time.Since(start).Round(10*time.Millisecond))
	joinRuns[name] = r
	return r
}
