package propagate

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	jsonpatch "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

// Target is what one member object is built from besides the federated object itself.
type Target struct {
	// Cluster is the member cluster: overrides select it by name or by its labels.
	Cluster Cluster
	// Replicas is the plan's count for the cluster (Deployment and ReplicaSet only); nil keeps
	// the template's spec.replicas.
	Replicas *int32
	// Finish, when set, completes the member object built from the template with what its kind
	// adds (the kind's hook in internal/kinds): a FederatedSecret's Secret type and data
	// (SecretData), a FederatedService's unset targetPorts dropped (DropUnsetTargetPorts). It
	// runs before the replicas and the overrides are set.
	Finish func(member map[string]any) error
}

// Desired returns the object the member cluster t.Cluster should have for obj:
//   - the native apiVersion and kind;
//   - the federated object's name and namespace (a FederatedObject's or ClusterFederatedObject's
//     name is its template's metadata.name; a ClusterFederatedObject's member object has no
//     namespace);
//   - the template's labels and annotations, plus the label federation.kfed.io/managed: "true"
//     and the annotation federation.kfed.io/origin: <Kind>/<namespace>/<name>;
//   - the template's other fields (never its status), then what t.Finish adds (a Secret's type
//     and data);
//   - spec.replicas set to *t.Replicas when given;
//   - then the overrides that select the cluster, in order, as RFC 6902 patches;
//   - for a FederatedIngress of mode GCLB, the annotation kubernetes.io/ingress.global-static-ip-name:
//     <spec.globalLoadBalancer.staticIPName>, which overrides cannot change.
//
// With the annotation federation.kfed.io/retain-replicas: "true" on obj, spec.replicas is left
// out. An override cannot change the identity of the object (apiVersion, kind, name,
// namespace) nor remove the managed label or the origin annotation.
func Desired(obj Federated, t Target) (*unstructured.Unstructured, error) {
	gvk := obj.TargetGVK()
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, errors.New("spec.template has no apiVersion and kind")
	}
	template, err := obj.TemplateObject()
	if err != nil {
		return nil, err
	}
	templateMeta, _ := template["metadata"].(map[string]any)

	out := map[string]any{}
	for k, v := range template {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
		default:
			out[k] = v
		}
	}
	out["apiVersion"], out["kind"] = gvk.GroupVersion().String(), gvk.Kind
	name, namespace, err := identity(obj, templateMeta)
	if err != nil {
		return nil, err
	}
	meta := map[string]any{"name": name}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	for _, k := range []string{"labels", "annotations"} {
		if m, ok := templateMeta[k].(map[string]any); ok && len(m) > 0 {
			meta[k] = maps.Clone(m)
		}
	}
	out["metadata"] = meta

	if t.Finish != nil {
		if err := t.Finish(out); err != nil {
			return nil, err
		}
	}
	if t.Replicas != nil {
		if obj.GetReplicaScheduling() == nil {
			return nil, fmt.Errorf("a %s has no replicas to set", obj.FederatedKind())
		}
		spec, _ := out["spec"].(map[string]any)
		if spec == nil {
			spec = map[string]any{}
			out["spec"] = spec
		}
		spec["replicas"] = int64(*t.Replicas)
	}
	if out, err = applyOverrides(out, obj.GetOverrides(), t.Cluster); err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: out}
	if u.GetAPIVersion() != gvk.GroupVersion().String() || u.GetKind() != gvk.Kind || u.GetName() != name || u.GetNamespace() != namespace {
		return nil, errors.New("spec.overrides change the apiVersion, kind, name or namespace of the member object")
	}
	markManaged(u, obj)
	if ing, ok := obj.(*v1alpha1.FederatedIngress); ok {
		setGlobalStaticIP(u, ing)
	}
	if obj.GetAnnotations()[v1alpha1.AnnotationRetainReplicas] == "true" {
		unstructured.RemoveNestedField(u.Object, "spec", "replicas")
	}
	pruneNulls(u.Object)
	return u, nil
}

// identity returns the name and namespace of the member object.
func identity(obj Federated, templateMeta map[string]any) (name, namespace string, err error) {
	name = obj.GetName()
	if n, ok := templateMeta["name"].(string); ok && n != "" {
		name = n
	}
	templateNS, _ := templateMeta["namespace"].(string)
	switch {
	case obj.GetNamespace() == "" && templateNS != "":
		return "", "", fmt.Errorf("spec.template.metadata.namespace %q: a %s is for cluster-scoped kinds", templateNS, obj.FederatedKind())
	case templateNS != "" && templateNS != obj.GetNamespace():
		return "", "", fmt.Errorf("spec.template.metadata.namespace %q is not the %s's own namespace %q",
			templateNS, obj.FederatedKind(), obj.GetNamespace())
	}
	return name, obj.GetNamespace(), nil
}

// SecretData returns the Target.Finish of a FederatedSecret: it sets the type and data of the
// member Secret from the host Secret s its spec.secretRef names.
func SecretData(fs *v1alpha1.FederatedSecret, s *corev1.Secret) func(map[string]any) error {
	return func(out map[string]any) error { return copySecret(out, fs, s) }
}

