// Package federate turns native manifests into their federated kinds, keeping every field:
// Deployment, ReplicaSet, DaemonSet, Job, ConfigMap, Service and Ingress become their typed
// Federated kinds, a Secret becomes a FederatedSecret that refers to it, any other namespaced
// object a FederatedObject and any cluster-scoped one a ClusterFederatedObject, each carrying
// the whole manifest.
package federate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/kinds"
)

// Result is the federated objects, in the order of the input, and notes for the user.
type Result struct {
	Objects []client.Object
	// Notes say what the user must do besides applying Objects (e.g. create a Secret).
	Notes []string
}

// serverFields are metadata fields the API server sets; a manifest from `kubectl get -o yaml`
// has them and they mean nothing in another cluster, so they are dropped.
var serverFields = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
	"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}

// lastApplied is kubectl's bookkeeping annotation, dropped for the same reason.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// clusterScoped are the built-in cluster-scoped kinds (by group and kind).
var clusterScoped = map[schema.GroupKind]bool{}

func init() {
	for _, gk := range []string{
		"Namespace", "Node", "PersistentVolume", "ComponentStatus",
		"ClusterRole.rbac.authorization.k8s.io", "ClusterRoleBinding.rbac.authorization.k8s.io",
		"CustomResourceDefinition.apiextensions.k8s.io", "StorageClass.storage.k8s.io", "CSIDriver.storage.k8s.io",
		"CSINode.storage.k8s.io", "VolumeAttachment.storage.k8s.io", "PriorityClass.scheduling.k8s.io",
		"IngressClass.networking.k8s.io", "RuntimeClass.node.k8s.io", "APIService.apiregistration.k8s.io",
		"ValidatingWebhookConfiguration.admissionregistration.k8s.io", "MutatingWebhookConfiguration.admissionregistration.k8s.io",
		"ValidatingAdmissionPolicy.admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io",
		"MutatingAdmissionPolicy.admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding.admissionregistration.k8s.io",
		"CertificateSigningRequest.certificates.k8s.io", "FlowSchema.flowcontrol.apiserver.k8s.io",
		"PriorityLevelConfiguration.flowcontrol.apiserver.k8s.io", "DeviceClass.resource.k8s.io",
		"IPAddress.networking.k8s.io", "ServiceCIDR.networking.k8s.io", "VolumeAttributesClass.storage.k8s.io",
		"FederatedCluster.federation.kfed.io", "ClusterFederatedObject.federation.kfed.io", "FederatedDomain.federation.kfed.io",
	} {
		clusterScoped[schema.ParseGroupKind(gk)] = true
	}
}

// Federate converts objs. CRDs among them with scope Cluster make their kinds cluster-scoped.
func Federate(objs []*unstructured.Unstructured) (*Result, error) {
	scoped := clusterScopedKinds(objs)
	res := &Result{}
	for _, in := range objs {
		u := clean(in)
		out, note, err := convert(u, scoped)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", u.GetKind(), name(u), err)
		}
		res.Objects = append(res.Objects, out)
		if note != "" {
			res.Notes = append(res.Notes, note)
		}
	}
	return res, nil
}

func name(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetName()
	}
	return u.GetNamespace() + "/" + u.GetName()
}

// clusterScopedKinds adds the kinds of cluster-scoped CRDs among objs to the built-in ones.
func clusterScopedKinds(objs []*unstructured.Unstructured) map[schema.GroupKind]bool {
	out := make(map[schema.GroupKind]bool, len(clusterScoped))
	for k, v := range clusterScoped {
		out[k] = v
	}
	for _, o := range objs {
		if o.GroupVersionKind().GroupKind() != (schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}) {
			continue
		}
		scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		if scope == "Cluster" {
			out[schema.GroupKind{Group: group, Kind: kind}] = true
		}
	}
	return out
}

