package propagate

import (
	"reflect"
	"slices"

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
// kfed writes with server-side apply, so a true answer means a write would change nothing.
func Matches(desired, live *unstructured.Unstructured) bool {
	if desired == nil || live == nil {
		return desired == nil && live == nil
	}
	ignored := memberOwned
	if desired.GetAPIVersion() == "v1" && desired.GetKind() == "Service" {
		ignored = append(append([]string{}, memberOwned...), serviceMemberOwned...)
	}
	return subset(desired.Object, live.Object, "", ignored)
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
