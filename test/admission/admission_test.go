// Package admission_test proves that a real API server, with kfed's CRDs and the admission
// policies of config/admission installed, rejects bad federated objects with an error that
// names the field, and accepts a good object of every kind.
package admission_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/test/framework"
)

const namespace = "default"

// host is the API server every test talks to: kfed's CRDs and admission policies installed.
var host *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	host, err = framework.StartCluster(ctx, framework.ClusterOptions{
		Topology: framework.Topology{Name: "host"},
		CRDDirs:  []string{framework.CRDDir()},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the host:", err)
		return 1
	}
	defer func() {
		if err := host.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the host:", err)
		}
	}()
	if err := applyAdmissionPolicies(ctx, host.Client); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := waitForPolicies(ctx, host.Client); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// applyAdmissionPolicies creates every object of the files config/admission/kustomization.yaml lists.
func applyAdmissionPolicies(ctx context.Context, c client.Client) error {
	dir := filepath.Join(framework.RepoRoot(), "config", "admission")
	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return fmt.Errorf("reading the admission kustomization: %w", err)
	}
	var kustomization struct {
		Resources []string `json:"resources"`
	}
	if err := utilyaml.Unmarshal(raw, &kustomization); err != nil {
		return fmt.Errorf("decoding the admission kustomization: %w", err)
	}
	if len(kustomization.Resources) == 0 {
		return errors.New("config/admission/kustomization.yaml lists no resources")
	}
	for _, file := range kustomization.Resources {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return fmt.Errorf("reading %s: %w", file, err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("decoding %s: %w", file, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			if err := c.Create(ctx, u); err != nil {
				return fmt.Errorf("creating %s %s from %s: %w", u.GetKind(), u.GetName(), file, err)
			}
		}
	}
	return nil
}

// waitForPolicies returns when the API server enforces the admission policies: they take a
// moment to load after they are created.
func waitForPolicies(ctx context.Context, c client.Client) error {
	probes := []client.Object{
		federatedObject("policy-probe", manifest("v1", "ConfigMap", "policy-probe", "elsewhere")),
		clusterFederatedObject("policy-probe", manifest("v1", "ConfigMap", "policy-probe", "elsewhere")),
	}
	deadline := time.Now().Add(time.Minute)
	for _, probe := range probes {
		for {
			err := c.Create(ctx, probe.DeepCopyObject().(client.Object), client.DryRunAll)
			if apierrors.IsInvalid(err) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the admission policies are not enforced after a minute (last answer: %v)", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

// Builders of valid objects; the tests break one thing in each.

var webLabels = map[string]string{"app": "web"}

func podTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: webLabels},
		Spec: corev1.PodSpec{
			Containers:    []corev1.Container{{Name: "web", Image: "nginx:1.27"}},
			RestartPolicy: corev1.RestartPolicyAlways,
		},
	}
}

func deployment(name string, mods ...func(*v1alpha1.FederatedDeployment)) *v1alpha1.FederatedDeployment {
	o := &v1alpha1.FederatedDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.FederatedDeploymentSpec{
			Template: v1alpha1.DeploymentTemplate{
				Metadata: v1alpha1.TemplateMeta{Labels: webLabels},
				Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](10),
					Selector: &metav1.LabelSelector{MatchLabels: webLabels},
					Template: podTemplate(),
				},
			},
			ReplicaScheduling: &v1alpha1.ReplicaScheduling{
				Mode: v1alpha1.ReplicaSchedulingDivided,
				Clusters: map[string]v1alpha1.ClusterPreference{
					"*":                {Weight: ptr.To[int64](1)},
					"cluster-us-east1": {Weight: ptr.To[int64](2), MinReplicas: 1, MaxReplicas: ptr.To[int64](8)},
				},
			},
			FederatedSpec: v1alpha1.FederatedSpec{
				Placement: v1alpha1.Placement{Clusters: []string{"cluster-us-east1", "cluster-europe-west1"}},
				Overrides: []v1alpha1.ClusterOverride{{
					ClusterName: "cluster-us-east1",
					Patches: []v1alpha1.Patch{
						{Op: v1alpha1.PatchOpReplace, Path: "/spec/template/spec/containers/0/image", Value: jsonValue("nginx:1.28")},
						{Op: v1alpha1.PatchOpAdd, Path: "/metadata/labels/tier", Value: jsonValue("front")},
					},
				}},
			},
		},
	}
	for _, m := range mods {
		m(o)
	}
	return o
}

