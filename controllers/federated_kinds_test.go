package controllers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/test/framework"
)

// federatedObject is any federated kind, as the tests read it.
type federatedObject interface {
	client.Object
	GetFederatedStatus() *v1alpha1.FederatedStatus
	FederatedKind() string
}

func replacePatch(path, value string) v1alpha1.Patch {
	return v1alpha1.Patch{Op: v1alpha1.PatchOpReplace, Path: path, Value: &v1alpha1.JSON{Raw: []byte(value)}}
}

// placedWithOverride places an object on two clusters and overrides it in the second.
func placedWithOverride(first, second string, p v1alpha1.Patch) v1alpha1.FederatedSpec {
	return v1alpha1.FederatedSpec{
		Placement: v1alpha1.Placement{Clusters: []string{first, second}},
		Overrides: []v1alpha1.ClusterOverride{{ClusterName: second, Patches: []v1alpha1.Patch{p}}},
	}
}

// memberObject reads an object of any kind from a member; nil when it is not there.
func memberObject(g Gomega, m *framework.Cluster, gvk schema.GroupVersionKind, key client.ObjectKey) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err := m.Client.Get(context.Background(), key, u)
	if apierrors.IsNotFound(err) {
		return nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	return u
}

// firstContainerImage reads spec.template.spec.containers[0].image.
func firstContainerImage(u *unstructured.Unstructured) any {
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		return nil
	}
	return containers[0].(map[string]any)["image"]
}

// nested returns a function that reads the field at path.
func nested(path ...string) func(*unstructured.Unstructured) any {
	return func(u *unstructured.Unstructured) any {
		v, _, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
		return v
	}
}

func podTemplate(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1.0"}}},
	}
}

