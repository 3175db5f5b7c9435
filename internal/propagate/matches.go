package propagate

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// memberOwned are the fields of a member object that the member sets, by path from the root
// ("[]" stands for every element of a list): kfed never compares them.
var memberOwned = []string{
	"status",
	"metadata.resourceVersion",
	"metadata.uid",
	"metadata.generation",
	"metadata.creationTimestamp",
	"metadata.deletionTimestamp",
	"metadata.deletionGracePeriodSeconds",
	"metadata.managedFields",
	"metadata.selfLink",
	"metadata.ownerReferences",
}

// serviceMemberOwned are the fields of a Service its member allocates.
var serviceMemberOwned = []string{
	"spec.clusterIP",
	"spec.clusterIPs",
	"spec.ports.[].nodePort",
	"spec.healthCheckNodePort",
}

// Matches tells whether the live member object already has every field kfed sets in desired,
// with the same value (desired ⊆ live): maps are compared key by key at every depth, lists
// element by element and must have the same length, scalars must be equal (numbers by value).
// Fields live has and desired does not (defaults, fields other managers own) do not count, nor
// do the fields the member owns (metadata.resourceVersion, uid and the like, status, and for a
// Service spec.clusterIP, spec.clusterIPs, spec.ports[].nodePort and spec.healthCheckNodePort).
// An empty map or list in desired matches a missing one in live.
//
// A field that live's managedFields say kfed wrote (its entries of the main resource) and
// desired no longer has does count: a label, annotation or other field of a map dropped from
// the template is a change, and the apply removes it from the member. Within lists, a changed
// length counts; a map key dropped inside a list element is found by the next write.
//
// kfed writes with server-side apply, so a true answer means a write would change nothing.
func Matches(desired, live *unstructured.Unstructured) bool {
	if desired == nil || live == nil {
		return desired == nil && live == nil
	}
	ignored := memberOwned
	if desired.GetAPIVersion() == "v1" && desired.GetKind() == "Service" {
		ignored = append(append([]string{}, memberOwned...), serviceMemberOwned...)
	}
	return subset(desired.Object, live.Object, "", ignored) && !ownsDropped(desired, live, ignored)
}

// subset tells whether want ⊆ got; path is the dotted path of want from the root.
func subset(want, got any, path string, ignored []string) bool {
	if path != "" && slices.Contains(ignored, path) {
		return true
	}
	switch w := want.(type) {
	case nil:
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return got == nil && len(w) == 0
		}
		for k, wv := range w {
			if !subset(wv, g[k], join(path, k), ignored) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok {
			return got == nil && len(w) == 0
		}
		if len(w) != len(g) {
			return false
		}
		for i := range w {
			if !subset(w[i], g[i], join(path, "[]"), ignored) {
				return false
			}
		}
		return true
	default:
		return scalarEqual(want, got)
	}
}

// ownsDropped tells whether kfed's managedFields entries in live hold a field of a map that
// live still has and desired does not set (a field live lacks has nothing to remove). kfed's
// Apply entry lists exactly what kfed applied. Its Update entry, from the plain create of the
// copy, also lists the defaults the API server filled in, so only its maps of user keys count:
// labels, annotations, and a ConfigMap's or Secret's data.
func ownsDropped(desired, live *unstructured.Unstructured, ignored []string) bool {
	for _, e := range live.GetManagedFields() {
		if e.Manager != FieldOwner || e.Subresource != "" || e.FieldsV1 == nil {
			continue
		}
		var fields map[string]any
		if err := json.Unmarshal(e.FieldsV1.GetRawBytes(), &fields); err != nil {
			continue // an entry the API server wrote and kfed cannot read: the values decide
		}
		if e.Operation != metav1.ManagedFieldsOperationApply {
			fields = userKeyMaps(fields)
		}
		if droppedField(fields, desired.Object, live.Object, "", ignored) {
			return true
		}
	}
	return false
}

// userKeyMaps keeps, of a FieldsV1 tree, the maps whose keys are the user's: metadata.labels,
// metadata.annotations, data and binaryData.
func userKeyMaps(fields map[string]any) map[string]any {
	out := map[string]any{}
	if md, ok := fields["f:metadata"].(map[string]any); ok {
		keep := map[string]any{}
		for _, k := range []string{"f:labels", "f:annotations"} {
			if v, ok := md[k]; ok {
				keep[k] = v
			}
		}
		out["f:metadata"] = keep
	}
	for _, k := range []string{"f:data", "f:binaryData"} {
		if v, ok := fields[k]; ok {
			out[k] = v
		}
	}
	return out
}

// droppedField walks a FieldsV1 tree ("f:<name>" children of maps; "k:", "v:" and "i:" of lists
// are not followed) beside want and got and tells whether it names a map field got has and want
// lacks.
func droppedField(fields map[string]any, want, got any, path string, ignored []string) bool {
	w, ok := want.(map[string]any)
	if !ok {
		return false // a scalar or a list: its value is compared by subset
	}
	g, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, child := range fields {
		name, ok := strings.CutPrefix(k, "f:")
		if !ok {
			continue
		}
		p := join(path, name)
		if slices.Contains(ignored, p) || p == "spec.replicas" {
			// spec.replicas absent from desired is retain-replicas: the member's to keep.
			continue
		}
		gv, has := g[name]
		if !has || gv == nil {
			continue
		}
		wv, present := w[name]
		if !present {
			return true
		}
		if c, ok := child.(map[string]any); ok && droppedField(c, wv, gv, p, ignored) {
			return true
		}
	}
	return false
}
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// scalarEqual compares two JSON scalars; numbers compare by value whatever their Go type.
func scalarEqual(a, b any) bool {
	if x, ok := integer(a); ok {
		if y, ok := integer(b); ok {
			return x == y
		}
	}
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	if _, ok := number(b); ok {
		return false
	}
	return reflect.DeepEqual(a, b)
}

// integer returns a JSON integer as an int64.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	}
	return 0, false
}

// number returns a JSON number as a float64.
func number(v any) (float64, bool) {
	if n, ok := integer(v); ok {
		return float64(n), true
	}
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}