func replicaSet(name string, mods ...func(*v1alpha1.FederatedReplicaSet)) *v1alpha1.FederatedReplicaSet {
	o := &v1alpha1.FederatedReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.FederatedReplicaSetSpec{
			Template: v1alpha1.ReplicaSetTemplate{Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: webLabels},
				Template: podTemplate(),
			}},
			ReplicaScheduling: &v1alpha1.ReplicaScheduling{Mode: v1alpha1.ReplicaSchedulingDuplicated, TotalReplicas: ptr.To[int32](2)},
			FederatedSpec: v1alpha1.FederatedSpec{
				Placement: v1alpha1.Placement{ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}},
			},
		},
	}
	for _, m := range mods {
		m(o)
	}
	return o
}

func daemonSet(name string) *v1alpha1.FederatedDaemonSet {
	return &v1alpha1.FederatedDaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.FederatedDaemonSetSpec{
			Template: v1alpha1.DaemonSetTemplate{Spec: appsv1.DaemonSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: webLabels},
				Template: podTemplate(),
			}},
		},
	}
}

func job(name string) *v1alpha1.FederatedJob {
	tmpl := podTemplate()
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	return &v1alpha1.FederatedJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.FederatedJobSpec{
			Template: v1alpha1.JobTemplate{Spec: batchv1.JobSpec{Completions: ptr.To[int32](1), Template: tmpl}},
		},
	}
}

func configMap(name string) *v1alpha1.FederatedConfigMap {
	return &v1alpha1.FederatedConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.FederatedConfigMapSpec{
			Template: v1alpha1.ConfigMapTemplate{
				Data:       map[string]string{"greeting": "hello"},
				BinaryData: map[string][]byte{"blob": {0, 1, 2}},
			},
			FederatedSpec: v1alpha1.FederatedSpec{Overrides: []v1alpha1.ClusterOverride{{
				ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"region": "europe-west1"}},
				Patches:         []v1alpha1.Patch{{Op: v1alpha1.PatchOpReplace, Path: "/data/greeting", Value: jsonValue("bonjour")}},
			}}},
		},
	}
}

func secret(name string) *v1alpha1.FederatedSecret {
	return &v1alpha1.FederatedSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       v1alpha1.FederatedSecretSpec{SecretRef: v1alpha1.SecretReference{Name: "db-credentials"}},
	}
}

func service(name string) *v1alpha1.FederatedService {
	return &v1alpha1.FederatedService{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.FederatedServiceSpec{Template: v1alpha1.ServiceTemplate{Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: webLabels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80}},
		}}},
	}
}

func ingress(name string) *v1alpha1.FederatedIngress {
	prefix := networkingv1.PathTypePrefix
	return &v1alpha1.FederatedIngress{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.FederatedIngressSpec{Template: v1alpha1.IngressTemplate{Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{
				Host: "web.example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80},
						}},
					}},
				}},
			}},
		}}},
	}
}

// manifest returns a whole-manifest template; empty arguments are left out.
func manifest(apiVersion, kind, name, ns string) map[string]any {
	m := map[string]any{"data": map[string]any{"k": "v"}}
	if apiVersion != "" {
		m["apiVersion"] = apiVersion
	}
	if kind != "" {
		m["kind"] = kind
	}
	meta := map[string]any{"labels": map[string]any{"app": "web"}}
	if name != "" {
		meta["name"] = name
	}
	if ns != "" {
		meta["namespace"] = ns
	}
	m["metadata"] = meta
	return m
}

func rawExtension(m map[string]any) runtime.RawExtension {
	raw, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return runtime.RawExtension{Raw: raw}
}

func federatedObject(name string, template map[string]any) *v1alpha1.FederatedObject {
	return &v1alpha1.FederatedObject{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       v1alpha1.FederatedObjectSpec{Template: rawExtension(template)},
	}
}

func clusterFederatedObject(name string, template map[string]any) *v1alpha1.ClusterFederatedObject {
	return &v1alpha1.ClusterFederatedObject{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.ClusterFederatedObjectSpec{Template: rawExtension(template)},
	}
}

func jsonValue(v any) *v1alpha1.JSON {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &v1alpha1.JSON{Raw: raw}
}

// withPatch gives a deployment a single override of one cluster with one patch.
func withPatch(p v1alpha1.Patch) func(*v1alpha1.FederatedDeployment) {
	return func(o *v1alpha1.FederatedDeployment) {
		o.Spec.Overrides = []v1alpha1.ClusterOverride{{ClusterName: "cluster-us-east1", Patches: []v1alpha1.Patch{p}}}
	}
}

