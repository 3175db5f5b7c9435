package propagate

import (
	"bytes"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// ApplyOwnership hands the fields a manager owns through plain writes (operation Update, on the
// main resource) over to its server-side apply entry, and returns the managedFields to write
// back; changed is false when the manager has no such entry.
//
// kfed creates a member object with a plain create (cheaper for the API server than an apply,
// and it fails when the name is taken, where an apply would take the object over), which records
// kfed's fields under an Update entry. Before kfed first applies to that object, its fields move
// to its Apply entry: otherwise a field later dropped from the template would stay owned by
// kfed's Update entry and never be removed from the member.
func ApplyOwnership(entries []metav1.ManagedFieldsEntry, manager string) (_ []metav1.ManagedFieldsEntry, changed bool, _ error) {
	isUpdate := func(e metav1.ManagedFieldsEntry) bool {
		return e.Manager == manager && e.Operation == metav1.ManagedFieldsOperationUpdate && e.Subresource == ""
	}
	u := slices.IndexFunc(entries, isUpdate)
	if u < 0 {
		return entries, false, nil
	}
	out := slices.Clone(entries)
	a := slices.IndexFunc(out, func(e metav1.ManagedFieldsEntry) bool {
		return e.Manager == manager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == ""
	})
	if a < 0 {
		out[u].Operation = metav1.ManagedFieldsOperationApply
		return out, true, nil
	}
	merged, err := unionFields(out[a].FieldsV1, out[u].FieldsV1)
	if err != nil {
		return nil, false, fmt.Errorf("merging the fields of %s's managedFields entries: %w", manager, err)
	}
	out[a].FieldsV1 = merged
	return slices.Delete(out, u, u+1), true, nil
}

// unionFields returns the fields of both sets.
func unionFields(a, b *metav1.FieldsV1) (*metav1.FieldsV1, error) {
	var sa, sb fieldpath.Set
	for _, p := range []struct {
		f *metav1.FieldsV1
		s *fieldpath.Set
	}{{a, &sa}, {b, &sb}} {
		if p.f == nil || len(p.f.GetRawBytes()) == 0 {
			continue
		}
		if err := p.s.FromJSON(bytes.NewReader(p.f.GetRawBytes())); err != nil {
			return nil, err
		}
	}
	raw, err := sa.Union(&sb).ToJSON()
	if err != nil {
		return nil, err
	}
	return metav1.NewFieldsV1(string(raw)), nil
}
