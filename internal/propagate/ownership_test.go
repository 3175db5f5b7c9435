package propagate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func fields(raw string) *metav1.FieldsV1 { return metav1.NewFieldsV1(raw) }

func TestApplyOwnership(t *testing.T) {
	kfedUpdate := metav1.ManagedFieldsEntry{Manager: "kfed", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
		FieldsType: "FieldsV1", FieldsV1: fields(`{"f:data":{"f:a":{}}}`)}
	kfedApply := metav1.ManagedFieldsEntry{Manager: "kfed", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1",
		FieldsType: "FieldsV1", FieldsV1: fields(`{"f:data":{"f:b":{}}}`)}
	other := metav1.ManagedFieldsEntry{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
		FieldsType: "FieldsV1", FieldsV1: fields(`{"f:data":{"f:c":{}}}`)}
	kfedStatus := metav1.ManagedFieldsEntry{Manager: "kfed", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
		Subresource: "status", FieldsType: "FieldsV1", FieldsV1: fields(`{"f:status":{}}`)}

	t.Run("an Update entry becomes the Apply entry", func(t *testing.T) {
		in := []metav1.ManagedFieldsEntry{other, kfedUpdate}
		out, changed, err := ApplyOwnership(in, "kfed")
		if err != nil || !changed {
			t.Fatalf("changed %v, err %v; want a change", changed, err)
		}
		if len(out) != 2 || out[0].Manager != "kubectl-edit" || out[0].Operation != metav1.ManagedFieldsOperationUpdate {
			t.Fatalf("other managers must stay as they are: %+v", out)
		}
		if out[1].Operation != metav1.ManagedFieldsOperationApply || out[1].FieldsV1.GetRawString() != `{"f:data":{"f:a":{}}}` {
			t.Errorf("kfed's entry = %+v, want operation Apply with the fields it had", out[1])
		}
		if in[1].Operation != metav1.ManagedFieldsOperationUpdate {
			t.Error("the input was modified")
		}
	})
	t.Run("an Update entry merges into an existing Apply entry", func(t *testing.T) {
		out, changed, err := ApplyOwnership([]metav1.ManagedFieldsEntry{kfedApply, other, kfedUpdate}, "kfed")
		if err != nil || !changed {
			t.Fatalf("changed %v, err %v; want a change", changed, err)
		}
		if len(out) != 2 || out[0].Operation != metav1.ManagedFieldsOperationApply || out[1].Manager != "kubectl-edit" {
			t.Fatalf("want kfed's Apply entry and the other manager's, got %+v", out)
		}
		if got, want := out[0].FieldsV1.GetRawString(), `{"f:data":{"f:a":{},"f:b":{}}}`; got != want {
			t.Errorf("kfed's fields = %s, want %s", got, want)
		}
	})
	t.Run("nothing to hand over", func(t *testing.T) {
		for _, in := range [][]metav1.ManagedFieldsEntry{nil, {kfedApply, other}, {kfedStatus}} {
			if _, changed, err := ApplyOwnership(in, "kfed"); changed || err != nil {
				t.Errorf("%+v: changed %v, err %v; want neither", in, changed, err)
			}
		}
	})
	t.Run("fields that do not parse", func(t *testing.T) {
		bad := kfedUpdate
		bad.FieldsV1 = fields(`{"f:data":`)
		if _, _, err := ApplyOwnership([]metav1.ManagedFieldsEntry{kfedApply, bad}, "kfed"); err == nil {
			t.Error("want an error for fields that are not JSON")
		}
	})
}
