// Package federate turns native manifests into their federated kinds, keeping every field:
// Deployment, ReplicaSet, DaemonSet, Job, ConfigMap, Service and Ingress become their typed
// Federated kinds, a Secret becomes a FederatedSecret that refers to it, any other namespaced
// object a FederatedObject and any cluster-scoped one a ClusterFederatedObject, each carrying
// the whole manifest.
package federate

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

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
// Workloads and Ingresses of API versions Kubernetes no longer serves (extensions/v1beta1,
// apps/v1beta1, apps/v1beta2, networking.k8s.io/v1beta1) are converted to their current
// versions first, with a note saying so; any other object of a removed version is an error.
func Federate(objs []*unstructured.Unstructured) (*Result, error) {
	scoped := clusterScopedKinds(objs)
	res := &Result{}
	for _, in := range objs {
		u, upgraded, err := upgrade(clean(in))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", in.GetKind(), name(in), err)
		}
		if upgraded != "" {
			res.Notes = append(res.Notes, upgraded)
		}
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

// typedKinds are the entries of kinds.All with a typed template, by their native kind.
var typedKinds = func() map[schema.GroupVersionKind]kinds.Kind {
	out := map[schema.GroupVersionKind]kinds.Kind{}
	for _, k := range kinds.All {
		if k.Typed {
			out[k.New().TargetGVK()] = k
		}
	}
	return out
}()

func convert(u *unstructured.Unstructured, scoped map[schema.GroupKind]bool) (client.Object, string, error) {
	if u.GetName() == "" {
		return nil, "", fmt.Errorf("has no metadata.name (generateName cannot be federated)")
	}
	gvk := u.GroupVersionKind()
	if k, ok := typedKinds[gvk]; ok {
		reason := untypedFields(u, k)
		if reason == "" || k.AlwaysTyped {
			return k.FromNative(u)
		}
		obj, err := whole(u, false)
		note := fmt.Sprintf("%s %s: a %s template cannot carry %s, so it is a FederatedObject with the whole manifest", gvk.Kind, name(u), k.Name, reason)
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
func untypedFields(u *unstructured.Unstructured, k kinds.Kind) string {
	var extra []string
	md, _ := u.Object["metadata"].(map[string]any)
	for k := range md {
		if !slices.Contains([]string{"name", "namespace", "labels", "annotations"}, k) {
			extra = append(extra, "metadata."+k)
		}
	}
	for _, f := range k.TemplateOmits {
		if _, ok := u.Object[f]; ok {
			extra = append(extra, f)
		}
	}
	sort.Strings(extra)
	return strings.Join(extra, ", ")
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: kind}
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