// clean returns a copy of u without status and the fields the API server sets.
func clean(in *unstructured.Unstructured) *unstructured.Unstructured {
	u := in.DeepCopy()
	delete(u.Object, "status")
	if md, ok := u.Object["metadata"].(map[string]any); ok {
		for _, f := range serverFields {
			delete(md, f)
		}
		if a, ok := md["annotations"].(map[string]any); ok {
			delete(a, lastApplied)
			if len(a) == 0 {
				delete(md, "annotations")
			}
		}
	}
	return u
}

// typedKinds are the native kinds with a typed federated kind (kinds.All).
var typedKinds = func() map[schema.GroupVersionKind]bool {
	out := map[schema.GroupVersionKind]bool{}
	for _, k := range kinds.All {
		if k.Typed {
			out[k.New().TargetGVK()] = true
		}
	}
	return out
}()

func convert(u *unstructured.Unstructured, scoped map[schema.GroupKind]bool) (client.Object, string, error) {
	if u.GetName() == "" {
		return nil, "", fmt.Errorf("has no metadata.name (generateName cannot be federated)")
	}
	gvk := u.GroupVersionKind()
	if typedKinds[gvk] {
		// A Secret always becomes a FederatedSecret: its data must not live in a custom resource.
		reason := untypedFields(u)
		if reason == "" || gvk.Kind == "Secret" {
			return typed(u)
		}
		obj, err := whole(u, false)
		note := fmt.Sprintf("%s %s: a Federated%s template cannot carry %s, so it is a FederatedObject with the whole manifest", gvk.Kind, name(u), gvk.Kind, reason)
		return obj, note, err
	}
	if scoped[gvk.GroupKind()] {
		if u.GetNamespace() != "" {
			return nil, "", fmt.Errorf("is cluster-scoped but has metadata.namespace %q", u.GetNamespace())
		}
		obj, err := whole(u, true)
		return obj, "", err
	}
	obj, err := whole(u, false)
	return obj, "", err
}

// untypedFields names the fields of u a typed federated template cannot carry ("" when none).
func untypedFields(u *unstructured.Unstructured) string {
	var extra []string
	md, _ := u.Object["metadata"].(map[string]any)
	for k := range md {
		if !slices.Contains([]string{"name", "namespace", "labels", "annotations"}, k) {
			extra = append(extra, "metadata."+k)
		}
	}
	if u.GetKind() == "ConfigMap" {
		if _, ok := u.Object["immutable"]; ok {
			extra = append(extra, "immutable")
		}
	}
	sort.Strings(extra)
	return strings.Join(extra, ", ")
}

// decodeStrict decodes u into a typed native object, refusing fields the type does not know
// (they would be lost).
func decodeStrict(u *unstructured.Unstructured, into any) error {
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("is not a valid %s: %w", u.GetKind(), err)
	}
	return nil
}

func objectMeta(u *unstructured.Unstructured) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: u.GetName(), Namespace: u.GetNamespace()}
}

func templateMeta(m metav1.ObjectMeta) v1alpha1.TemplateMeta {
	return v1alpha1.TemplateMeta{Labels: m.Labels, Annotations: m.Annotations}
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: kind}
}

