package chart_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kfed-io/kfed/config"
	"github.com/kfed-io/kfed/internal/cli/install"
)

// TestChartLints runs helm lint, strict, with the default values and with every optional part on.
func TestChartLints(t *testing.T) {
	h := newHelm(t)
	h.mustRun(t, "lint", "--strict", chartDir)
	h.mustRun(t, "lint", "--strict", chartDir, "--set", "serviceMonitor.enabled=true,replicas=3,crds.keep=false")
}

// TestChartRendersWhatConfigSays compares the chart's default rendering with what `kfed init`
// installs (config/, embedded): the same CRDs, the same manager rules, the same admission
// policies, and the manager run with the same flags and the same hardened pod.
func TestChartRendersWhatConfigSays(t *testing.T) {
	h := newHelm(t)
	chart := h.template(t, chartDir)
	cfg, err := install.Manifests(config.FS, config.Root)
	if err != nil {
		t.Fatal(err)
	}

	// CRDs: equal but for the chart's labels and the keep policy, which config/ does not set.
	cfgCRDs := kinds(cfg, "CustomResourceDefinition")
	if got := len(kinds(chart, "CustomResourceDefinition")); got != len(cfgCRDs) || got == 0 {
		t.Errorf("the chart renders %d CRDs, config/ has %d", got, len(cfgCRDs))
	}
	for _, want := range cfgCRDs {
		got := find(chart, "CustomResourceDefinition", want.GetName())
		if got == nil {
			t.Errorf("CRD %s is not in the chart", want.GetName())
			continue
		}
		if got.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s: want annotation helm.sh/resource-policy: keep by default, got %v", got.GetName(), got.GetAnnotations())
		}
		if got.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("CRD %s: want the chart's labels, got %v", got.GetName(), got.GetLabels())
		}
		got = got.DeepCopy()
		got.SetLabels(nil)
		annotations := got.GetAnnotations()
		delete(annotations, "helm.sh/resource-policy")
		got.SetAnnotations(annotations)
		if d := cmp.Diff(want.Object, got.Object); d != "" {
			t.Errorf("CRD %s differs from config/crd/bases (-config +chart): run `make chart`\n%.3000s", want.GetName(), d)
		}
	}

	// The manager's rules, and the admission policies.
	for _, kind := range []string{"ClusterRole", "Role"} {
		want, got := find(cfg, kind, install.ManagerName), find(chart, kind, install.ManagerName)
		if want == nil || got == nil {
			t.Fatalf("%s %s: config/ has %v, the chart %v", kind, install.ManagerName, want != nil, got != nil)
		}
		if d := cmp.Diff(want.Object["rules"], got.Object["rules"]); d != "" {
			t.Errorf("%s %s rules differ (-config +chart): run `make chart`\n%s", kind, install.ManagerName, d)
		}
		if kind == "Role" && got.GetNamespace() != releaseNamespace {
			t.Errorf("Role %s is in %q, want the release namespace", got.GetName(), got.GetNamespace())
		}
	}
	for _, kind := range []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		want := kinds(cfg, kind)
		if len(want) == 0 || len(kinds(chart, kind)) != len(want) {
			t.Errorf("%s: config/ has %d, the chart %d", kind, len(want), len(kinds(chart, kind)))
		}
		for _, w := range want {
			got := find(chart, kind, w.GetName())
			if got == nil {
				t.Errorf("%s %s is not in the chart", kind, w.GetName())
				continue
			}
			if d := cmp.Diff(w.Object, got.Object); d != "" {
				t.Errorf("%s %s differs (-config +chart): run `make chart`\n%s", kind, w.GetName(), d)
			}
		}
	}

	// The manager: every flag config/manager gives, and the same pod and container security.
	want, got := find(cfg, "Deployment", install.ManagerName), find(chart, "Deployment", install.ManagerName)
	if want == nil || got == nil {
		t.Fatalf("Deployment %s: config/ has %v, the chart %v", install.ManagerName, want != nil, got != nil)
	}
	wantArgs, gotArgs := containerField(t, want, "args"), containerField(t, got, "args")
	for _, a := range wantArgs.([]any) {
		arg := a.(string)
		if arg == "--leader-elect" {
			arg = "--leader-elect=true"
		}
		if !slices.Contains(gotArgs.([]any), any(arg)) {
			t.Errorf("the chart's manager lacks %s (config/manager has it): chart args %v", arg, gotArgs)
		}
	}
	for _, field := range []string{"securityContext", "resources", "livenessProbe", "readinessProbe", "ports"} {
		if d := cmp.Diff(containerField(t, want, field), containerField(t, got, field), ignoreRunAsNonRoot(field)); d != "" {
			t.Errorf("the manager container's %s differs (-config +chart):\n%s", field, d)
		}
	}
	wantPod, _, _ := unstructured.NestedMap(want.Object, "spec", "template", "spec", "securityContext")
	gotPod, _, _ := unstructured.NestedMap(got.Object, "spec", "template", "spec", "securityContext")
	if d := cmp.Diff(wantPod, gotPod); d != "" {
		t.Errorf("the manager pod's securityContext differs (-config +chart):\n%s", d)
	}
	if r, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); r != 2 {
		t.Errorf("want 2 replicas by default, got %d", r)
	}
}

// ignoreRunAsNonRoot lets the chart's container say runAsNonRoot again (the pod says it too).
func ignoreRunAsNonRoot(field string) cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		return field == "securityContext" && strings.Contains(p.GoString(), `"runAsNonRoot"`)
	}, cmp.Ignore())
}