// TestEveryKindPropagatesWithOverrides creates one object of every federated kind placed on two of
// the three members, with an override for the second: the first member gets the template, the
// second the template patched, the third nothing; every copy is labelled managed and names its origin.
func TestEveryKindPropagatesWithOverrides(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "every-kind")
	m0, m1, m2 := fed.Members[0], fed.Members[1], fed.Members[2]
	imageOverride := replacePatch("/spec/template/spec/containers/0/image", `"registry.example/app:2.0"`)
	selector := func(app string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	}
	two := int32(2)

	source := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db-credentials"},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"password": []byte("s3cret")},
	}
	g.Expect(fed.Host.Client.Create(t.Context(), source)).To(Succeed())

	cases := []struct {
		obj      federatedObject
		gvk      schema.GroupVersionKind
		key      client.ObjectKey
		field    func(*unstructured.Unstructured) any
		template any
		override any
	}{{
		obj: &v1alpha1.FederatedDeployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: v1alpha1.FederatedDeploymentSpec{
				Template:      v1alpha1.DeploymentTemplate{Spec: appsv1.DeploymentSpec{Replicas: &two, Selector: selector("web"), Template: podTemplate("web")}},
				FederatedSpec: placedWithOverride(m0.Name, m1.Name, imageOverride),
			},
		},
		gvk: appsv1.SchemeGroupVersion.WithKind("Deployment"), key: client.ObjectKey{Namespace: ns, Name: "web"},
		field: firstContainerImage, template: "registry.example/app:1.0", override: "registry.example/app:2.0",
	}, {
		obj: &v1alpha1.FederatedReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "frontend"},
			Spec: v1alpha1.FederatedReplicaSetSpec{
				Template:      v1alpha1.ReplicaSetTemplate{Spec: appsv1.ReplicaSetSpec{Replicas: &two, Selector: selector("frontend"), Template: podTemplate("frontend")}},
				FederatedSpec: placedWithOverride(m0.Name, m1.Name, imageOverride),
			},
		},
		gvk: appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), key: client.ObjectKey{Namespace: ns, Name: "frontend"},
		field: firstContainerImage, template: "registry.example/app:1.0", override: "registry.example/app:2.0",
	}, {
		obj: &v1alpha1.FederatedDaemonSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent"},
			Spec: v1alpha1.FederatedDaemonSetSpec{
				Template:      v1alpha1.DaemonSetTemplate{Spec: appsv1.DaemonSetSpec{Selector: selector("agent"), Template: podTemplate("agent")}},
				FederatedSpec: placedWithOverride(m0.Name, m1.Name, imageOverride),
			},
		},
		gvk: appsv1.SchemeGroupVersion.WithKind("DaemonSet"), key: client.ObjectKey{Namespace: ns, Name: "agent"},
		field: firstContainerImage, template: "registry.example/app:1.0", override: "registry.example/app:2.0",
	}, {
		obj: &v1alpha1.FederatedJob{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "migrate"},
			Spec: v1alpha1.FederatedJobSpec{
				Template: v1alpha1.JobTemplate{Spec: batchv1.JobSpec{Template: func() corev1.PodTemplateSpec {
					p := podTemplate("migrate")
					p.Spec.RestartPolicy = corev1.RestartPolicyNever
					return p
				}()}},
				FederatedSpec: placedWithOverride(m0.Name, m1.Name, imageOverride),
			},
		},
		gvk: batchv1.SchemeGroupVersion.WithKind("Job"), key: client.ObjectKey{Namespace: ns, Name: "migrate"},
		field: firstContainerImage, template: "registry.example/app:1.0", override: "registry.example/app:2.0",
	}, {
		obj: &v1alpha1.FederatedConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"},
			Spec: v1alpha1.FederatedConfigMapSpec{
				Template:      v1alpha1.ConfigMapTemplate{Data: map[string]string{"color": "blue"}},
				FederatedSpec: placedWithOverride(m0.Name, m1.Name, replacePatch("/data/color", `"red"`)),
			},
		},
		gvk: corev1.SchemeGroupVersion.WithKind("ConfigMap"), key: client.ObjectKey{Namespace: ns, Name: "settings"},
		field: nested("data", "color"), template: "blue", override: "red",
	}, {
		obj: &v1alpha1.FederatedSecret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db-credentials"},
			Spec: v1alpha1.FederatedSecretSpec{
				SecretRef: v1alpha1.SecretReference{Name: source.Name},
				FederatedSpec: placedWithOverride(m0.Name, m1.Name,
					replacePatch("/data/password", fmt.Sprintf("%q", base64.StdEncoding.EncodeToString([]byte("other"))))),
			},
		},
		gvk: corev1.SchemeGroupVersion.WithKind("Secret"), key: client.ObjectKey{Namespace: ns, Name: "db-credentials"},
		field:    nested("data", "password"),
		template: base64.StdEncoding.EncodeToString([]byte("s3cret")), override: base64.StdEncoding.EncodeToString([]byte("other")),
	}, {
		obj: &v1alpha1.FederatedService{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: v1alpha1.FederatedServiceSpec{
				Template: v1alpha1.ServiceTemplate{Spec: corev1.ServiceSpec{
					Selector: map[string]string{"app": "web"},
					Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
				}},
				FederatedSpec: placedWithOverride(m0.Name, m1.Name, replacePatch("/spec/ports/0/port", "8000")),
			},
		},
		gvk: corev1.SchemeGroupVersion.WithKind("Service"), key: client.ObjectKey{Namespace: ns, Name: "web"},
		field: func(u *unstructured.Unstructured) any {
			ports, _, _ := unstructured.NestedSlice(u.Object, "spec", "ports")
			return ports[0].(map[string]any)["port"]
		},
		template: int64(80), override: int64(8000),
	}, {
		obj: &v1alpha1.FederatedIngress{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: v1alpha1.FederatedIngressSpec{
				Template: v1alpha1.IngressTemplate{Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
					Host: "www.example.com",
					IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: func() *networkingv1.PathType { p := networkingv1.PathTypePrefix; return &p }(),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80},
						}},
					}}}},
				}}}},
				FederatedSpec: placedWithOverride(m0.Name, m1.Name, replacePatch("/spec/rules/0/host", `"eu.example.com"`)),
			},
		},
		gvk: networkingv1.SchemeGroupVersion.WithKind("Ingress"), key: client.ObjectKey{Namespace: ns, Name: "web"},
		field: func(u *unstructured.Unstructured) any {
			rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
			return rules[0].(map[string]any)["host"]
		},
		template: "www.example.com", override: "eu.example.com",
	}, {
		obj: &v1alpha1.ClusterFederatedObject{
			ObjectMeta: metav1.ObjectMeta{Name: "kfed-test-reader"},
			Spec: v1alpha1.ClusterFederatedObjectSpec{
				Template: rawObject(t, map[string]any{
					"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
					"metadata": map[string]any{"name": "kfed-test-reader"},
					"rules":    []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get"}}},
				}),
				FederatedSpec: placedWithOverride(m0.Name, m1.Name, replacePatch("/rules/0/verbs", `["get","list"]`)),
			},
		},
		gvk: schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
		key: client.ObjectKey{Name: "kfed-test-reader"},
		field: func(u *unstructured.Unstructured) any {
			rules, _, _ := unstructured.NestedSlice(u.Object, "rules")
			return rules[0].(map[string]any)["verbs"]
		},
		template: []any{"get"}, override: []any{"get", "list"},
	}}

	for _, tc := range cases {
		g.Expect(fed.Host.Client.Create(t.Context(), tc.obj)).To(Succeed(), "creating %T", tc.obj)
		defer deleteAndWait(t, tc.obj)
	}
	for _, tc := range cases {
		kind := tc.gvk.Kind
		g.Eventually(func(g Gomega) {
			g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(tc.obj), tc.obj)).To(Succeed())
			st := tc.obj.GetFederatedStatus()
			g.Expect(st.ObservedGeneration).To(Equal(tc.obj.GetGeneration()))
			g.Expect(st.Clusters).To(ConsistOf(
				And(HaveField("Name", m0.Name), HaveField("Phase", v1alpha1.PhasePropagated)),
				And(HaveField("Name", m1.Name), HaveField("Phase", v1alpha1.PhasePropagated))), "%s: %+v", kind, st)
			for i, m := range []*framework.Cluster{m0, m1} {
				u := memberObject(g, m, tc.gvk, tc.key)
				g.Expect(u).NotTo(BeNil(), "%s in %s", kind, m.Name)
				want := tc.template
				if i == 1 {
					want = tc.override
				}
				g.Expect(tc.field(u)).To(Equal(want), "%s in %s", kind, m.Name)
				g.Expect(u.GetLabels()).To(HaveKeyWithValue(v1alpha1.LabelManaged, "true"))
				g.Expect(u.GetAnnotations()).To(HaveKeyWithValue(v1alpha1.AnnotationOrigin,
					fmt.Sprintf("%s/%s/%s", tc.obj.FederatedKind(), tc.obj.GetNamespace(), tc.obj.GetName())))
			}
			g.Expect(memberObject(g, m2, tc.gvk, tc.key)).To(BeNil(), "%s is not placed in %s", kind, m2.Name)
		}).WithTimeout(30*time.Second).Should(Succeed(), kind)
	}
	// The member Secret is a copy of the host Secret: same type.
	g.Expect(memberObject(g, m0, corev1.SchemeGroupVersion.WithKind("Secret"), client.ObjectKeyFromObject(source)).Object).
		To(HaveKeyWithValue("type", string(corev1.SecretTypeOpaque)))
}

