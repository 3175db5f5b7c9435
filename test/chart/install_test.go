package chart_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kfed-io/kfed/internal/cli/dev"
	"github.com/kfed-io/kfed/internal/cli/install"
	"github.com/kfed-io/kfed/internal/cli/kubeconfig"
	"github.com/kfed-io/kfed/test/framework"
)

// The CRD the upgrade test grows, and the field it gains.
const (
	grownCRD     = "federatedconfigmaps.federation.kfed.io"
	grownCRDFile = "federatedconfigmaps.yaml"
	grownField   = "binaryData"
)

// previousChart writes a copy of the chart, version 0.0.1, whose FederatedConfigMap CRD lacks
// spec.template.binaryData: the chart a user had before the field was added.
func previousChart(t *testing.T, h *helmEnv) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "kfed")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	chartYAML := filepath.Join(dir, "Chart.yaml")
	raw, err := os.ReadFile(chartYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "\nversion: ") {
		t.Fatalf("%s has no version line", chartYAML)
	}
	lines := strings.Split(string(raw), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "version: ") {
			lines[i] = "version: 0.0.1"
		}
	}
	if err := os.WriteFile(chartYAML, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}

	// The CRD as the current chart renders it, minus the field, as a plain template.
	out := h.mustRun(t, "template", "kfed", chartDir, "--namespace", releaseNamespace, "--show-only", "templates/crds/"+grownCRDFile)
	objs, err := decode(out)
	if err != nil || len(objs) != 1 {
		t.Fatalf("rendering %s: %d objects, %v", grownCRDFile, len(objs), err)
	}
	crd := objs[0]
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	props := []string{"schema", "openAPIV3Schema", "properties", "spec", "properties", "template", "properties"}
	v0 := versions[0].(map[string]any)
	template, found, err := unstructured.NestedMap(v0, props...)
	if err != nil || !found || template[grownField] == nil {
		t.Fatalf("the %s CRD has no spec.template.%s to remove (%v)", grownCRD, grownField, err)
	}
	delete(template, grownField)
	if err := unstructured.SetNestedMap(v0, template, props...); err != nil {
		t.Fatal(err)
	}
	crd.Object["spec"].(map[string]any)["versions"] = versions
	data, err := yaml.Marshal(crd.Object)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "{{") {
		t.Fatal("the rendered CRD holds a template action")
	}
	tmpl := "{{- if .Values.crds.enabled }}\n" + string(data) + "{{- end }}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "crds", grownCRDFile), []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func federatedConfigMap(name string, binaryData bool) *unstructured.Unstructured {
	tmpl := map[string]any{"data": map[string]any{"greeting": "hello"}}
	if binaryData {
		tmpl[grownField] = map[string]any{"blob": "AAEC"}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "federation.kfed.io/v1alpha1", "kind": "FederatedConfigMap",
		"metadata": map[string]any{"name": name, "namespace": "default"},
		"spec":     map[string]any{"template": tmpl},
	}}
}

