package member

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
)

// trimManagedFields returns a cache transform that drops every managedFields entry of an object
// except those of the field manager keep (all of them when keep is empty). managedFields are
// often the larger part of a small object's metadata, and a consumer reads at most its own.
func trimManagedFields(keep string) toolscache.TransformFunc {
	return func(obj any) (any, error) {
		o, ok := obj.(metav1.Object)
		if !ok {
			return obj, nil // a tombstone (DeletedFinalStateUnknown) holds what was cached
		}
		entries := o.GetManagedFields()
		if len(entries) == 0 {
			return obj, nil
		}
		var kept []metav1.ManagedFieldsEntry
		if keep != "" {
			kept = slices.DeleteFunc(slices.Clone(entries), func(e metav1.ManagedFieldsEntry) bool { return e.Manager != keep })
		}
		if len(kept) == 0 {
			kept = nil // an unstructured object then has no managedFields at all
		}
		o.SetManagedFields(kept)
		return obj, nil
	}
}