// rawObject encodes a manifest for a FederatedObject's or ClusterFederatedObject's template.
func rawObject(t *testing.T, obj map[string]any) runtime.RawExtension {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return runtime.RawExtension{Raw: raw}
}

var widgetGVK = schema.GroupVersionKind{Group: "test.kfed.io", Version: "v1", Kind: "Widget"}

// installWidgetCRD installs a small namespaced custom kind, Widget, in a member and waits until
// the member serves it.
func installWidgetCRD(t *testing.T, m *framework.Cluster) {
	t.Helper()
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.test.kfed.io"},
		"spec": map[string]any{
			"group": "test.kfed.io", "scope": "Namespaced",
			"names": map[string]any{"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object",
					"properties": map[string]any{"spec": map[string]any{
						"type":       "object",
						"properties": map[string]any{"size": map[string]any{"type": "integer"}, "color": map[string]any{"type": "string"}},
					}},
				}},
			}},
		},
	}}
	if err := m.Client.Create(t.Context(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("installing the Widget CRD in %s: %v", m.Name, err)
	}
	NewWithT(t).Eventually(func() error {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(widgetGVK.GroupVersion().WithKind("WidgetList"))
		return m.Client.List(context.Background(), list)
	}).WithTimeout(30*time.Second).Should(Succeed(), "%s serves Widgets", m.Name)
}

