package kinds_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/kinds"
	"github.com/kfed-io/kfed/internal/propagate"
)

// TestManagerRBACCoversEveryKind checks the manager's ClusterRole, generated from the RBAC
// markers, against the table: every federated kind can be read, watched and patched, with its
// status and finalizers. A kind added to the table without its markers fails here.
func TestManagerRBACCoversEveryKind(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role *rbacv1.ClusterRole
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var r rbacv1.ClusterRole
		if err := yaml.Unmarshal([]byte(doc), &r); err != nil {
			t.Fatal(err)
		}
		if r.Kind == "ClusterRole" && r.Name == "kfed-manager" {
			role = &r
		}
	}
	if role == nil {
		t.Fatal("config/rbac/role.yaml has no ClusterRole kfed-manager")
	}
	allows := func(resource, verb string) bool {
		for _, rule := range role.Rules {
			if slices.Contains(rule.APIGroups, v1alpha1.GroupVersion.Group) && slices.Contains(rule.Resources, resource) &&
				slices.Contains(rule.Verbs, verb) {
				return true
			}
		}
		return false
	}
	for _, k := range kinds.All {
		for resource, verbs := range map[string][]string{
			k.Plural:                 {"get", "list", "watch", "patch", "update"},
			k.Plural + "/status":     {"get", "patch", "update"},
			k.Plural + "/finalizers": {"update"},
		} {
			for _, verb := range verbs {
				if !allows(resource, verb) {
					t.Errorf("the manager may not %s %s (%s): add it to the RBAC markers in controllers/", verb, resource, k.Name)
				}
			}
		}
	}
}

// TestTableNamesMatchTheTypes checks every entry's name against its type, its plural against the
// generated CRDs, and that the typed kinds name a native kind.
func TestTableNamesMatchTheTypes(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range kinds.All {
		if seen[k.Name] {
			t.Errorf("%s is in the table twice", k.Name)
		}
		seen[k.Name] = true
		if got := k.New().FederatedKind(); got != k.Name {
			t.Errorf("entry %s makes %s objects", k.Name, got)
		}
		crd := filepath.Join("..", "..", "config", "crd", "bases", v1alpha1.GroupVersion.Group+"_"+k.Plural+".yaml")
		if _, err := os.Stat(crd); err != nil {
			t.Errorf("%s: plural %s names no CRD: %v", k.Name, k.Plural, err)
		}
		if gvk := k.New().TargetGVK(); k.Typed && gvk.Kind == "" {
			t.Errorf("typed kind %s has no native kind", k.Name)
		}
		if _, ok := kinds.ByName(k.Name); !ok {
			t.Errorf("ByName(%s) finds nothing", k.Name)
		}
	}
}

// TestFromNativeMakesTheEntrysKind: every typed entry converts a native object of its kind to
// an object of its own kind, named as the native one; the others convert nothing.
func TestFromNativeMakesTheEntrysKind(t *testing.T) {
	for _, k := range kinds.All {
		if !k.Typed {
			if k.FromNative != nil {
				t.Errorf("%s is not typed but converts native objects", k.Name)
			}
			continue
		}
		gvk := k.New().TargetGVK()
		u := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "web", "namespace": "shop"}}}
		u.SetGroupVersionKind(gvk)
		obj, _, err := k.FromNative(u)
		if err != nil {
			t.Errorf("%s from a %s: %v", k.Name, gvk.Kind, err)
			continue
		}
		if got := obj.GetObjectKind().GroupVersionKind(); got != v1alpha1.GroupVersion.WithKind(k.Name) {
			t.Errorf("%s from a %s makes %s", k.Name, gvk.Kind, got)
		}
		if obj.GetName() != "web" || obj.GetNamespace() != "shop" {
			t.Errorf("%s from a %s is named %s/%s, want shop/web", k.Name, gvk.Kind, obj.GetNamespace(), obj.GetName())
		}
		u.Object["nonsense"] = true
		if _, _, err := k.FromNative(u); err == nil {
			t.Errorf("%s from a %s keeps quiet about a field it would lose", k.Name, gvk.Kind)
		}
	}
}

// TestReplicaScheduledKindsAreTheKindsWithReplicaScheduling: a kind whose spec has
// replicaScheduling gives the scheduler its template's replicas (propagate.ReplicaScheduled),
// and no other kind does, so a kind added with replicaScheduling cannot miss its total.
func TestReplicaScheduledKindsAreTheKindsWithReplicaScheduling(t *testing.T) {
	for _, k := range kinds.All {
		obj := k.New()
		spec := reflect.ValueOf(obj).Elem().FieldByName("Spec")
		has := spec.IsValid() && spec.FieldByName("ReplicaScheduling").IsValid()
		_, scheduled := obj.(propagate.ReplicaScheduled)
		if has != scheduled {
			t.Errorf("%s: spec.replicaScheduling %v, implements propagate.ReplicaScheduled %v", k.Name, has, scheduled)
		}
	}
}
