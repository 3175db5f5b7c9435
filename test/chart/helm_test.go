// Package chart_test checks charts/kfed with the pinned helm (bin/helm): that it renders what
// config/ and `kfed init` install, that its values are checked, and that install, upgrade and
// uninstall against a real host API server do what docs/install.md says.
package chart_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kfed-io/kfed/internal/cli/manifest"
	"github.com/kfed-io/kfed/test/framework"
)

// chartDir is the chart under test.
var chartDir = filepath.Join(framework.RepoRoot(), "charts", "kfed")

// releaseNamespace is where the tests install the chart: the operator namespace of DESIGN.md.
const releaseNamespace = "kfed-system"

// helmEnv runs helm with its own cache, config and data folders, so a test neither reads nor
// writes the user's, and never reaches for a chart repository.
type helmEnv struct {
	bin, home, kubeconfig string
}

func newHelm(t *testing.T) *helmEnv {
	t.Helper()
	bin := filepath.Join(framework.ToolsDir(), "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found in %s: run `make tools` first (it builds the pinned binaries into bin/)", framework.ToolsDir())
	}
	return &helmEnv{bin: bin, home: t.TempDir()}
}

// run runs helm and returns its stdout, or an error with its stderr.
func (h *helmEnv) run(args ...string) (string, error) {
	cmd := exec.Command(h.bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(h.home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(h.home, "config"),
		"HELM_DATA_HOME="+filepath.Join(h.home, "data"),
	)
	if h.kubeconfig != "" {
		cmd.Env = append(cmd.Env, "KUBECONFIG="+h.kubeconfig)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &helmError{args: args, err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type helmError struct {
	args   []string
	err    error
	stderr string
}

func (e *helmError) Error() string {
	return "helm " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + e.stderr
}

func (e *helmError) Unwrap() error { return e.err }

// mustRun is run that fails the test on an error.
func (h *helmEnv) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := h.run(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// template renders the chart at dir with helm template and the given extra flags.
func (h *helmEnv) template(t *testing.T, dir string, flags ...string) []*unstructured.Unstructured {
	t.Helper()
	out := h.mustRun(t, append([]string{"template", "kfed", dir, "--namespace", releaseNamespace}, flags...)...)
	objs, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// decode reads every object of a multi-document YAML (or JSON) stream, as kfed init reads config/.
func decode(s string) ([]*unstructured.Unstructured, error) {
	return manifest.Decode([]byte(s))
}

// find returns the object of that kind and name, or nil.
func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func kinds(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}
