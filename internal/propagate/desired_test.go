package propagate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/utils/ptr"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

const ns = "shop"

var (
	us   = Cluster{Name: "cluster-us-east1-b", Labels: map[string]string{"region": "us-east1"}}
	eu   = Cluster{Name: "cluster-europe-west1-b", Labels: map[string]string{"region": "europe-west1"}}
	asia = Cluster{Name: "cluster-asia-east1-a", Labels: map[string]string{"region": "asia-east1"}}
)

// native returns a typed native object as Desired returns it: decoded JSON, without status.
func native(t *testing.T, obj any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := utiljson.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	delete(out, "status")
	return out
}

func value(v any) *v1alpha1.JSON {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &v1alpha1.JSON{Raw: raw}
}

func meta(kind, name string, labels, annotations map[string]string) metav1.ObjectMeta {
	l := map[string]string{v1alpha1.LabelManaged: "true"}
	for k, v := range labels {
		l[k] = v
	}
	a := map[string]string{v1alpha1.AnnotationOrigin: kind + "/" + ns + "/" + name}
	for k, v := range annotations {
		a[k] = v
	}
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l, Annotations: a}
}

var webLabels = map[string]string{"app": "web"}

func podTemplate(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: webLabels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: image, Ports: []corev1.ContainerPort{{ContainerPort: 80}},
		}}},
	}
}

func deploymentSpec(replicas *int32, image string) appsv1.DeploymentSpec {
	return appsv1.DeploymentSpec{
		Replicas: replicas,
		Selector: &metav1.LabelSelector{MatchLabels: webLabels},
		Template: podTemplate(image),
	}
}

// fdeploy is a FederatedDeployment of 10 replicas of nginx:1.27 with two overrides: the image
// of cluster-us-east1-b by name, and a label of the europe-west1 clusters by selector.
func fdeploy(mods ...func(*v1alpha1.FederatedDeployment)) *v1alpha1.FederatedDeployment {
	o := &v1alpha1.FederatedDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.FederatedDeploymentSpec{
			Template: v1alpha1.DeploymentTemplate{
				Metadata: v1alpha1.TemplateMeta{Labels: webLabels, Annotations: map[string]string{"team": "shop"}},
				Spec:     deploymentSpec(ptr.To[int32](10), "nginx:1.27"),
			},
			FederatedSpec: v1alpha1.FederatedSpec{Overrides: []v1alpha1.ClusterOverride{
				{ClusterName: us.Name, Patches: []v1alpha1.Patch{
					{Op: v1alpha1.PatchOpReplace, Path: "/spec/template/spec/containers/0/image", Value: value("nginx:1.28")},
				}},
				{ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"region": "europe-west1"}}, Patches: []v1alpha1.Patch{
					{Op: v1alpha1.PatchOpAdd, Path: "/metadata/labels/gdpr", Value: value("strict")},
					{Op: v1alpha1.PatchOpAdd, Path: "/spec/template/spec/containers/0/env", Value: value([]any{map[string]any{"name": "LANG", "value": "fr"}})},
				}},
			}},
		},
	}
	for _, m := range mods {
		m(o)
	}
	return o
}

func manifest(m map[string]any) runtime.RawExtension {
	raw, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return runtime.RawExtension{Raw: raw}
}

