// Package crd_test installs kfed's CRDs the way `kfed init` does (server-side apply of
// config/, embedded) into a real host API server, and checks what a user then sees:
// `kubectl explain` with the native descriptions of template fields, and the size of what the
// API server stores.
package crd_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/config"
	"github.com/kfed-io/kfed/internal/cli/install"
	"github.com/kfed-io/kfed/internal/cli/kubeconfig"
	"github.com/kfed-io/kfed/test/framework"
)

// etcdMaxRequestBytes is etcd's default --max-request-bytes: one stored object must fit.
const etcdMaxRequestBytes = 1536 * 1024

func startHost(t *testing.T) *framework.Cluster {
	t.Helper()
	ctx := t.Context()
	host, err := framework.StartCluster(ctx, framework.ClusterOptions{Topology: framework.Topology{Name: "host"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Stop() })
	objs, err := install.Manifests(config.FS, config.Root)
	if err != nil {
		t.Fatal(err)
	}
	scheme, err := kubeconfig.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(host.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := install.Install(ctx, c, objs, install.Options{Out: io.Discard}); err != nil {
		t.Fatalf("installing config/ with server-side apply as kfed init does: %v", err)
	}
	return host
}

func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// firstSentence is the start of a description up to its first period, which kubectl prints
// whatever the width it wraps at.
func firstSentence(s string) string {
	if i := strings.Index(s, "."); i > 0 {
		return normalize(s[:i+1])
	}
	return normalize(s)
}

func TestKubectlExplainShowsNativeDescriptions(t *testing.T) {
	host := startHost(t)
	kubectl := filepath.Join(framework.ToolsDir(), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("kubectl not found in %s: run `make tools` first", framework.ToolsDir())
	}
	kubeconfig := filepath.Join(t.TempDir(), "host.kubeconfig")
	if err := os.WriteFile(kubeconfig, host.Kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field, native string
	}{
		{"federateddeployment.spec.template.spec.template.spec.containers.livenessProbe", corev1.Container{}.SwaggerDoc()["livenessProbe"]},
		{"federatedjob.spec.template.spec.backoffLimit", batchv1.JobSpec{}.SwaggerDoc()["backoffLimit"]},
		{"federateddaemonset.spec.template.spec.updateStrategy.rollingUpdate.maxUnavailable",
			appsv1.RollingUpdateDaemonSet{}.SwaggerDoc()["maxUnavailable"]},
		{"federatedservice.spec.template.spec.sessionAffinity", corev1.ServiceSpec{}.SwaggerDoc()["sessionAffinity"]},
	} {
		t.Run(tc.field, func(t *testing.T) {
			if tc.native == "" {
				t.Fatal("k8s.io/api has no description for the field")
			}
			cmd := exec.Command(kubectl, "--kubeconfig", kubeconfig, "explain", tc.field)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("kubectl explain %s: %v: %s", tc.field, err, stderr.String())
			}
			want := firstSentence(tc.native)
			if !strings.Contains(normalize(string(out)), want) {
				t.Errorf("kubectl explain %s does not show the native description %q:\n%s", tc.field, want, out)
			}
			if strings.Contains(string(out), "<empty>") {
				t.Errorf("kubectl explain %s shows an <empty> description:\n%s", tc.field, out)
			}
		})
	}
}

// TestKubectlGetShowsWhyNotReady checks the printer columns: Ready with its reason beside it.
func TestKubectlGetShowsWhyNotReady(t *testing.T) {
	host := startHost(t)
	ctx := t.Context()
	fc := &v1alpha1.FederatedCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-asia-east1-a"},
		Spec:       v1alpha1.FederatedClusterSpec{SecretRef: v1alpha1.ObjectReference{Name: "cluster-asia-east1-a"}},
	}
	if err := host.Client.Create(ctx, fc); err != nil {
		t.Fatal(err)
	}
	fc.Status = v1alpha1.FederatedClusterStatus{
		ObservedGeneration: fc.Generation,
		Region:             "asia-east1",
		Zones:              []string{"asia-east1-a"},
		ZoneList:           "asia-east1-a",
		Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonProbeFailed,
			Message: "unreachable", LastTransitionTime: metav1.Now(), ObservedGeneration: fc.Generation}},
	}
	if err := host.Client.Status().Update(ctx, fc); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "host.kubeconfig")
	if err := os.WriteFile(kubeconfig, host.Kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(framework.ToolsDir(), "kubectl"), "--kubeconfig", kubeconfig, "get", "fcl").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get fcl: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("kubectl get fcl: want a header and one row:\n%s", out)
	}
	header, row := strings.Fields(lines[0]), strings.Fields(lines[1])
	for i, want := range []string{"NAME", "READY", "REASON", "REGION"} {
		if i >= len(header) || header[i] != want {
			t.Fatalf("kubectl get fcl: want columns starting %s, got:\n%s", "NAME READY REASON REGION", out)
		}
	}
	if row[1] != "False" || row[2] != v1alpha1.ReasonProbeFailed || row[3] != "asia-east1" {
		t.Errorf("kubectl get fcl: want False %s asia-east1, got:\n%s", v1alpha1.ReasonProbeFailed, out)
	}
	t.Logf("kubectl get fcl:\n%s", out)
}