// TestChartInstallUpgradeUninstall installs the previous chart into a real host API server,
// checks what lands, upgrades to this chart (whose CRD gained a field), and uninstalls.
func TestChartInstallUpgradeUninstall(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	h := newHelm(t)
	prev := previousChart(t, h)

	c := startHost(t, h)
	const wait = 60 * time.Second

	// values.schema.json refuses bad values at install, before anything is written.
	for _, bad := range []string{"replicas=two", "bogus=1"} {
		_, err := h.run("install", "kfed", chartDir, "--namespace", releaseNamespace, "--create-namespace", "--wait=false", "--set", bad)
		g.Expect(err).To(MatchError(ContainSubstring("values don't meet the specifications of the schema")), "helm install --set %s", bad)
	}
	none := &apiextensionsv1.CustomResourceDefinitionList{}
	g.Expect(c.List(ctx, none)).To(Succeed())
	g.Expect(none.Items).To(BeEmpty(), "a refused install wrote CRDs")

	// Install the previous chart; no image runs here, so do not wait for the pods.
	h.mustRun(t, "install", "kfed", prev, "--namespace", releaseNamespace, "--create-namespace", "--wait=false")
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	g.Expect(c.List(ctx, crds)).To(Succeed())
	want, err := filepath.Glob(filepath.Join(framework.CRDDir(), "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(crds.Items).To(HaveLen(len(want)), "one CRD per file of config/crd/bases")
	for _, crd := range crds.Items {
		g.Expect(crd.Annotations).To(HaveKeyWithValue("helm.sh/resource-policy", "keep"), crd.Name)
		g.Expect(crd.Labels).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "Helm"), crd.Name)
	}
	d := &appsv1.Deployment{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "kfed-manager"}, d)).To(Succeed())
	g.Expect(*d.Spec.Replicas).To(Equal(int32(2)))
	pod := d.Spec.Template.Spec
	g.Expect(pod.ServiceAccountName).To(Equal("kfed-manager"))
	g.Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
	g.Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	sc := pod.Containers[0].SecurityContext
	g.Expect(*sc.AllowPrivilegeEscalation).To(BeFalse())
	g.Expect(*sc.ReadOnlyRootFilesystem).To(BeTrue())
	g.Expect(sc.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	g.Expect(pod.Containers[0].Args).To(ContainElements("--leader-elect=true", "--namespace="+releaseNamespace))
	g.Expect(pod.Containers[0].Resources.Requests).NotTo(BeEmpty())
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "kfed-manager"}, &corev1.ServiceAccount{})).To(Succeed())
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "kfed-manager"}, &policyv1.PodDisruptionBudget{})).To(Succeed())
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "kfed-manager"}, &rbacv1.Role{})).To(Succeed())
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "kfed-manager"}, &rbacv1.RoleBinding{})).To(Succeed())
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "kfed-manager"}, &rbacv1.ClusterRoleBinding{})).To(Succeed())
	edit := &rbacv1.ClusterRole{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "kfed-edit"}, edit)).To(Succeed())
	g.Expect(edit.Labels).To(HaveKeyWithValue("rbac.authorization.k8s.io/aggregate-to-edit", "true"))
	// The API server's aggregation controller folds kfed-edit into the built-in edit role
	// when one exists; envtest has no bootstrap roles, so check the labelled role only.
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "kfed-view"}, &rbacv1.ClusterRole{})).To(Succeed())

	// An object from before the upgrade: the previous CRD has no binaryData, so it is pruned.
	before := federatedConfigMap("before-upgrade", true)
	g.Eventually(func() error { return c.Create(ctx, before) }, wait, time.Second).Should(Succeed())
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(before), before)).To(Succeed())
	_, found, _ := unstructured.NestedMap(before.Object, "spec", "template", grownField)
	g.Expect(found).To(BeFalse(), "the previous CRD must not serve spec.template.%s", grownField)

	// Upgrade to this chart: the CRD gains the field, and serves it.
	h.mustRun(t, "upgrade", "kfed", chartDir, "--namespace", releaseNamespace, "--wait=false")
	releaseSecretSize(ctx, t, c, "sh.helm.release.v1.kfed.v2")
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: grownCRD}, crd)).To(Succeed())
	g.Expect(crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["template"].Properties).To(HaveKey(grownField))
	after := federatedConfigMap("after-upgrade", true)
	g.Eventually(func() error {
		// Strict field validation refuses the field until the new schema is served.
		return c.Create(ctx, after.DeepCopy(), client.FieldValidation("Strict"))
	}, wait, time.Second).Should(Succeed())
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(after), after)).To(Succeed())
	blob, _, _ := unstructured.NestedString(after.Object, "spec", "template", grownField, "blob")
	g.Expect(blob).To(Equal("AAEC"), "spec.template.%s is served after the upgrade", grownField)

	// The object from before the upgrade is unchanged.
	again := before.DeepCopy()
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(before), again)).To(Succeed())
	g.Expect(again.GetResourceVersion()).To(Equal(before.GetResourceVersion()))
	g.Expect(again.Object["spec"]).To(Equal(before.Object["spec"]))

	// Uninstall: the manager goes; the CRDs, and the objects in them, stay.
	h.mustRun(t, "uninstall", "kfed", "--namespace", releaseNamespace)
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "kfed-manager"}, &appsv1.Deployment{}))
	}, wait, time.Second).Should(BeTrue(), "the Deployment is removed by helm uninstall")
	g.Expect(c.List(ctx, crds)).To(Succeed())
	g.Expect(crds.Items).To(HaveLen(len(want)), "helm uninstall keeps the CRDs")
	for _, o := range []*unstructured.Unstructured{before, after} {
		got := o.DeepCopy()
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(o), got)).To(Succeed(), "%s survives helm uninstall", o.GetName())
	}
}