func TestDesired(t *testing.T) {
	deployment := func(name string, replicas *int32, image string, labels map[string]string, mods ...func(*appsv1.Deployment)) map[string]any {
		d := &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta("FederatedDeployment", name, labels, map[string]string{"team": "shop"}),
			Spec:       deploymentSpec(replicas, image),
		}
		for _, m := range mods {
			m(d)
		}
		return native(t, d)
	}
	hostSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db-credentials", Labels: map[string]string{"host-only": "yes"}},
		Type:       corev1.SecretTypeBasicAuth,
		Data:       map[string][]byte{"username": []byte("shop"), "password": []byte("s3cr3t")},
	}

	tests := []struct {
		name   string
		obj    Federated
		target Target
		want   map[string]any
	}{
		{
			name:   "Deployment: replicas of the plan, override by name",
			obj:    fdeploy(),
			target: Target{Cluster: us, Replicas: ptr.To[int32](4)},
			want:   deployment("web", ptr.To[int32](4), "nginx:1.28", webLabels),
		},
		{
			name:   "Deployment: override by selector, in order",
			obj:    fdeploy(),
			target: Target{Cluster: eu, Replicas: ptr.To[int32](3)},
			want: deployment("web", ptr.To[int32](3), "nginx:1.27", map[string]string{"app": "web", "gdpr": "strict"}, func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "LANG", Value: "fr"}}
			}),
		},
		{
			name:   "Deployment: no override applies, no replicas keeps the template's",
			obj:    fdeploy(),
			target: Target{Cluster: asia},
			want:   deployment("web", ptr.To[int32](10), "nginx:1.27", webLabels),
		},
		{
			name: "Deployment: overrides apply in order, the last one wins",
			obj: fdeploy(func(o *v1alpha1.FederatedDeployment) {
				o.Spec.Overrides = append(o.Spec.Overrides, v1alpha1.ClusterOverride{
					ClusterSelector: &metav1.LabelSelector{},
					Patches: []v1alpha1.Patch{
						{Op: v1alpha1.PatchOpTest, Path: "/spec/template/spec/containers/0/image", Value: value("nginx:1.28")},
						{Op: v1alpha1.PatchOpReplace, Path: "/spec/template/spec/containers/0/image", Value: value("nginx:1.29")},
					},
				})
			}),
			target: Target{Cluster: us, Replicas: ptr.To[int32](0)},
			want:   deployment("web", ptr.To[int32](0), "nginx:1.29", webLabels),
		},
		{
			name: "Deployment: an override can patch replicas after the plan",
			obj: fdeploy(func(o *v1alpha1.FederatedDeployment) {
				o.Spec.Overrides = []v1alpha1.ClusterOverride{{ClusterName: asia.Name, Patches: []v1alpha1.Patch{
					{Op: v1alpha1.PatchOpReplace, Path: "/spec/replicas", Value: value(1)},
				}}}
			}),
			target: Target{Cluster: asia, Replicas: ptr.To[int32](7)},
			want:   deployment("web", ptr.To[int32](1), "nginx:1.27", webLabels),
		},
		{
			name: "Deployment: retain-replicas leaves spec.replicas out",
			obj: fdeploy(func(o *v1alpha1.FederatedDeployment) {
				o.Annotations = map[string]string{v1alpha1.AnnotationRetainReplicas: "true"}
			}),
			target: Target{Cluster: us, Replicas: ptr.To[int32](4)},
			want:   deployment("web", nil, "nginx:1.28", webLabels),
		},
		{
			name: "Deployment: overrides cannot drop the managed label and the origin annotation",
			obj: fdeploy(func(o *v1alpha1.FederatedDeployment) {
				o.Spec.Overrides = []v1alpha1.ClusterOverride{{ClusterName: us.Name, Patches: []v1alpha1.Patch{
					{Op: v1alpha1.PatchOpRemove, Path: "/metadata/labels"},
					{Op: v1alpha1.PatchOpReplace, Path: "/metadata/annotations", Value: value(map[string]string{v1alpha1.AnnotationOrigin: "forged"})},
				}}}
			}),
			target: Target{Cluster: us, Replicas: ptr.To[int32](2)},
			want: deployment("web", ptr.To[int32](2), "nginx:1.27", nil, func(d *appsv1.Deployment) {
				d.Labels = map[string]string{v1alpha1.LabelManaged: "true"}
				d.Annotations = map[string]string{v1alpha1.AnnotationOrigin: "FederatedDeployment/shop/web"}
			}),
		},
		{
			name: "ReplicaSet",
			obj: &v1alpha1.FederatedReplicaSet{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
				Spec: v1alpha1.FederatedReplicaSetSpec{Template: v1alpha1.ReplicaSetTemplate{Spec: appsv1.ReplicaSetSpec{
					Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: podTemplate("nginx:1.27"),
				}}},
			},
			target: Target{Cluster: us, Replicas: ptr.To[int32](200)},
			want: native(t, &appsv1.ReplicaSet{
				TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
				ObjectMeta: meta("FederatedReplicaSet", "web", nil, nil),
				Spec: appsv1.ReplicaSetSpec{
					Replicas: ptr.To[int32](200),
					Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: podTemplate("nginx:1.27"),
				},
			}),
		},
		{
			name: "DaemonSet with an override by selector",
			obj: &v1alpha1.FederatedDaemonSet{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent"},
				Spec: v1alpha1.FederatedDaemonSetSpec{
					Template: v1alpha1.DaemonSetTemplate{
						Metadata: v1alpha1.TemplateMeta{Labels: map[string]string{"app": "agent"}},
						Spec:     appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: podTemplate("agent:1")},
					},
					FederatedSpec: v1alpha1.FederatedSpec{Overrides: []v1alpha1.ClusterOverride{{
						ClusterSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
							{Key: "region", Operator: metav1.LabelSelectorOpIn, Values: []string{"us-east1", "us-central1"}},
						}},
						Patches: []v1alpha1.Patch{{Op: v1alpha1.PatchOpReplace, Path: "/spec/template/spec/containers/0/image", Value: value("agent:1-us")}},
					}}},
				},
			},
			target: Target{Cluster: us},
			want: native(t, &appsv1.DaemonSet{
				TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
				ObjectMeta: meta("FederatedDaemonSet", "agent", map[string]string{"app": "agent"}, nil),
				Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: webLabels}, Template: podTemplate("agent:1-us")},
			}),
		},
		{
			name: "Job",
			obj: &v1alpha1.FederatedJob{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "migrate"},
				Spec: v1alpha1.FederatedJobSpec{Template: v1alpha1.JobTemplate{
					Spec: batchv1.JobSpec{Completions: ptr.To[int32](3), Parallelism: ptr.To[int32](2), Template: podTemplate("migrate:1")},
				}},
			},
			target: Target{Cluster: eu},
			want: native(t, &batchv1.Job{
				TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
				ObjectMeta: meta("FederatedJob", "migrate", nil, nil),
				Spec:       batchv1.JobSpec{Completions: ptr.To[int32](3), Parallelism: ptr.To[int32](2), Template: podTemplate("migrate:1")},
			}),
		},
		{
			name: "ConfigMap: data, binaryData and an override by name",
			obj: &v1alpha1.FederatedConfigMap{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"},
				Spec: v1alpha1.FederatedConfigMapSpec{
					Template: v1alpha1.ConfigMapTemplate{
						Metadata:   v1alpha1.TemplateMeta{Annotations: map[string]string{"note": "shared"}},
						Data:       map[string]string{"greeting": "hello", "color": "blue"},
						BinaryData: map[string][]byte{"blob": {0, 1, 2}},
					},
					FederatedSpec: v1alpha1.FederatedSpec{Overrides: []v1alpha1.ClusterOverride{{ClusterName: eu.Name, Patches: []v1alpha1.Patch{
						{Op: v1alpha1.PatchOpReplace, Path: "/data/greeting", Value: value("bonjour")},
						{Op: v1alpha1.PatchOpRemove, Path: "/data/color"},
					}}}},
				},
			},
			target: Target{Cluster: eu},
			want: native(t, &corev1.ConfigMap{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: meta("FederatedConfigMap", "settings", nil, map[string]string{"note": "shared"}),
				Data:       map[string]string{"greeting": "bonjour"},
				BinaryData: map[string][]byte{"blob": {0, 1, 2}},
			}),
		},
		{
			name: "Secret: type and data of the host Secret, nothing else of it",
			obj: &v1alpha1.FederatedSecret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
				Spec:       v1alpha1.FederatedSecretSpec{SecretRef: v1alpha1.SecretReference{Name: "db-credentials"}},
			},
			target: Target{Cluster: us, Finish: SecretData(&v1alpha1.FederatedSecret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
				Spec:       v1alpha1.FederatedSecretSpec{SecretRef: v1alpha1.SecretReference{Name: "db-credentials"}},
			}, hostSecret)},
			want: native(t, &corev1.Secret{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
				ObjectMeta: meta("FederatedSecret", "db", nil, nil),
				Type:       corev1.SecretTypeBasicAuth,
				Data:       hostSecret.Data,
			}),
		},
		{
			name: "Service: an unset targetPort stays unset",
			obj: &v1alpha1.FederatedService{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
				Spec: v1alpha1.FederatedServiceSpec{Template: v1alpha1.ServiceTemplate{Spec: corev1.ServiceSpec{
					Type: corev1.ServiceTypeLoadBalancer, Selector: webLabels, Ports: []corev1.ServicePort{
						{Name: "http", Port: 80},
						{Name: "admin", Port: 81, TargetPort: intstr.FromString("admin")},
						{Name: "metrics", Port: 82, TargetPort: intstr.FromInt32(9090)},
					},
				}}},
			},
			target: Target{Cluster: asia, Finish: DropUnsetTargetPorts},
			want: map[string]any{
				"apiVersion": "v1", "kind": "Service",
				"metadata": map[string]any{
					"name": "web", "namespace": ns,
					"labels":      map[string]any{v1alpha1.LabelManaged: "true"},
					"annotations": map[string]any{v1alpha1.AnnotationOrigin: "FederatedService/shop/web"},
				},
				"spec": map[string]any{
					"type":     "LoadBalancer",
					"selector": map[string]any{"app": "web"},
					"ports": []any{
						map[string]any{"name": "http", "port": int64(80)},
						map[string]any{"name": "admin", "port": int64(81), "targetPort": "admin"},
						map[string]any{"name": "metrics", "port": int64(82), "targetPort": int64(9090)},
					},
				},
			},
		},
		{
			name: "Ingress",
			obj: &v1alpha1.FederatedIngress{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
				Spec: v1alpha1.FederatedIngressSpec{Template: v1alpha1.IngressTemplate{
					Metadata: v1alpha1.TemplateMeta{Annotations: map[string]string{"kubernetes.io/ingress.class": "gce"}},
					Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
						Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}},
					}},
				}},
			},
			target: Target{Cluster: us},
			want: native(t, &networkingv1.Ingress{
				TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
				ObjectMeta: meta("FederatedIngress", "web", nil, map[string]string{"kubernetes.io/ingress.class": "gce"}),
				Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}},
				}},
			}),
		},
		{
			name: "Ingress of a GCLB global address: the static IP annotation, whatever the overrides say",
			obj: &v1alpha1.FederatedIngress{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
				Spec: v1alpha1.FederatedIngressSpec{
					Template: v1alpha1.IngressTemplate{
						Metadata: v1alpha1.TemplateMeta{Annotations: map[string]string{v1alpha1.AnnotationGlobalStaticIPName: "old-ip"}},
					},
					GlobalLoadBalancer: &v1alpha1.GlobalLoadBalancer{Mode: v1alpha1.GlobalLoadBalancerGCLB, StaticIPName: "shop-ip"},
					FederatedSpec: v1alpha1.FederatedSpec{Overrides: []v1alpha1.ClusterOverride{{ClusterName: us.Name, Patches: []v1alpha1.Patch{
						{Op: v1alpha1.PatchOpReplace, Path: "/metadata/annotations/kubernetes.io~1ingress.global-static-ip-name", Value: value("other-ip")},
					}}}},
				},
			},
			target: Target{Cluster: us},
			want: native(t, &networkingv1.Ingress{
				TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
				ObjectMeta: meta("FederatedIngress", "web", nil, map[string]string{v1alpha1.AnnotationGlobalStaticIPName: "shop-ip"}),
			}),
		},
		{
			name: "Ingress of a DNS global address: no static IP annotation",
			obj: &v1alpha1.FederatedIngress{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
				Spec: v1alpha1.FederatedIngressSpec{
					GlobalLoadBalancer: &v1alpha1.GlobalLoadBalancer{Mode: v1alpha1.GlobalLoadBalancerDNS, Host: "shop.example.com", StaticIPName: "shop-ip"},
				},
			},
			target: Target{Cluster: us},
			want: native(t, &networkingv1.Ingress{
				TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
				ObjectMeta: meta("FederatedIngress", "web", nil, nil),
			}),
		},
		{
			name: "FederatedObject: the template's name, the object's namespace, no status or server fields",
			obj: &v1alpha1.FederatedObject{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "widget-fed"},
				Spec: v1alpha1.FederatedObjectSpec{
					Template: manifest(map[string]any{
						"apiVersion": "example.com/v1",
						"kind":       "Widget",
						"metadata": map[string]any{
							"name": "widget", "labels": map[string]any{"app": "web"},
							"resourceVersion": "42", "uid": "abc", "finalizers": []any{"example.com/x"}, "creationTimestamp": nil,
						},
						"spec":   map[string]any{"size": 3, "ratio": 0.5, "tags": []any{"a", "b"}, "empty": nil},
						"status": map[string]any{"ready": true},
					}),
					FederatedSpec: v1alpha1.FederatedSpec{Overrides: []v1alpha1.ClusterOverride{{ClusterName: us.Name, Patches: []v1alpha1.Patch{
						{Op: v1alpha1.PatchOpAdd, Path: "/spec/tags/-", Value: value("us")},
						{Op: v1alpha1.PatchOpCopy, From: "/spec/size", Path: "/spec/minSize"},
					}}}},
				},
			},
			target: Target{Cluster: us},
			want: map[string]any{
				"apiVersion": "example.com/v1",
				"kind":       "Widget",
				"metadata": map[string]any{
					"name": "widget", "namespace": ns,
					"labels":      map[string]any{"app": "web", v1alpha1.LabelManaged: "true"},
					"annotations": map[string]any{v1alpha1.AnnotationOrigin: "FederatedObject/shop/widget-fed"},
				},
				"spec": map[string]any{"size": int64(3), "minSize": int64(3), "ratio": 0.5, "tags": []any{"a", "b", "us"}},
			},
		},
		{
			name: "FederatedObject: a template namespace equal to its own is kept",
			obj: &v1alpha1.FederatedObject{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "quota"},
				Spec: v1alpha1.FederatedObjectSpec{Template: manifest(map[string]any{
					"apiVersion": "v1", "kind": "ResourceQuota",
					"metadata": map[string]any{"name": "quota", "namespace": ns},
					"spec":     map[string]any{"hard": map[string]any{"pods": "10"}},
				})},
			},
			target: Target{Cluster: us},
			want: map[string]any{
				"apiVersion": "v1", "kind": "ResourceQuota",
				"metadata": map[string]any{
					"name": "quota", "namespace": ns,
					"labels":      map[string]any{v1alpha1.LabelManaged: "true"},
					"annotations": map[string]any{v1alpha1.AnnotationOrigin: "FederatedObject/shop/quota"},
				},
				"spec": map[string]any{"hard": map[string]any{"pods": "10"}},
			},
		},
		{
			name: "ClusterFederatedObject: cluster-scoped",
			obj: &v1alpha1.ClusterFederatedObject{
				ObjectMeta: metav1.ObjectMeta{Name: "reader"},
				Spec: v1alpha1.ClusterFederatedObjectSpec{Template: manifest(map[string]any{
					"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
					"metadata": map[string]any{"name": "system:reader"},
					"rules":    []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get"}}},
				})},
			},
			target: Target{Cluster: us},
			want: map[string]any{
				"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
				"metadata": map[string]any{
					"name":        "system:reader",
					"labels":      map[string]any{v1alpha1.LabelManaged: "true"},
					"annotations": map[string]any{v1alpha1.AnnotationOrigin: "ClusterFederatedObject//reader"},
				},
				"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get"}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Desired(tt.obj, tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Object); diff != "" {
				t.Errorf("Desired (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDesiredErrors(t *testing.T) {
	fobj := func(ns string, meta map[string]any) *v1alpha1.FederatedObject {
		return &v1alpha1.FederatedObject{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "x"},
			Spec:       v1alpha1.FederatedObjectSpec{Template: manifest(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})},
		}
	}
	fsecret := func(name string) *v1alpha1.FederatedSecret {
		return &v1alpha1.FederatedSecret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
			Spec:       v1alpha1.FederatedSecretSpec{SecretRef: v1alpha1.SecretReference{Name: name}},
		}
	}
	withPatches := func(patches ...v1alpha1.Patch) *v1alpha1.FederatedDeployment {
		return fdeploy(func(o *v1alpha1.FederatedDeployment) {
			o.Spec.Overrides = append(o.Spec.Overrides, v1alpha1.ClusterOverride{ClusterName: us.Name, Patches: patches})
		})
	}
	tests := []struct {
		name   string
		obj    Federated
		target Target
		want   []string
	}{
		{
			name: "a patch whose path is missing names the override, the patch and the path",
			obj: withPatches(
				v1alpha1.Patch{Op: v1alpha1.PatchOpReplace, Path: "/spec/template/spec/containers/0/image", Value: value("a")},
				v1alpha1.Patch{Op: v1alpha1.PatchOpReplace, Path: "/spec/nope", Value: value(1)},
			),
			target: Target{Cluster: us},
			want:   []string{"spec.overrides[2].patches[1]", "replace /spec/nope"},
		},
		{
			name:   "a failed test",
			obj:    withPatches(v1alpha1.Patch{Op: v1alpha1.PatchOpTest, Path: "/spec/template/spec/containers/0/image", Value: value("nginx:0")}),
			target: Target{Cluster: us},
			want:   []string{"spec.overrides[2].patches[0]", "test /spec/template/spec/containers/0/image"},
		},
		{
			name:   "add without a value",
			obj:    withPatches(v1alpha1.Patch{Op: v1alpha1.PatchOpAdd, Path: "/spec/paused"}),
			target: Target{Cluster: us},
			want:   []string{"spec.overrides[2].patches[0]", "add /spec/paused", "missing value"},
		},
		{
			name:   "an override that renames the object",
			obj:    withPatches(v1alpha1.Patch{Op: v1alpha1.PatchOpReplace, Path: "/metadata", Value: value(map[string]any{"name": "other"})}),
			target: Target{Cluster: us},
			want:   []string{"spec.overrides change the apiVersion, kind, name or namespace"},
		},
		{
			name: "an override selector that does not parse",
			obj: fdeploy(func(o *v1alpha1.FederatedDeployment) {
				o.Spec.Overrides[1].ClusterSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}
			}),
			target: Target{Cluster: eu},
			want:   []string{"spec.overrides[1].clusterSelector"},
		},
		{
			name:   "replicas for a kind without replicas",
			obj:    &v1alpha1.FederatedDaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent"}},
			target: Target{Cluster: us, Replicas: ptr.To[int32](1)},
			want:   []string{"a FederatedDaemonSet has no replicas"},
		},
		{
			name:   "a FederatedSecret without its Secret",
			obj:    fsecret("creds"),
			target: Target{Cluster: us, Finish: SecretData(fsecret("creds"), nil)},
			want:   []string{"the Secret creds named by spec.secretRef was not given"},
		},
		{
			name:   "a FederatedSecret given another Secret",
			obj:    fsecret("creds"),
			target: Target{Cluster: us, Finish: SecretData(fsecret("creds"), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other"}})},
			want:   []string{"not shop/creds named by spec.secretRef"},
		},
		{
			name:   "a FederatedObject template in another namespace",
			obj:    fobj(ns, map[string]any{"name": "x", "namespace": "kube-system"}),
			target: Target{Cluster: us},
			want:   []string{`spec.template.metadata.namespace "kube-system" is not the FederatedObject's own namespace "shop"`},
		},
		{
			name: "a ClusterFederatedObject template with a namespace",
			obj: &v1alpha1.ClusterFederatedObject{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: v1alpha1.ClusterFederatedObjectSpec{
				Template: manifest(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x", "namespace": "default"}}),
			}},
			target: Target{Cluster: us},
			want:   []string{"a ClusterFederatedObject is for cluster-scoped kinds"},
		},
		{
			name:   "a FederatedObject without a template",
			obj:    &v1alpha1.FederatedObject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "x"}},
			target: Target{Cluster: us},
			want:   []string{"spec.template has no apiVersion and kind"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Desired(tt.obj, tt.target)
			if err == nil {
				t.Fatalf("want an error, got %v", got.Object)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestDesiredKeepsSecretDataOutOfErrors(t *testing.T) {
	obj := &v1alpha1.FederatedSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
		Spec: v1alpha1.FederatedSecretSpec{
			SecretRef: v1alpha1.SecretReference{Name: "creds"},
			FederatedSpec: v1alpha1.FederatedSpec{Overrides: []v1alpha1.ClusterOverride{{ClusterName: us.Name, Patches: []v1alpha1.Patch{
				{Op: v1alpha1.PatchOpTest, Path: "/data/password", Value: value("nope")},
			}}}},
		},
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"}, Data: map[string][]byte{"password": []byte("hunter2")}}
	_, err := Desired(obj, Target{Cluster: us, Finish: SecretData(obj, secret)})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, leak := range []string{"hunter2", "aHVudGVyMg=="} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q shows the secret data", err)
		}
	}
}

func TestDesiredDoesNotChangeTheFederatedObject(t *testing.T) {
	obj := fdeploy()
	before := obj.DeepCopy()
	for _, c := range []Cluster{us, eu, asia} {
		if _, err := Desired(obj, Target{Cluster: c, Replicas: ptr.To[int32](1)}); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(before, obj); diff != "" {
		t.Errorf("Desired changed its input (-before +after):\n%s", diff)
	}
}

func TestTotalReplicas(t *testing.T) {
	tests := []struct {
		name   string
		obj    Federated
		want   int32
		wantOK bool
	}{
		{name: "totalReplicas wins", obj: fdeploy(func(o *v1alpha1.FederatedDeployment) {
			o.Spec.ReplicaScheduling = &v1alpha1.ReplicaScheduling{TotalReplicas: ptr.To[int32](1000)}
		}), want: 1000, wantOK: true},
		{name: "else the template's replicas", obj: fdeploy(), want: 10, wantOK: true},
		{name: "else 1", obj: &v1alpha1.FederatedReplicaSet{}, want: 1, wantOK: true},
		{name: "zero is zero", obj: &v1alpha1.FederatedReplicaSet{Spec: v1alpha1.FederatedReplicaSetSpec{
			ReplicaScheduling: &v1alpha1.ReplicaScheduling{TotalReplicas: ptr.To[int32](0)},
		}}, want: 0, wantOK: true},
		{name: "no replicas for a DaemonSet", obj: &v1alpha1.FederatedDaemonSet{}},
		{name: "no replicas for a FederatedObject", obj: &v1alpha1.FederatedObject{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := TotalReplicas(tt.obj)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("TotalReplicas = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