// typed converts a native object whose every field a typed federated kind carries.
func typed(u *unstructured.Unstructured) (client.Object, string, error) {
	meta := objectMeta(u)
	switch u.GetKind() {
	case "Deployment":
		var n appsv1.Deployment
		if err := decodeStrict(u, &n); err != nil {
			return nil, "", err
		}
		return &v1alpha1.FederatedDeployment{TypeMeta: typeMeta("FederatedDeployment"), ObjectMeta: meta,
			Spec: v1alpha1.FederatedDeploymentSpec{Template: v1alpha1.DeploymentTemplate{Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}, "", nil
	case "ReplicaSet":
		var n appsv1.ReplicaSet
		if err := decodeStrict(u, &n); err != nil {
			return nil, "", err
		}
		return &v1alpha1.FederatedReplicaSet{TypeMeta: typeMeta("FederatedReplicaSet"), ObjectMeta: meta,
			Spec: v1alpha1.FederatedReplicaSetSpec{Template: v1alpha1.ReplicaSetTemplate{Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}, "", nil
	case "DaemonSet":
		var n appsv1.DaemonSet
		if err := decodeStrict(u, &n); err != nil {
			return nil, "", err
		}
		return &v1alpha1.FederatedDaemonSet{TypeMeta: typeMeta("FederatedDaemonSet"), ObjectMeta: meta,
			Spec: v1alpha1.FederatedDaemonSetSpec{Template: v1alpha1.DaemonSetTemplate{Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}, "", nil
	case "Job":
		var n batchv1.Job
		if err := decodeStrict(u, &n); err != nil {
			return nil, "", err
		}
		return &v1alpha1.FederatedJob{TypeMeta: typeMeta("FederatedJob"), ObjectMeta: meta,
			Spec: v1alpha1.FederatedJobSpec{Template: v1alpha1.JobTemplate{Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}, "", nil
	case "ConfigMap":
		var n corev1.ConfigMap
		if err := decodeStrict(u, &n); err != nil {
			return nil, "", err
		}
		return &v1alpha1.FederatedConfigMap{TypeMeta: typeMeta("FederatedConfigMap"), ObjectMeta: meta,
			Spec: v1alpha1.FederatedConfigMapSpec{Template: v1alpha1.ConfigMapTemplate{
				Metadata: templateMeta(n.ObjectMeta), Data: n.Data, BinaryData: n.BinaryData}}}, "", nil
	case "Service":
		var n corev1.Service
		if err := decodeStrict(u, &n); err != nil {
			return nil, "", err
		}
		return &v1alpha1.FederatedService{TypeMeta: typeMeta("FederatedService"), ObjectMeta: meta,
			Spec: v1alpha1.FederatedServiceSpec{Template: v1alpha1.ServiceTemplate{Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}, "", nil
	case "Ingress":
		var n networkingv1.Ingress
		if err := decodeStrict(u, &n); err != nil {
			return nil, "", err
		}
		return &v1alpha1.FederatedIngress{TypeMeta: typeMeta("FederatedIngress"), ObjectMeta: meta,
			Spec: v1alpha1.FederatedIngressSpec{Template: v1alpha1.IngressTemplate{Metadata: templateMeta(n.ObjectMeta), Spec: n.Spec}}}, "", nil
	case "Secret":
		var n corev1.Secret
		if err := decodeStrict(u, &n); err != nil {
			return nil, "", err
		}
		note := fmt.Sprintf("Secret %s: FederatedSecret %s copies it from the host, so create the Secret itself in the host too "+
			"(secret data never lives in a federated object and is not printed)", name(u), n.Name)
		return &v1alpha1.FederatedSecret{TypeMeta: typeMeta("FederatedSecret"), ObjectMeta: meta,
			Spec: v1alpha1.FederatedSecretSpec{SecretRef: v1alpha1.SecretReference{Name: n.Name}}}, note, nil
	}
	return nil, "", fmt.Errorf("has no typed federated kind") // unreachable: typedKinds lists the cases above
}

// whole wraps the whole manifest in a FederatedObject (or ClusterFederatedObject). Its name is
// <kind>-<name>, lower case, so that objects of different kinds with the same name do not collide.
func whole(u *unstructured.Unstructured, cluster bool) (client.Object, error) {
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	objName := strings.ToLower(u.GetKind()) + "-" + u.GetName()
	if len(objName) > 253 {
		objName = u.GetName()
	}
	if cluster {
		return &v1alpha1.ClusterFederatedObject{TypeMeta: typeMeta("ClusterFederatedObject"), ObjectMeta: metav1.ObjectMeta{Name: objName},
			Spec: v1alpha1.ClusterFederatedObjectSpec{Template: runtime.RawExtension{Raw: raw}}}, nil
	}
	return &v1alpha1.FederatedObject{TypeMeta: typeMeta("FederatedObject"), ObjectMeta: metav1.ObjectMeta{Name: objName, Namespace: u.GetNamespace()},
		Spec: v1alpha1.FederatedObjectSpec{Template: runtime.RawExtension{Raw: raw}}}, nil
}