// TestKubectlApplyNeedsServerSide runs the two ways a user may apply config/: client-side
// apply fails on the large CRDs (its last-applied annotation cannot hold them), server-side
// apply of the whole kustomization succeeds.
func TestKubectlApplyNeedsServerSide(t *testing.T) {
	host, err := framework.StartCluster(t.Context(), framework.ClusterOptions{Topology: framework.Topology{Name: "host"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Stop() })
	kubectl := filepath.Join(framework.ToolsDir(), "kubectl")
	kubeconfig := filepath.Join(t.TempDir(), "host.kubeconfig")
	if err := os.WriteFile(kubeconfig, host.Kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		cmd.Dir = framework.RepoRoot()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	jobs := filepath.Join("config", "crd", "bases", "federation.kfed.io_federatedjobs.yaml")
	out, err := run("apply", "-f", jobs)
	if err == nil || !strings.Contains(out, "Too long") {
		t.Errorf("client-side kubectl apply -f %s: want it refused as too long for the annotation, got %v:\n%s", jobs, err, out)
	} else {
		t.Logf("client-side apply refused, as docs/install.md says: %s", strings.TrimSpace(out))
	}
	if out, err := run("apply", "--server-side", "-k", "config/default"); err != nil {
		t.Fatalf("kubectl apply --server-side -k config/default: %v\n%s", err, out)
	}
	if out, err := run("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"); err != nil {
		t.Fatalf("waiting for the CRDs: %v\n%s", err, out)
	}
	out, err = run("get", "crd", "-o", "name")
	if err != nil || strings.Count(out, ".federation.kfed.io") < 11 {
		t.Errorf("after server-side apply, the CRDs: %v\n%s", err, out)
	}
}

// TestStoredCRDsFitEtcd reads each CRD back as protobuf, the encoding the API server stores in
// etcd, managedFields and status included, and prints the largest.
func TestStoredCRDsFitEtcd(t *testing.T) {
	host := startHost(t)
	hc, err := rest.HTTPClientFor(host.Config)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := install.Manifests(config.FS, config.Root)
	if err != nil {
		t.Fatal(err)
	}
	largest, largestSize := "", 0
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		size, err := protobufSize(t.Context(), hc, host.Host(), o.GetName())
		if err != nil {
			t.Fatal(err)
		}
		if size > etcdMaxRequestBytes*2/3 {
			t.Errorf("CRD %s is stored as %d bytes, over two thirds of etcd's %d-byte limit", o.GetName(), size, etcdMaxRequestBytes)
		}
		if size > largestSize {
			largest, largestSize = o.GetName(), size
		}
	}
	t.Logf("largest stored CRD: %s, %d bytes as protobuf with managedFields (%.0f%% of etcd's %d-byte request limit)",
		largest, largestSize, 100*float64(largestSize)/etcdMaxRequestBytes, etcdMaxRequestBytes)
}

func protobufSize(ctx context.Context, hc *http.Client, host, name string) (int, error) {
	url := strings.TrimSuffix(host, "/") + "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/vnd.kubernetes.protobuf")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("reading CRD %s: %w", name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("reading CRD %s: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/vnd.kubernetes.protobuf") {
		return 0, fmt.Errorf("reading CRD %s: HTTP %d, %s", name, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return len(body), nil
}