func withPreference(name string, p v1alpha1.ClusterPreference) func(*v1alpha1.FederatedDeployment) {
	return func(o *v1alpha1.FederatedDeployment) {
		o.Spec.ReplicaScheduling.Clusters = map[string]v1alpha1.ClusterPreference{name: p}
	}
}

func TestValidObjectOfEveryKindIsAccepted(t *testing.T) {
	for _, obj := range []client.Object{
		deployment("web"),
		deployment("web-defaults", func(o *v1alpha1.FederatedDeployment) {
			o.Spec.ReplicaScheduling = nil
			o.Spec.FederatedSpec = v1alpha1.FederatedSpec{}
		}),
		replicaSet("web"),
		daemonSet("agent"),
		job("migrate"),
		configMap("settings"),
		secret("db"),
		service("web"),
		ingress("web"),
		federatedObject("role", manifest("rbac.authorization.k8s.io/v1", "Role", "reader", "")),
		federatedObject("quota", manifest("v1", "ResourceQuota", "quota", namespace)),
		federatedObject("widget", manifest("example.com/v1", "Widget", "widget", "")),
		clusterFederatedObject("reader", manifest("rbac.authorization.k8s.io/v1", "ClusterRole", "system:reader", "")),
	} {
		t.Run(fmt.Sprintf("%T/%s", obj, obj.GetName()), func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(host.Client.Create(t.Context(), obj, client.DryRunAll)).To(Succeed())
		})
	}
}

func TestDefaultsAreApplied(t *testing.T) {
	g := NewWithT(t)
	obj := deployment("web-defaulted", func(o *v1alpha1.FederatedDeployment) {
		o.Spec.ReplicaScheduling = &v1alpha1.ReplicaScheduling{Clusters: map[string]v1alpha1.ClusterPreference{"*": {}}}
	})
	g.Expect(host.Client.Create(t.Context(), obj, client.DryRunAll)).To(Succeed())
	g.Expect(obj.Spec.ReplicaScheduling.Mode).To(Equal(v1alpha1.ReplicaSchedulingDivided))
	g.Expect(obj.Spec.ReplicaScheduling.Clusters["*"].Weight).To(Equal(ptr.To[int64](1)))
}

// expectRejected creates obj (dry run) and checks that the API server rejects it as invalid
// with an error that says every one of want: the field path and what is wrong with it.
func expectRejected(t *testing.T, obj client.Object, want ...string) {
	t.Helper()
	g := NewWithT(t)
	err := host.Client.Create(t.Context(), obj, client.DryRunAll)
	g.Expect(err).To(HaveOccurred(), "the API server accepted it")
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
	for _, w := range want {
		g.Expect(err.Error()).To(ContainSubstring(w))
	}
	t.Log(err)
}