func containerField(t *testing.T, d *unstructured.Unstructured, field string) any {
	t.Helper()
	containers, _, err := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if err != nil || len(containers) != 1 {
		t.Fatalf("Deployment %s: want one container, got %d (%v)", d.GetName(), len(containers), err)
	}
	return containers[0].(map[string]any)[field]
}

// TestChartValues renders non-default values and checks each reaches the objects, and that
// values.schema.json refuses a wrong type, an unknown key and a bad enum.
func TestChartValues(t *testing.T) {
	h := newHelm(t)

	def := h.template(t, chartDir)
	if find(def, "PodDisruptionBudget", "kfed-manager") == nil {
		t.Error("2 replicas (the default) render no PodDisruptionBudget")
	}
	if len(kinds(def, "ServiceMonitor")) != 0 {
		t.Error("a ServiceMonitor is rendered by default")
	}
	for name, label := range map[string]string{
		"kfed-view": "rbac.authorization.k8s.io/aggregate-to-view", "kfed-edit": "rbac.authorization.k8s.io/aggregate-to-edit",
	} {
		r := find(def, "ClusterRole", name)
		if r == nil || r.GetLabels()[label] != "true" {
			t.Errorf("ClusterRole %s with label %s=true is not rendered: %v", name, label, r)
			continue
		}
		resources, _, _ := unstructured.NestedSlice(r.Object["rules"].([]any)[0].(map[string]any), "resources")
		if !slices.Contains(resources, any("federateddeployments")) || slices.Contains(resources, any("federatedclusters")) {
			t.Errorf("ClusterRole %s grants %v: want the namespaced federated kinds, not FederatedCluster", name, resources)
		}
	}

	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(`
replicas: 3
crds: {keep: false}
image: {repository: registry.example/kfed, tag: v9.9.9, pullPolicy: Always}
manager: {logFormat: console, logLevel: 4, unschedulableWindow: 2m, extraArgs: ["--kube-api-qps=50"]}
metrics: {port: 9090}
resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {memory: 1Gi}}
podDisruptionBudget: {minAvailable: 2}
serviceMonitor: {enabled: true, interval: 15s, labels: {release: prometheus}}
rbac: {aggregateToView: false}
nodeSelector: {kubernetes.io/os: linux}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	objs := h.template(t, chartDir, "--values", values)
	d := find(objs, "Deployment", "kfed-manager")
	if d == nil {
		t.Fatal("no Deployment kfed-manager")
	}
	if r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); r != 3 {
		t.Errorf("replicas: got %d, want 3", r)
	}
	args := containerField(t, d, "args").([]any)
	for _, want := range []string{"--leader-elect=true", "--namespace=kfed-system", "--metrics-bind-address=:9090",
		"--log-format=console", "-v=4", "--unschedulable-window=2m", "--kube-api-qps=50"} {
		if !slices.Contains(args, any(want)) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	if img := containerField(t, d, "image"); img != "registry.example/kfed:v9.9.9" {
		t.Errorf("image: got %v", img)
	}
	if mem, _, _ := unstructured.NestedString(containerField(t, d, "resources").(map[string]any), "limits", "memory"); mem != "1Gi" {
		t.Errorf("memory limit: got %q, want 1Gi", mem)
	}
	if sel, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "spec", "nodeSelector"); sel["kubernetes.io/os"] != "linux" {
		t.Errorf("nodeSelector: got %v", sel)
	}
	pdb := find(objs, "PodDisruptionBudget", "kfed-manager")
	if m, _, _ := unstructured.NestedInt64(pdb.Object, "spec", "minAvailable"); pdb == nil || m != 2 {
		t.Errorf("PodDisruptionBudget minAvailable: got %v", pdb)
	}
	sm := find(objs, "ServiceMonitor", "kfed-manager")
	if sm == nil || sm.GetLabels()["release"] != "prometheus" {
		t.Errorf("ServiceMonitor with label release=prometheus: got %v", sm)
	}
	if find(objs, "ClusterRole", "kfed-view") != nil || find(objs, "ClusterRole", "kfed-edit") == nil {
		t.Error("rbac.aggregateToView=false must drop kfed-view and keep kfed-edit")
	}
	for _, crd := range kinds(objs, "CustomResourceDefinition") {
		if _, ok := crd.GetAnnotations()["helm.sh/resource-policy"]; ok {
			t.Errorf("crds.keep=false: CRD %s still has helm.sh/resource-policy", crd.GetName())
		}
	}

	one := h.template(t, chartDir, "--set", "replicas=1")
	if find(one, "PodDisruptionBudget", "kfed-manager") != nil {
		t.Error("1 replica renders a PodDisruptionBudget")
	}
	if n := len(kinds(h.template(t, chartDir, "--set", "crds.enabled=false"), "CustomResourceDefinition")); n != 0 {
		t.Errorf("crds.enabled=false renders %d CRDs", n)
	}

	// Refused: wrong types, unknown keys, bad enums, several replicas without leader election.
	for _, bad := range []struct{ set, says string }{
		{"replicas=two", "replicas"},
		{"crds.enabled=yes", "crds.enabled"},
		{"bogus=1", "bogus"},
		{"crds.bogus=true", "bogus"},
		{"manager.logFormat=xml", "logFormat"},
		{"manager.unschedulableWindow=soon", "unschedulableWindow"},
		{"leaderElection.enabled=false", "leaderElection.enabled"},
	} {
		_, err := h.run("template", "kfed", chartDir, "--namespace", releaseNamespace, "--set", bad.set)
		if err == nil {
			t.Errorf("--set %s was accepted", bad.set)
			continue
		}
		if !strings.Contains(err.Error(), bad.says) {
			t.Errorf("--set %s: the error does not name %s: %v", bad.set, bad.says, err)
		}
	}
}
