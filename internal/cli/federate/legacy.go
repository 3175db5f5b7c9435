package federate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Manifests written for the Kubernetes of 2016 (the federation walkthrough's) use API versions
// that no current cluster serves. upgrade converts those of the workloads and the Ingress to
// their current versions, as the API server converted them then; any other object of a removed
// version is refused, naming it, rather than carried into a FederatedObject no member serves.

var (
	appsV1       = schema.GroupVersion{Group: "apps", Version: "v1"}
	networkingV1 = schema.GroupVersion{Group: "networking.k8s.io", Version: "v1"}
)

// The removed versions of the workloads and the Ingress that upgrade converts.
const (
	extensionsV1beta1 = "extensions/v1beta1"
	appsV1beta1       = "apps/v1beta1"
	appsV1beta2       = "apps/v1beta2"
)

// removedVersions are the built-in group versions Kubernetes no longer serves.
var removedVersions = map[string]bool{
	extensionsV1beta1: true, appsV1beta1: true, appsV1beta2: true,
	"networking.k8s.io/v1beta1": true, "batch/v1beta1": true, "batch/v2alpha1": true, "policy/v1beta1": true,
	"rbac.authorization.k8s.io/v1beta1": true, "rbac.authorization.k8s.io/v1alpha1": true,
	"storage.k8s.io/v1beta1": true, "apiextensions.k8s.io/v1beta1": true,
	"admissionregistration.k8s.io/v1beta1": true, "scheduling.k8s.io/v1beta1": true, "scheduling.k8s.io/v1alpha1": true,
	"autoscaling/v2beta1": true, "autoscaling/v2beta2": true, "certificates.k8s.io/v1beta1": true,
	"coordination.k8s.io/v1beta1": true, "discovery.k8s.io/v1beta1": true, "events.k8s.io/v1beta1": true,
	"node.k8s.io/v1beta1": true, "apiregistration.k8s.io/v1beta1": true,
	"flowcontrol.apiserver.k8s.io/v1beta1": true, "flowcontrol.apiserver.k8s.io/v1beta2": true,
	"flowcontrol.apiserver.k8s.io/v1beta3": true,
}

// convertible are the removed versions upgrade converts, by kind.
var convertible = map[string][]string{
	"Deployment": {extensionsV1beta1, appsV1beta1, appsV1beta2},
	"ReplicaSet": {extensionsV1beta1, appsV1beta1, appsV1beta2},
	"DaemonSet":  {extensionsV1beta1, appsV1beta1, appsV1beta2},
	"Ingress":    {extensionsV1beta1, "networking.k8s.io/v1beta1"},
}

// upgrade returns u in a current API version, and a note saying what it converted ("" when u
// was current). An object of a removed version it cannot convert is an error naming it.
func upgrade(u *unstructured.Unstructured) (*unstructured.Unstructured, string, error) {
	version, kind := u.GetAPIVersion(), u.GetKind()
	if !removedVersions[version] {
		return u, "", nil
	}
	known := false
	for _, v := range convertible[kind] {
		known = known || v == version
	}
	if !known {
		return nil, "", fmt.Errorf("%s %s is an API version no current Kubernetes serves, and kfed federate cannot convert it: "+
			"write it in its current version (kfed federate converts only the Deployments, ReplicaSets, DaemonSets and Ingresses of removed versions)",
			version, kind)
	}
	out := u.DeepCopy()
	var did []string
	var err error
	if kind == "Ingress" {
		out.SetAPIVersion(networkingV1.String())
		did, err = upgradeIngress(out.Object)
	} else {
		out.SetAPIVersion(appsV1.String())
		did, err = upgradeWorkload(out.Object, version, kind)
	}
	if err != nil {
		return nil, "", fmt.Errorf("converting %s %s to %s: %w", version, kind, out.GetAPIVersion(), err)
	}
	note := fmt.Sprintf("%s %s: converted from %s to %s", kind, name(u), version, out.GetAPIVersion())
	if len(did) > 0 {
		note += " (" + strings.Join(did, "; ") + ")"
	}
	return out, note, nil
}

// upgradeWorkload converts a Deployment, ReplicaSet or DaemonSet to apps/v1: the selector, which
// the old versions defaulted from the template's labels and apps/v1 requires, is written out;
// fields apps/v1 dropped are refused or, where only the server set them, dropped.
func upgradeWorkload(obj map[string]any, version, kind string) ([]string, error) {
	var did []string
	spec, _, _ := unstructured.NestedMap(obj, "spec")
	if spec == nil {
		spec = map[string]any{}
	}
	if _, ok := spec["rollbackTo"]; ok {
		return nil, fmt.Errorf("spec.rollbackTo has no apps/v1 equivalent (use kubectl rollout undo)")
	}
	if _, ok := spec["templateGeneration"]; ok {
		delete(spec, "templateGeneration") // set by the server, gone in apps/v1
		did = append(did, "spec.templateGeneration dropped")
	}
	if _, ok := spec["selector"]; !ok {
		labels, _, _ := unstructured.NestedStringMap(spec, "template", "metadata", "labels")
		if len(labels) == 0 {
			return nil, fmt.Errorf("has no spec.selector and its pod template no labels to make one from")
		}
		sel := make(map[string]any, len(labels))
		for k, v := range labels {
			sel[k] = v
		}
		spec["selector"] = map[string]any{"matchLabels": sel}
		did = append(did, "spec.selector added from the pod template's labels, as "+version+" defaulted it")
	}
	if kind == "DaemonSet" && version == extensionsV1beta1 {
		if _, ok := spec["updateStrategy"]; !ok {
			// extensions/v1beta1 defaulted to OnDelete, apps/v1 to RollingUpdate.
			spec["updateStrategy"] = map[string]any{"type": "OnDelete"}
			did = append(did, "spec.updateStrategy OnDelete written out, the extensions/v1beta1 default")
		}
	}
	obj["spec"] = spec
	return did, nil
}

// upgradeIngress converts an extensions/v1beta1 or networking.k8s.io/v1beta1 Ingress to
// networking.k8s.io/v1: spec.backend becomes spec.defaultBackend, every backend's
// serviceName/servicePort becomes service.name and service.port.number (or .name), and a path
// without a pathType gets ImplementationSpecific (the old versions' meaning).
func upgradeIngress(obj map[string]any) ([]string, error) {
	var did []string
	spec, _, _ := unstructured.NestedMap(obj, "spec")
	if spec == nil {
		return nil, nil
	}
	if b, ok := spec["backend"]; ok {
		nb, err := upgradeBackend(b, "spec.backend")
		if err != nil {
			return nil, err
		}
		delete(spec, "backend")
		spec["defaultBackend"] = nb
		did = append(did, "spec.backend is spec.defaultBackend")
	}
	rules, _ := spec["rules"].([]any)
	paths := 0
	for i, r := range rules {
		rule, _ := r.(map[string]any)
		httpRule, _ := rule["http"].(map[string]any)
		ps, _ := httpRule["paths"].([]any)
		for j, p := range ps {
			path, ok := p.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("spec.rules[%d].http.paths[%d] is not an object", i, j)
			}
			if b, ok := path["backend"]; ok {
				nb, err := upgradeBackend(b, fmt.Sprintf("spec.rules[%d].http.paths[%d].backend", i, j))
				if err != nil {
					return nil, err
				}
				path["backend"] = nb
			}
			if _, ok := path["pathType"]; !ok {
				path["pathType"] = "ImplementationSpecific"
			}
			paths++
		}
	}
	if paths > 0 {
		did = append(did, fmt.Sprintf("%d rule paths' backends converted, pathType ImplementationSpecific where unset", paths))
	}
	obj["spec"] = spec
	return did, nil
}

// portName is what a Service port's name may be (IANA_SVC_NAME).
var portName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// upgradeBackend converts one v1beta1 backend ({serviceName, servicePort} or {resource}).
func upgradeBackend(b any, field string) (map[string]any, error) {
	backend, ok := b.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", field)
	}
	if res, ok := backend["resource"]; ok {
		return map[string]any{"resource": res}, nil
	}
	svc, _ := backend["serviceName"].(string)
	if svc == "" {
		return nil, fmt.Errorf("%s has no serviceName", field)
	}
	port := map[string]any{}
	switch p := backend["servicePort"].(type) {
	case int64:
		port["number"] = p
	case float64:
		port["number"] = int64(p)
	case string:
		if n, err := strconv.ParseInt(p, 10, 32); err == nil {
			port["number"] = n
		} else if portName.MatchString(p) {
			port["name"] = p
		} else {
			return nil, fmt.Errorf("%s.servicePort %q is neither a port number nor a port name", field, p)
		}
	default:
		return nil, fmt.Errorf("%s has no servicePort", field)
	}
	return map[string]any{"service": map[string]any{"name": svc, "port": port}}, nil
}