// TestFederatedObjectOfACustomKind propagates a custom resource through a FederatedObject to the
// two members that have its CRD, with an override in one; the third member, which does not serve
// the kind, is reported Failed with reason KindNotServed and does not hold the others back.
func TestFederatedObjectOfACustomKind(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "custom-kind")
	m0, m1, m2 := fed.Members[0], fed.Members[1], fed.Members[2]
	installWidgetCRD(t, m0)
	installWidgetCRD(t, m1)

	fobj := &v1alpha1.FederatedObject{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gizmo"},
		Spec: v1alpha1.FederatedObjectSpec{
			Template: rawObject(t, map[string]any{
				"apiVersion": "test.kfed.io/v1", "kind": "Widget",
				"metadata": map[string]any{"name": "gizmo", "labels": map[string]any{"team": "a"}},
				"spec":     map[string]any{"size": 3, "color": "blue"},
			}),
			FederatedSpec: v1alpha1.FederatedSpec{Overrides: []v1alpha1.ClusterOverride{{
				ClusterName: m1.Name, Patches: []v1alpha1.Patch{replacePatch("/spec/size", "5")},
			}}},
		},
	}
	g.Expect(fed.Host.Client.Create(t.Context(), fobj)).To(Succeed())
	defer deleteAndWait(t, fobj)
	defer logStatusOnFailure(t, fobj, &fobj.Status)

	key := client.ObjectKey{Namespace: ns, Name: "gizmo"}
	g.Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fobj), fobj)).To(Succeed())
		g.Expect(fobj.Status.Clusters).To(ConsistOf(
			And(HaveField("Name", m0.Name), HaveField("Phase", v1alpha1.PhasePropagated)),
			And(HaveField("Name", m1.Name), HaveField("Phase", v1alpha1.PhasePropagated)),
			And(HaveField("Name", m2.Name), HaveField("Phase", v1alpha1.PhaseFailed), HaveField("Reason", v1alpha1.ReasonKindNotServed),
				HaveField("Message", ContainSubstring("does not serve test.kfed.io/v1 Widget")))))
		g.Expect(nested("spec", "size")(memberObject(g, m0, widgetGVK, key))).To(Equal(int64(3)))
		w1 := memberObject(g, m1, widgetGVK, key)
		g.Expect(nested("spec", "size")(w1)).To(Equal(int64(5)), "the override of %s", m1.Name)
		g.Expect(nested("spec", "color")(w1)).To(Equal("blue"))
		g.Expect(w1.GetLabels()).To(HaveKeyWithValue("team", "a"))
		g.Expect(w1.GetLabels()).To(HaveKeyWithValue(v1alpha1.LabelManaged, "true"))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	for _, c := range fobj.Status.Clusters {
		t.Logf("%s: %s %s %s", c.Name, c.Phase, c.Reason, c.Message)
	}

	// Once the third member serves the kind, it gets its copy too.
	installWidgetCRD(t, m2)
	installed := time.Now()
	g.Eventually(func(g Gomega) {
		w2 := memberObject(g, m2, widgetGVK, key)
		g.Expect(w2).NotTo(BeNil())
		g.Expect(nested("spec", "size")(w2)).To(Equal(int64(3)))
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fobj), fobj)).To(Succeed())
		g.Expect(fobj.Status.Clusters).To(HaveEach(HaveField("Phase", v1alpha1.PhasePropagated)))
	}).WithTimeout(60*time.Second).Should(Succeed(), "propagated to %s once it serves Widgets", m2.Name)
	t.Logf("propagated to %s %s after its CRD was installed", m2.Name, time.Since(installed).Round(100*time.Millisecond))
}

// TestNamespacedObjectStaysInItsNamespace tries to make a namespaced federated object write
// outside its namespace in members: through a template namespace of another namespace, and
// through a cluster-scoped kind. Neither writes anything; each says why in its status.
func TestNamespacedObjectStaysInItsNamespace(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "confined")

	// The admission policy in config/admission rejects this at the API server; the host of these
	// tests runs without it, so the controller must refuse on its own.
	elsewhere := &v1alpha1.FederatedObject{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "elsewhere"},
		Spec: v1alpha1.FederatedObjectSpec{Template: rawObject(t, map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "planted", "namespace": "kube-system"},
			"data":     map[string]any{"k": "v"},
		})},
	}
	clusterScoped := &v1alpha1.FederatedObject{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "escalate"},
		Spec: v1alpha1.FederatedObjectSpec{Template: rawObject(t, map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
			"metadata": map[string]any{"name": "kfed-test-escalate"},
			"rules":    []any{map[string]any{"apiGroups": []any{"*"}, "resources": []any{"*"}, "verbs": []any{"*"}}},
		})},
	}
	for _, o := range []*v1alpha1.FederatedObject{elsewhere, clusterScoped} {
		g.Expect(fed.Host.Client.Create(t.Context(), o)).To(Succeed())
		defer deleteAndWait(t, o)
	}

	g.Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(elsewhere), elsewhere)).To(Succeed())
		c := findReady(elsewhere.Status)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonInvalid))
		g.Expect(c.Message).To(ContainSubstring("spec.template.metadata.namespace"))

		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(clusterScoped), clusterScoped)).To(Succeed())
		g.Expect(clusterScoped.Status.Clusters).To(HaveLen(len(fed.Members)))
		g.Expect(clusterScoped.Status.Clusters).To(HaveEach(And(
			HaveField("Phase", v1alpha1.PhaseFailed), HaveField("Reason", v1alpha1.ReasonClusterScoped))))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	t.Logf("template namespace: %s", findReady(elsewhere.Status).Message)
	t.Logf("cluster-scoped kind: %s", clusterScoped.Status.Clusters[0].Message)

	for _, m := range fed.Members {
		g.Expect(memberObject(g, m, corev1.SchemeGroupVersion.WithKind("ConfigMap"), client.ObjectKey{Namespace: "kube-system", Name: "planted"})).
			To(BeNil(), "nothing written to kube-system in %s", m.Name)
		g.Expect(memberObject(g, m, schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
			client.ObjectKey{Name: "kfed-test-escalate"})).To(BeNil(), "no ClusterRole written in %s", m.Name)
	}
}

func findReady(st v1alpha1.FederatedStatus) *metav1.Condition {
	return meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
}