func copySecret(out map[string]any, fs *v1alpha1.FederatedSecret, s *corev1.Secret) error {
	if s == nil {
		return fmt.Errorf("the Secret %s named by spec.secretRef was not given", fs.Spec.SecretRef.Name)
	}
	if s.Name != fs.Spec.SecretRef.Name || s.Namespace != fs.Namespace {
		return fmt.Errorf("the Secret given is %s/%s, not %s/%s named by spec.secretRef", s.Namespace, s.Name, fs.Namespace, fs.Spec.SecretRef.Name)
	}
	if s.Type != "" {
		out["type"] = string(s.Type)
	}
	if len(s.Data) > 0 {
		// Encoded as the API encodes []byte: base64 strings.
		raw, err := json.Marshal(s.Data)
		if err != nil {
			return fmt.Errorf("encoding the data of Secret %s: %w", s.Name, err)
		}
		data := map[string]any{}
		if err := json.Unmarshal(raw, &data); err != nil {
			return fmt.Errorf("decoding the data of Secret %s: %w", s.Name, err)
		}
		out["data"] = data
	}
	return nil
}

// DropUnsetTargetPorts is the Target.Finish of a FederatedService: it removes the targetPort of
// the Service ports that have none. The typed template encodes an unset one as 0, which the
// member's API server replaces with the port, so that kfed would otherwise see a difference
// where there is none.
func DropUnsetTargetPorts(svc map[string]any) error {
	ports, _, _ := unstructured.NestedSlice(svc, "spec", "ports")
	for _, p := range ports {
		port, ok := p.(map[string]any)
		if !ok {
			continue
		}
		if tp, ok := port["targetPort"]; ok && (tp == int64(0) || tp == "") {
			delete(port, "targetPort")
		}
	}
	if ports != nil {
		_ = unstructured.SetNestedSlice(svc, ports, "spec", "ports")
	}
	return nil
}

// applyOverrides applies, in order, the patches of the overrides that select the cluster.
func applyOverrides(obj map[string]any, overrides []v1alpha1.ClusterOverride, c Cluster) (map[string]any, error) {
	var doc []byte
	for i, o := range overrides {
		applies, err := appliesTo(o, c)
		if err != nil {
			return nil, fmt.Errorf("spec.overrides[%d].clusterSelector: %w", i, err)
		}
		if !applies {
			continue
		}
		if doc == nil {
			if doc, err = json.Marshal(obj); err != nil {
				return nil, fmt.Errorf("encoding the member object: %w", err)
			}
		}
		for j, p := range o.Patches {
			if doc, err = applyPatch(doc, p); err != nil {
				return nil, fmt.Errorf("spec.overrides[%d].patches[%d] (%s %s): %w", i, j, p.Op, p.Path, err)
			}
		}
	}
	if doc == nil {
		return obj, nil
	}
	out := map[string]any{}
	if err := utiljson.Unmarshal(doc, &out); err != nil {
		return nil, fmt.Errorf("decoding the patched member object: %w", err)
	}
	return out, nil
}

// applyPatch applies one RFC 6902 operation to a JSON document.
func applyPatch(doc []byte, p v1alpha1.Patch) ([]byte, error) {
	op := map[string]any{"op": p.Op, "path": p.Path}
	if p.From != "" {
		op["from"] = p.From
	}
	if p.Value != nil && len(p.Value.Raw) > 0 {
		op["value"] = json.RawMessage(p.Value.Raw)
	}
	raw, err := json.Marshal([]any{op})
	if err != nil {
		return nil, fmt.Errorf("encoding the patch: %w", err)
	}
	patch, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		return nil, err
	}
	return patch.Apply(doc)
}

// markManaged sets the managed label and the origin annotation, whatever the overrides did.
func markManaged(u *unstructured.Unstructured, obj Federated) {
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1alpha1.LabelManaged] = "true"
	u.SetLabels(labels)
	annotations := u.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[v1alpha1.AnnotationOrigin] = FormatOrigin(OriginOf(obj))
	u.SetAnnotations(annotations)
}

// setGlobalStaticIP puts the static IP of a GCLB global address on the member Ingress, after the
// overrides, so that every member's GCE ingress controller programs the one load balancer.
func setGlobalStaticIP(u *unstructured.Unstructured, ing *v1alpha1.FederatedIngress) {
	glb := ing.Spec.GlobalLoadBalancer
	if glb == nil || glb.Mode != v1alpha1.GlobalLoadBalancerGCLB || glb.StaticIPName == "" {
		return
	}
	annotations := u.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[v1alpha1.AnnotationGlobalStaticIPName] = glb.StaticIPName
	u.SetAnnotations(annotations)
}

// pruneNulls removes the null values of maps, at every depth: kfed sets no field to null.
func pruneNulls(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			pruneNulls(e)
		}
	case []any:
		for _, e := range v {
			pruneNulls(e)
		}
	}
}
