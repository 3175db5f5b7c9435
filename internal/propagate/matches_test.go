package propagate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

// liveDeployment is the desired Deployment as a member's API server returns it: with the
// fields the server and the controllers add.
func liveDeployment(t *testing.T, desired *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	live := desired.DeepCopy()
	set := func(v any, path ...string) {
		t.Helper()
		if err := unstructured.SetNestedField(live.Object, v, path...); err != nil {
			t.Fatal(err)
		}
	}
	set("123", "metadata", "resourceVersion")
	set("0b5c", "metadata", "uid")
	set(int64(3), "metadata", "generation")
	set("2026-01-01T00:00:00Z", "metadata", "creationTimestamp")
	set("2", "metadata", "annotations", "deployment.kubernetes.io/revision")
	set([]any{map[string]any{"manager": "kfed", "operation": "Apply"}}, "metadata", "managedFields")
	set(int64(10), "spec", "revisionHistoryLimit")
	set(int64(600), "spec", "progressDeadlineSeconds")
	set(map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": "25%", "maxUnavailable": "25%"}}, "spec", "strategy")
	set("ClusterFirst", "spec", "template", "spec", "dnsPolicy")
	set(int64(30), "spec", "template", "spec", "terminationGracePeriodSeconds")
	containers, _, _ := unstructured.NestedSlice(live.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	c["imagePullPolicy"] = "IfNotPresent"
	c["terminationMessagePath"] = "/dev/termination-log"
	c["ports"].([]any)[0].(map[string]any)["protocol"] = "TCP"
	set(containers, "spec", "template", "spec", "containers")
	set(map[string]any{"replicas": int64(4), "readyReplicas": int64(2)}, "status")
	return live
}

func TestMatches(t *testing.T) {
	desired, err := Desired(fdeploy(), Target{Cluster: us, Replicas: ptr.To[int32](4)})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := Desired(&v1alpha1.FederatedService{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.FederatedServiceSpec{Template: v1alpha1.ServiceTemplate{Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeLoadBalancer,
			ClusterIP: "10.0.0.10",
			Selector:  webLabels,
			Ports:     []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}},
		}}},
	}, Target{Cluster: us, Finish: DropUnsetTargetPorts})
	if err != nil {
		t.Fatal(err)
	}
	liveService := func(mod func(map[string]any)) *unstructured.Unstructured {
		live := svc.DeepCopy()
		spec := live.Object["spec"].(map[string]any)
		spec["clusterIP"] = "10.96.4.2"
		spec["clusterIPs"] = []any{"10.96.4.2"}
		spec["healthCheckNodePort"] = int64(31000)
		spec["ipFamilies"] = []any{"IPv4"}
		spec["externalTrafficPolicy"] = "Cluster"
		port := spec["ports"].([]any)[0].(map[string]any)
		port["nodePort"] = int64(31234)
		port["protocol"] = "TCP"
		port["targetPort"] = int64(80)
		live.Object["status"] = map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "203.0.113.7"}}}}
		if mod != nil {
			mod(spec)
		}
		return live
	}

	tests := []struct {
		name          string
		desired, live *unstructured.Unstructured
		want          bool
	}{
		{name: "identical", desired: desired, live: desired.DeepCopy(), want: true},
		{name: "server defaults, status and metadata added by the member", desired: desired, live: liveDeployment(t, desired), want: true},
		{
			name: "a changed image", desired: desired, want: false,
			live: edit(t, liveDeployment(t, desired), func(o map[string]any) {
				containers(o)[0].(map[string]any)["image"] = "nginx:1.26"
			}),
		},
		{
			name: "changed replicas", desired: desired, want: false,
			live: edit(t, liveDeployment(t, desired), func(o map[string]any) {
				o["spec"].(map[string]any)["replicas"] = int64(5)
			}),
		},
		{
			name: "a label kfed sets is missing", desired: desired, want: false,
			live: edit(t, liveDeployment(t, desired), func(o map[string]any) {
				delete(o["metadata"].(map[string]any)["labels"].(map[string]any), v1alpha1.LabelManaged)
			}),
		},
		{
			name: "a label kfed sets has another value", desired: desired, want: false,
			live: edit(t, liveDeployment(t, desired), func(o map[string]any) {
				o["metadata"].(map[string]any)["labels"].(map[string]any)["app"] = "api"
			}),
		},
		{
			name: "a list of another length: a container more", desired: desired, want: false,
			live: edit(t, liveDeployment(t, desired), func(o map[string]any) {
				spec := o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
				spec["containers"] = append(containers(o), map[string]any{"name": "sidecar", "image": "envoy"})
			}),
		},
		{
			name: "a list of another length: a port less", desired: desired, want: false,
			live: edit(t, liveDeployment(t, desired), func(o map[string]any) {
				containers(o)[0].(map[string]any)["ports"] = []any{}
			}),
		},
		{
			name: "a map where desired has a scalar", desired: desired, want: false,
			live: edit(t, liveDeployment(t, desired), func(o map[string]any) {
				o["spec"].(map[string]any)["replicas"] = map[string]any{"value": int64(4)}
			}),
		},
		{
			name:    "the same number as float64 and int64",
			desired: &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"replicas": int64(3), "ratio": 0.5}}},
			live:    &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"replicas": float64(3), "ratio": 0.5}}},
			want:    true,
		},
		{
			name:    "a number and a string",
			desired: &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"port": int64(80)}}},
			live:    &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"port": "80"}}},
			want:    false,
		},
		{
			name:    "empty map and list in desired match missing ones",
			desired: &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"strategy": map[string]any{}, "args": []any{}}}},
			live:    &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{}}},
			want:    true,
		},
		{
			name:    "a field kfed sets is missing",
			desired: &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"paused": false}}},
			live:    &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{}}},
			want:    false,
		},
		{name: "Service: clusterIP, clusterIPs, nodePort and healthCheckNodePort are the member's", desired: svc, live: liveService(nil), want: true},
		{
			name: "Service: a changed port", desired: svc, want: false,
			live: liveService(func(spec map[string]any) { spec["ports"].([]any)[0].(map[string]any)["port"] = int64(8080) }),
		},
		{
			name: "Service: a changed type", desired: svc, want: false,
			live: liveService(func(spec map[string]any) { spec["type"] = "ClusterIP" }),
		},
		{
			name: "clusterIP is compared on kinds other than Service",
			desired: &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "example.com/v1", "kind": "Widget", "spec": map[string]any{"clusterIP": "10.0.0.1"},
			}},
			live: &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "example.com/v1", "kind": "Widget", "spec": map[string]any{"clusterIP": "10.0.0.2"},
			}},
			want: false,
		},
		{name: "no live object", desired: desired, live: nil, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Matches(tt.desired, tt.live); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func edit(t *testing.T, u *unstructured.Unstructured, f func(map[string]any)) *unstructured.Unstructured {
	t.Helper()
	f(u.Object)
	return u
}

// containers returns the containers of a Deployment's pod template, to edit in place.
func containers(o map[string]any) []any {
	spec := o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	return spec["containers"].([]any)
}

// TestMatchesSeesFieldsDroppedFromTheTemplate: a label, annotation or spec field kfed wrote (its
// managedFields entries say so) that desired no longer sets makes the copy differ, so the apply
// removes it; fields other managers own, or inside list elements, or spec.replicas (retained),
// do not.
func TestMatchesSeesFieldsDroppedFromTheTemplate(t *testing.T) {
	desired := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
		"metadata": map[string]any{"name": "web", "namespace": ns, "labels": map[string]any{"app": "web"}},
		"spec":     map[string]any{"rules": []any{map[string]any{"host": "a.example.com"}}},
	}}
	entry := func(manager string, op metav1.ManagedFieldsOperationType, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(fields)}
	}
	const ownsAnnotation = `{"f:metadata":{"f:labels":{"f:app":{}},"f:annotations":{"f:kubernetes.io/ingress.global-static-ip-name":{}}},"f:spec":{"f:rules":{}}}`
	for _, tc := range []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    bool
	}{
		{"kfed owns only what desired sets", []metav1.ManagedFieldsEntry{
			entry(FieldOwner, metav1.ManagedFieldsOperationApply, `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:rules":{}}}`)}, true},
		{"kfed applied an annotation desired dropped", []metav1.ManagedFieldsEntry{
			entry(FieldOwner, metav1.ManagedFieldsOperationApply, ownsAnnotation)}, false},
		{"kfed created it with the annotation (an Update entry)", []metav1.ManagedFieldsEntry{
			entry(FieldOwner, metav1.ManagedFieldsOperationUpdate, ownsAnnotation)}, false},
		{"another manager owns the annotation", []metav1.ManagedFieldsEntry{
			entry("kubectl", metav1.ManagedFieldsOperationApply, ownsAnnotation)}, true},
		{"kfed owned a spec field desired dropped", []metav1.ManagedFieldsEntry{
			entry(FieldOwner, metav1.ManagedFieldsOperationApply, `{"f:spec":{"f:rules":{},"f:tls":{}}}`)}, false},
		{"kfed's entry names a field live does not have (a create's null creationTimestamp)", []metav1.ManagedFieldsEntry{
			entry(FieldOwner, metav1.ManagedFieldsOperationApply, `{"f:metadata":{"f:creationTimestamp":{}},"f:spec":{"f:rules":{},"f:ingressClassName":{}}}`)}, true},
		{"kfed's create entry holds the defaults: only its labels, annotations and data count", []metav1.ManagedFieldsEntry{
			entry(FieldOwner, metav1.ManagedFieldsOperationUpdate, `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:rules":{},"f:tls":{}}}`)}, true},
		{"inside list elements and spec.replicas: not followed", []metav1.ManagedFieldsEntry{
			entry(FieldOwner, metav1.ManagedFieldsOperationApply, `{"f:spec":{"f:replicas":{},"f:rules":{"k:{\"host\":\"a.example.com\"}":{"f:http":{}}}}}`)}, true},
		{"kfed's status subresource entry does not count", []metav1.ManagedFieldsEntry{
			func() metav1.ManagedFieldsEntry {
				e := entry(FieldOwner, metav1.ManagedFieldsOperationUpdate, `{"f:status":{"f:x":{}},"f:metadata":{"f:annotations":{"f:x":{}}}}`)
				e.Subresource = "status"
				return e
			}()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := desired.DeepCopy()
			live.SetAnnotations(map[string]string{"kubernetes.io/ingress.global-static-ip-name": "ip"})
			live.Object["spec"].(map[string]any)["tls"] = []any{map[string]any{"secretName": "web-tls"}}
			live.SetManagedFields(tc.entries)
			if got := Matches(desired, live); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}
