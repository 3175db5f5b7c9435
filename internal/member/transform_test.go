package member

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	toolscache "k8s.io/client-go/tools/cache"
)

func TestTrimManagedFields(t *testing.T) {
	entries := func(managers ...string) []metav1.ManagedFieldsEntry {
		out := make([]metav1.ManagedFieldsEntry, 0, len(managers))
		for _, m := range managers {
			out = append(out, metav1.ManagedFieldsEntry{Manager: m, Operation: metav1.ManagedFieldsOperationUpdate})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		keep string
		in   []metav1.ManagedFieldsEntry
		want []metav1.ManagedFieldsEntry
	}{
		{"drop all", "", entries("kfed", "kubectl"), nil},
		{"keep one manager", "kfed", entries("kube-controller-manager", "kfed", "kubectl", "kfed"), entries("kfed", "kfed")},
		{"nothing of the manager", "kfed", entries("kubectl"), nil},
		{"none at all", "kfed", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typed := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{ManagedFields: tc.in}}
			u := &unstructured.Unstructured{Object: map[string]any{}}
			u.SetManagedFields(tc.in)
			for _, obj := range []metav1.Object{typed, u, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ManagedFields: tc.in}}} {
				out, err := trimManagedFields(tc.keep)(obj)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, out.(metav1.Object).GetManagedFields()); diff != "" {
					t.Errorf("%T: managedFields (-want +got):\n%s", obj, diff)
				}
			}
		})
	}
	tomb := toolscache.DeletedFinalStateUnknown{Key: "a/b"}
	if out, err := trimManagedFields("")(tomb); err != nil || out != any(tomb) {
		t.Errorf("a tombstone is passed through: %v, %v", out, err)
	}
}