func TestBadObjectsAreRejectedNamingTheField(t *testing.T) {
	tests := []struct {
		name string
		obj  client.Object
		// want are substrings of the error: the field path and what is wrong with it.
		want []string
	}{
		{
			name: "negative weight",
			obj:  deployment("bad", withPreference("cluster-us-east1", v1alpha1.ClusterPreference{Weight: ptr.To[int64](-1)})),
			want: []string{"spec.replicaScheduling.clusters.cluster-us-east1.weight", "greater than or equal to 0"},
		},
		{
			name: "minReplicas greater than maxReplicas",
			obj:  deployment("bad", withPreference("cluster-us-east1", v1alpha1.ClusterPreference{MinReplicas: 5, MaxReplicas: ptr.To[int64](2)})),
			want: []string{"spec.replicaScheduling.clusters[cluster-us-east1].minReplicas", "minReplicas must not exceed maxReplicas"},
		},
		{
			name: "negative minReplicas",
			obj:  deployment("bad", withPreference("cluster-us-east1", v1alpha1.ClusterPreference{MinReplicas: -1})),
			want: []string{"spec.replicaScheduling.clusters.cluster-us-east1.minReplicas", "greater than or equal to 0"},
		},
		{
			name: "negative maxReplicas",
			obj:  deployment("bad", withPreference("cluster-us-east1", v1alpha1.ClusterPreference{MaxReplicas: ptr.To[int64](-3)})),
			want: []string{"spec.replicaScheduling.clusters.cluster-us-east1.maxReplicas", "greater than or equal to 0"},
		},
		{
			name: "preference key that is no cluster name",
			obj:  deployment("bad", withPreference("Not_A_Cluster", v1alpha1.ClusterPreference{})),
			want: []string{"spec.replicaScheduling.clusters", `keys must be cluster names or "*"`},
		},
		{
			name: "negative totalReplicas",
			obj: deployment("bad", func(o *v1alpha1.FederatedDeployment) {
				o.Spec.ReplicaScheduling.TotalReplicas = ptr.To[int32](-1)
			}),
			want: []string{"spec.replicaScheduling.totalReplicas", "greater than or equal to 0"},
		},
		{
			name: "negative totalReplicas of a ReplicaSet",
			obj: replicaSet("bad", func(o *v1alpha1.FederatedReplicaSet) {
				o.Spec.ReplicaScheduling.TotalReplicas = ptr.To[int32](-1)
			}),
			want: []string{"spec.replicaScheduling.totalReplicas", "greater than or equal to 0"},
		},
		{
			name: "unknown scheduling mode",
			obj: deployment("bad", func(o *v1alpha1.FederatedDeployment) {
				o.Spec.ReplicaScheduling.Mode = "Spread"
			}),
			want: []string{"spec.replicaScheduling.mode", "Unsupported value"},
		},
		{
			name: "duplicate cluster in placement",
			obj: deployment("bad", func(o *v1alpha1.FederatedDeployment) {
				o.Spec.Placement.Clusters = []string{"cluster-us-east1", "cluster-europe-west1", "cluster-us-east1"}
			}),
			want: []string{"spec.placement.clusters[2]", "Duplicate value"},
		},
		{
			name: "override with both clusterName and clusterSelector",
			obj: deployment("bad", func(o *v1alpha1.FederatedDeployment) {
				o.Spec.Overrides[0].ClusterSelector = &metav1.LabelSelector{}
			}),
			want: []string{"spec.overrides[0]", "exactly one of clusterName and clusterSelector must be set"},
		},
		{
			name: "override with neither clusterName nor clusterSelector",
			obj: deployment("bad", func(o *v1alpha1.FederatedDeployment) {
				o.Spec.Overrides[0].ClusterName = ""
			}),
			want: []string{"spec.overrides[0]", "exactly one of clusterName and clusterSelector must be set"},
		},
		{
			name: "override without patches",
			obj: deployment("bad", func(o *v1alpha1.FederatedDeployment) {
				o.Spec.Overrides[0].Patches = nil
			}),
			want: []string{"spec.overrides[0].patches", "Required value"},
		},
		{
			name: "patch with an unknown op",
			obj:  deployment("bad", withPatch(v1alpha1.Patch{Op: "merge", Path: "/spec", Value: jsonValue(map[string]any{})})),
			want: []string{"spec.overrides[0].patches[0].op", "Unsupported value"},
		},
		{
			name: "patch path that is no JSON Pointer",
			obj:  deployment("bad", withPatch(v1alpha1.Patch{Op: v1alpha1.PatchOpRemove, Path: "spec/replicas"})),
			want: []string{"spec.overrides[0].patches[0].path", "must be a JSON Pointer"},
		},
		{
			name: "copy without from",
			obj:  deployment("bad", withPatch(v1alpha1.Patch{Op: v1alpha1.PatchOpCopy, Path: "/metadata/labels/copy"})),
			want: []string{"spec.overrides[0].patches[0].from", "from is required"},
		},
		{
			name: "move from the name",
			obj:  deployment("bad", withPatch(v1alpha1.Patch{Op: v1alpha1.PatchOpMove, From: "/metadata/name", Path: "/metadata/labels/name"})),
			want: []string{"spec.overrides[0].patches[0].from", "from of a move must not be /metadata/name"},
		},
		{
			name: "FederatedObject template without apiVersion",
			obj:  federatedObject("bad", manifest("", "ConfigMap", "settings", "")),
			want: []string{"spec.template.apiVersion", "Required value"},
		},
		{
			name: "FederatedObject template without kind",
			obj:  federatedObject("bad", manifest("v1", "", "settings", "")),
			want: []string{"spec.template.kind", "Required value"},
		},
		{
			name: "FederatedObject template without metadata.name",
			obj:  federatedObject("bad", manifest("v1", "ConfigMap", "", "")),
			want: []string{"spec.template", "template must have a metadata.name"},
		},
		{
			name: "FederatedObject template in another namespace",
			obj:  federatedObject("bad", manifest("v1", "ConfigMap", "settings", "kube-system")),
			want: []string{"spec.template.metadata.namespace", `must be empty or "default"`, `not "kube-system"`},
		},
		{
			name: "ClusterFederatedObject template without metadata.name",
			obj:  clusterFederatedObject("bad", manifest("rbac.authorization.k8s.io/v1", "ClusterRole", "", "")),
			want: []string{"spec.template", "template must have a metadata.name"},
		},
		{
			name: "ClusterFederatedObject template with a namespace",
			obj:  clusterFederatedObject("bad", manifest("v1", "ConfigMap", "settings", "default")),
			want: []string{"spec.template.metadata.namespace", `must be empty, not "default"`},
		},
		{
			name: "FederatedSecret without secretRef name",
			obj:  &v1alpha1.FederatedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "bad"}},
			want: []string{"spec.secretRef.name"},
		},
		{
			name: "override of a FederatedObject patching /metadata/namespace",
			obj: func() client.Object {
				o := federatedObject("bad", manifest("v1", "ConfigMap", "settings", ""))
				o.Spec.Overrides = []v1alpha1.ClusterOverride{{
					ClusterSelector: &metav1.LabelSelector{},
					Patches:         []v1alpha1.Patch{{Op: v1alpha1.PatchOpAdd, Path: "/metadata/namespace", Value: jsonValue("kube-system")}},
				}}
				return o
			}(),
			want: []string{"spec.overrides[0].patches[0].path", "path must not touch"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectRejected(t, tt.obj, tt.want...) })
	}
}

