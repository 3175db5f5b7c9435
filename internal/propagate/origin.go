package propagate

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Origin names the federated object a member object comes from. Namespace is empty for a
// ClusterFederatedObject.
type Origin struct {
	Kind, Namespace, Name string
}

// OriginOf returns the origin of the member objects of obj.
func OriginOf(obj Federated) Origin {
	return Origin{Kind: obj.FederatedKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// FormatOrigin returns the value of the federation.kfed.io/origin annotation: <Kind>/<namespace>/<name>.
func FormatOrigin(o Origin) string {
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// ParseOrigin reads a federation.kfed.io/origin annotation written by FormatOrigin.
func ParseOrigin(s string) (Origin, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return Origin{}, fmt.Errorf("origin %q is not <Kind>/<namespace>/<name>", s)
	}
	return Origin{Kind: parts[0], Namespace: parts[1], Name: parts[2]}, nil
}

// MemberKey returns the kind, namespace and name of the object obj puts in each member.
func MemberKey(obj Federated) (schema.GroupVersionKind, types.NamespacedName, error) {
	template, err := obj.TemplateObject()
	if err != nil {
		return schema.GroupVersionKind{}, types.NamespacedName{}, err
	}
	templateMeta, _ := template["metadata"].(map[string]any)
	name, namespace, err := identity(obj, templateMeta)
	if err != nil {
		return schema.GroupVersionKind{}, types.NamespacedName{}, err
	}
	return obj.TargetGVK(), types.NamespacedName{Namespace: namespace, Name: name}, nil
}