// releaseSecretSize logs how much of the 1 MiB a Secret may hold the Helm release takes, and
// fails when it takes more than three quarters: the CRDs must then be made smaller, or written
// more compactly by hack/chartgen, before a release stops fitting.
func releaseSecretSize(ctx context.Context, t *testing.T, c client.Client, name string) {
	t.Helper()
	s := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: name}, s); err != nil {
		t.Fatalf("reading the Helm release Secret %s: %v", name, err)
	}
	n := len(s.Data["release"])
	encoded, _ := json.Marshal(s.Data)
	t.Logf("Helm release Secret %s holds %d bytes (%.0f%% of a Secret's 1 MiB; %d as JSON)", name, n, 100*float64(n)/(1<<20), len(encoded))
	if n > 3<<20/4 {
		t.Errorf("the Helm release takes %d bytes, over three quarters of the 1 MiB a Secret holds", n)
	}
}

// TestHelmIntoTheLocalFederation installs the chart into a host that holds what `kfed dev up`
// installs (docs/install.md, "Trying Helm on the local federation"): a plain `helm install`
// refuses to take over those objects; with --take-ownership it installs; `helm uninstall` then
// leaves the CRDs.
func TestHelmIntoTheLocalFederation(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	h := newHelm(t)
	c := startHost(t, h)
	objs, err := dev.HostObjects()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(install.Install(ctx, c, objs, install.Options{Out: io.Discard})).To(Succeed())

	_, err = h.run("install", "kfed", chartDir, "--namespace", releaseNamespace, "--create-namespace")
	g.Expect(err).To(MatchError(ContainSubstring("invalid ownership metadata")), "a plain helm install over kfed dev's objects")
	h.mustRun(t, "install", "kfed", chartDir, "--namespace", releaseNamespace, "--create-namespace", "--take-ownership")
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: grownCRD}, crd)).To(Succeed())
	g.Expect(crd.Annotations).To(HaveKeyWithValue("meta.helm.sh/release-name", "kfed"), "the release owns the CRDs now")
	h.mustRun(t, "upgrade", "kfed", chartDir, "--namespace", releaseNamespace)
	h.mustRun(t, "uninstall", "kfed", "--namespace", releaseNamespace)
	g.Expect(c.Get(ctx, client.ObjectKey{Name: grownCRD}, crd)).To(Succeed(), "helm uninstall keeps the CRDs")
}

// startHost starts a bare host API server for one test, points h at it and returns a client of it.
func startHost(t *testing.T, h *helmEnv) client.Client {
	t.Helper()
	g := NewWithT(t)
	host, err := framework.StartCluster(t.Context(), framework.ClusterOptions{Topology: framework.Topology{Name: "host"}})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = host.Stop() })
	h.kubeconfig = filepath.Join(t.TempDir(), "host.kubeconfig")
	g.Expect(os.WriteFile(h.kubeconfig, host.Kubeconfig, 0o600)).To(Succeed())
	scheme, err := kubeconfig.NewScheme()
	g.Expect(err).NotTo(HaveOccurred())
	c, err := client.New(host.Config, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	return c
}