func TestOverridesCannotChangeTheIdentityOfTheMemberObject(t *testing.T) {
	for _, p := range []string{
		"/metadata/name", "/metadata/namespace", "/kind", "/apiVersion",
		"/metadata/name/x", "/metadata", "/apiVersion/0",
	} {
		t.Run(p, func(t *testing.T) {
			expectRejected(t, deployment("bad", withPatch(v1alpha1.Patch{Op: v1alpha1.PatchOpReplace, Path: p, Value: jsonValue("x")})),
				"spec.overrides[0].patches[0].path", "path must not touch /metadata/name, /metadata/namespace, /kind, /apiVersion")
		})
	}
}

// TestTemplatesHaveTheNativeSchema proves `kubectl explain federateddeployment.spec.template.spec`
// works: the CRD carries the Deployment's structural schema, and the API server publishes it.
func TestTemplatesHaveTheNativeSchema(t *testing.T) {
	g := NewWithT(t)
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	g.Expect(host.Client.Get(t.Context(), client.ObjectKey{Name: "federateddeployments.federation.kfed.io"}, crd)).To(Succeed())
	versions, _, err := unstructured.NestedSlice(crd.Object, "spec", "versions")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(versions).To(HaveLen(1))
	root, _, err := unstructured.NestedMap(versions[0].(map[string]any), "schema", "openAPIV3Schema")
	g.Expect(err).NotTo(HaveOccurred())
	containers := schemaAt(root, "spec", "template", "spec", "template", "spec", "containers")
	g.Expect(containers).NotTo(BeNil(), "spec.template.spec.template.spec.containers is not in the CRD schema")
	g.Expect(containers["type"]).To(Equal("array"))
	g.Expect(schemaAt(root, "spec", "template", "spec", "selector")).NotTo(BeNil())
	g.Expect(schemaAt(root, "spec", "template", "spec", "strategy", "rollingUpdate", "maxSurge")).To(HaveKeyWithValue("x-kubernetes-int-or-string", true))

	// What kubectl explain reads: the API server's OpenAPI v3 document of the group.
	dc, err := discovery.NewDiscoveryClientForConfig(host.Config)
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		raw, err := dc.RESTClient().Get().AbsPath("/openapi/v3/apis/federation.kfed.io/v1alpha1").DoRaw(t.Context())
		g.Expect(err).NotTo(HaveOccurred())
		var doc struct {
			Components struct {
				Schemas map[string]map[string]any `json:"schemas"`
			} `json:"components"`
		}
		g.Expect(json.Unmarshal(raw, &doc)).To(Succeed())
		var fdeploy map[string]any
		for name, s := range doc.Components.Schemas {
			if strings.HasSuffix(name, ".v1alpha1.FederatedDeployment") {
				fdeploy = s
			}
		}
		g.Expect(fdeploy).NotTo(BeNil(), "FederatedDeployment is not in the published OpenAPI")
		g.Expect(schemaAt(fdeploy, "spec", "template", "spec", "template", "spec", "containers")).NotTo(BeNil())
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

// schemaAt walks the properties of an OpenAPI schema; nil when a property is missing.
func schemaAt(s map[string]any, path ...string) map[string]any {
	for _, p := range path {
		props, ok := s["properties"].(map[string]any)
		if !ok {
			return nil
		}
		if s, ok = props[p].(map[string]any); !ok {
			return nil
		}
	}
	return s
}
