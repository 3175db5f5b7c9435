package propagate

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

// planned is what a test compares of a MemberAction: the action and the status, with the
// object reduced to whether it is the desired copy or the live one.
type planned struct {
	Action   Action
	HandOver bool
	Object   string // "desired", "live" or ""
	Status   v1alpha1.ClusterStatus
	Retry    bool
	Blocked  bool
}

func summarize(a MemberAction, live *unstructured.Unstructured) planned {
	p := planned{Action: a.Action, HandOver: a.HandOver, Status: a.Status, Retry: a.Retry, Blocked: a.Blocked}
	switch {
	case a.Object == nil:
	case live != nil && a.Object == live:
		p.Object = "live"
	default:
		p.Object = "desired"
	}
	return p
}

// copyOf returns the desired copy of obj in cluster c with the given replicas, as the member
// would hold it, with extra changes applied.
func copyOf(t *testing.T, obj Federated, c Cluster, replicas *int32, mods ...func(*unstructured.Unstructured)) *unstructured.Unstructured {
	t.Helper()
	u, err := Desired(obj, Target{Cluster: c, Replicas: replicas})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		m(u)
	}
	return u
}

func withStatus(ready, replicas int64) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(u.Object, ready, "status", "readyReplicas")
		_ = unstructured.SetNestedField(u.Object, replicas, "status", "replicas")
	}
}

func withManagedFields(op metav1.ManagedFieldsOperationType) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: FieldOwner, Operation: op, APIVersion: "apps/v1",
			FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:spec":{}}`)}})
	}
}

func withImage(image string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		containers[0].(map[string]any)["image"] = image
		_ = unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers")
	}
}

func notOurs(u *unstructured.Unstructured) {
	u.SetLabels(map[string]string{"app": "web"})
	u.SetAnnotations(nil)
}

var errTransient = errors.New("connection reset by peer")

// TestPlanMembers covers every branch of the member decision tree:
//
//	selected: not Ready; override failed; kind not served; cluster-scoped kind for a namespaced
//	object; namespaced kind for a cluster-scoped object (TestPlanMembersRefusesANamespacedKindToAClusterScopedObject); read failed (retried); read forbidden
//	(not retried); no copy (create); a copy kfed did not write (AlreadyExists); the same, adopted;
//	a matching copy (nothing); a differing copy written by create (hand over, then apply); a
//	differing copy already applied (apply); a scale-down held (Pending);
//	not selected: a copy kfed wrote (delete); a copy it did not write (nothing); a cluster not
//	Ready (nothing, not blocking).
func TestPlanMembers(t *testing.T) {
	three := ptr.To[int32](3)
	badOverride := func(o *v1alpha1.FederatedDeployment) {
		o.Spec.Overrides = []v1alpha1.ClusterOverride{{ClusterName: us.Name, Patches: []v1alpha1.Patch{
			{Op: v1alpha1.PatchOpReplace, Path: "/spec/nothing/here", Value: value(1)},
		}}}
	}
	adopt := func(o *v1alpha1.FederatedDeployment) {
		o.Annotations = map[string]string{v1alpha1.AnnotationAdopt: "true"}
	}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web", errors.New("no"))

	tests := []struct {
		name       string
		obj        *v1alpha1.FederatedDeployment
		selected   bool
		member     Member
		live       func(*testing.T, Federated) *unstructured.Unstructured
		held       string
		holdDelete string
		want       planned
	}{
		{
			name: "a selected cluster that is not Ready gets nothing", selected: true,
			member: Member{Ready: false, NotReadyMessage: "The cluster is not Ready"},
			want: planned{Action: ActionNone, Status: v1alpha1.ClusterStatus{Name: us.Name, Phase: v1alpha1.PhaseClusterNotReady,
				Message: "The cluster is not Ready"}},
		},
		{
			name: "a selected cluster kfed's read of which is slow to answer waits", selected: true,
			member: Member{Ready: false, Waiting: true, NotReadyMessage: "Waiting for kfed's read"},
			want: planned{Action: ActionNone, Status: v1alpha1.ClusterStatus{Name: us.Name, Phase: v1alpha1.PhasePending,
				Message: "Waiting for kfed's read"}},
		},
		{
			name: "an override that does not apply fails there", selected: true, obj: fdeploy(badOverride),
			member: Member{Ready: true, Scope: ScopeNamespaced},
			want: planned{Action: ActionNone, Status: v1alpha1.ClusterStatus{Name: us.Name, Phase: v1alpha1.PhaseFailed,
				Reason: v1alpha1.ReasonOverrideFailed,
				Message: `spec.overrides[0].patches[0] (replace /spec/nothing/here): replace operation does not apply: ` +
					`doc is missing path: /spec/nothing/here: missing value`}},
		},
		{
			name: "a kind the member does not serve", selected: true,
			member: Member{Ready: true, Scope: ScopeNotServed},
			want: planned{Action: ActionNone, Status: v1alpha1.ClusterStatus{Name: us.Name, Phase: v1alpha1.PhaseFailed,
				Reason:  v1alpha1.ReasonKindNotServed,
				Message: "The cluster does not serve apps/v1 Deployment (is its CustomResourceDefinition installed there?)"}},
		},
		{
			name: "a kind that is cluster-scoped in the member is refused to a namespaced object", selected: true,
			member: Member{Ready: true, Scope: ScopeCluster},
			want: planned{Action: ActionNone, Status: v1alpha1.ClusterStatus{Name: us.Name, Phase: v1alpha1.PhaseFailed,
				Reason: v1alpha1.ReasonClusterScoped,
				Message: "Deployment is cluster-scoped in the cluster, and a FederatedDeployment only writes into its own namespace; " +
					"use a ClusterFederatedObject"}},
		},
		{
			name: "a copy that could not be read is retried", selected: true,
			member: Member{Ready: true, Scope: ScopeNamespaced, ReadErr: errTransient},
			want: planned{Action: ActionNone, Retry: true, Status: v1alpha1.ClusterStatus{Name: us.Name, Phase: v1alpha1.PhaseFailed,
				Message: errTransient.Error()}},
		},
		{
			name: "a read that is forbidden fails with a reason and is not retried", selected: true,
			member: Member{Ready: true, Scope: ScopeNamespaced, ReadErr: forbidden},
			want: planned{Action: ActionNone, Status: v1alpha1.ClusterStatus{Name: us.Name, Phase: v1alpha1.PhaseFailed,
				Reason: v1alpha1.ReasonForbidden, Message: forbidden.Error()}},
		},
		{
			name: "no copy: create it", selected: true,
			member: Member{Ready: true, Scope: ScopeNamespaced},
			want: planned{Action: ActionCreate, Object: "desired", Status: v1alpha1.ClusterStatus{Name: us.Name,
				Phase: v1alpha1.PhasePropagated, Replicas: 3}},
		},
		{
			name: "a copy kfed did not write is left alone", selected: true,
			member: Member{Ready: true, Scope: ScopeNamespaced},
			live: func(t *testing.T, o Federated) *unstructured.Unstructured {
				return copyOf(t, o, us, three, notOurs)
			},
			want: planned{Action: ActionNone, Status: v1alpha1.ClusterStatus{Name: us.Name, Phase: v1alpha1.PhaseAlreadyExists,
				Message: `Deployment shop/web exists in the cluster and kfed did not create it; annotate the FederatedDeployment with ` +
					`federation.kfed.io/adopt: "true" to take it over`}},
		},
		{
			name: "a copy kfed did not write is taken over when the object says adopt", selected: true, obj: fdeploy(adopt),
			member: Member{Ready: true, Scope: ScopeNamespaced},
			live: func(t *testing.T, o Federated) *unstructured.Unstructured {
				return copyOf(t, o, us, three, notOurs)
			},
			want: planned{Action: ActionApply, Object: "desired", Status: v1alpha1.ClusterStatus{Name: us.Name,
				Phase: v1alpha1.PhasePropagated, Replicas: 3}},
		},
		{
			name: "a copy that matches: nothing to write, counts reported", selected: true,
			member: Member{Ready: true, Scope: ScopeNamespaced},
			live: func(t *testing.T, o Federated) *unstructured.Unstructured {
				return copyOf(t, o, us, three, withStatus(2, 3))
			},
			want: planned{Action: ActionNone, Status: v1alpha1.ClusterStatus{Name: us.Name, Phase: v1alpha1.PhasePropagated,
				Replicas: 3, ReadyReplicas: 2}},
		},
		{
			name: "a differing copy kfed created: hand over, then apply", selected: true,
			member: Member{Ready: true, Scope: ScopeNamespaced},
			live: func(t *testing.T, o Federated) *unstructured.Unstructured {
				return copyOf(t, o, us, three, withImage("nginx:1.0"), withManagedFields(metav1.ManagedFieldsOperationUpdate))
			},
			want: planned{Action: ActionApply, HandOver: true, Object: "desired", Status: v1alpha1.ClusterStatus{Name: us.Name,
				Phase: v1alpha1.PhasePropagated, Replicas: 3}},
		},
		{
			name: "a differing copy kfed applied before: apply", selected: true,
			member: Member{Ready: true, Scope: ScopeNamespaced},
			live: func(t *testing.T, o Federated) *unstructured.Unstructured {
				return copyOf(t, o, us, three, withImage("nginx:1.0"), withManagedFields(metav1.ManagedFieldsOperationApply))
			},
			want: planned{Action: ActionApply, Object: "desired", Status: v1alpha1.ClusterStatus{Name: us.Name,
				Phase: v1alpha1.PhasePropagated, Replicas: 3}},
		},
		{
			name: "a scale-down that waits reports Pending", selected: true, held: "Scaling down waits",
			member: Member{Ready: true, Scope: ScopeNamespaced},
			live: func(t *testing.T, o Federated) *unstructured.Unstructured {
				return copyOf(t, o, us, ptr.To[int32](5), withStatus(5, 5))
			},
			want: planned{Action: ActionApply, Object: "desired", Status: v1alpha1.ClusterStatus{Name: us.Name,
				Phase: v1alpha1.PhasePending, Message: "Scaling down waits", Replicas: 3, ReadyReplicas: 5}},
		},
		{
			name:   "a cluster no longer selected loses the copy kfed wrote",
			member: Member{Ready: true, Scope: ScopeNamespaced},
			live: func(t *testing.T, o Federated) *unstructured.Unstructured {
				return copyOf(t, o, us, three)
			},
			want: planned{Action: ActionDelete, Object: "live"},
		},
		{
			name:   "a cluster no longer selected keeps its copy while DNS lets go of it (drain before move)",
			member: Member{Ready: true, Scope: ScopeNamespaced}, holdDelete: "Scaling down waits until the cluster is out of the DNS answers",
			live: func(t *testing.T, o Federated) *unstructured.Unstructured {
				return copyOf(t, o, us, three)
			},
			want: planned{Action: ActionNone},
		},
		{
			name:   "a cluster no longer selected keeps an object kfed did not write",
			member: Member{Ready: true, Scope: ScopeNamespaced},
			live: func(t *testing.T, o Federated) *unstructured.Unstructured {
				return copyOf(t, o, us, three, notOurs)
			},
			want: planned{Action: ActionNone},
		},
		{
			name:   "a cluster no longer selected and not Ready is cleaned up later, without blocking anything",
			member: Member{Ready: false, Previous: v1alpha1.ClusterStatus{Name: us.Name, Phase: v1alpha1.PhasePropagated}},
			want:   planned{Action: ActionNone},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := tt.obj
			if obj == nil {
				obj = fdeploy()
			}
			m := tt.member
			m.Cluster = us
			if tt.live != nil {
				m.Live = tt.live(t, obj)
			}
			p := Plan{Object: obj, Selected: map[string]bool{us.Name: tt.selected}, Members: []Member{m},
				Replicas: map[string]int32{us.Name: 3}}
			if tt.held != "" {
				p.Held = map[string]string{us.Name: tt.held}
			}
			if tt.holdDelete != "" {
				p.HoldDelete = map[string]string{us.Name: tt.holdDelete}
			}
			got := PlanMembers(p)
			if len(got) != 1 {
				t.Fatalf("got %d actions, want 1", len(got))
			}
			if diff := cmp.Diff(tt.want, summarize(got[0], m.Live)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if got[0].Object != nil && got[0].Action != ActionDelete {
				want := copyOf(t, obj, us, three)
				if diff := cmp.Diff(want.Object, got[0].Object.Object); diff != "" {
					t.Errorf("desired copy (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestPlanMembersCoversEveryCluster checks that the plan has one action per joined cluster, in
// their order, and builds each copy for its own cluster (overrides by name and label).
func TestPlanMembersCoversEveryCluster(t *testing.T) {
	obj := fdeploy()
	members := []Member{
		{Cluster: asia, Ready: true, Scope: ScopeNamespaced},
		{Cluster: eu, Ready: true, Scope: ScopeNamespaced},
		{Cluster: us, Ready: true, Scope: ScopeNamespaced},
	}
	replicas := map[string]int32{asia.Name: 3, eu.Name: 3, us.Name: 4}
	got := PlanMembers(Plan{Object: obj, Members: members, Replicas: replicas,
		Selected: map[string]bool{asia.Name: true, eu.Name: true, us.Name: true}})
	for i, c := range []Cluster{asia, eu, us} {
		if got[i].Cluster != c.Name || got[i].Action != ActionCreate {
			t.Fatalf("action %d: %s %s, want Create in %s", i, got[i].Action, got[i].Cluster, c.Name)
		}
		want := copyOf(t, obj, c, ptr.To(replicas[c.Name]))
		if diff := cmp.Diff(want.Object, got[i].Object.Object); diff != "" {
			t.Errorf("copy for %s (-want +got):\n%s", c.Name, diff)
		}
	}
}

// TestDeleteAction covers the deletion of a federated object's copies: only a copy kfed wrote
// is deleted, and only a member that may hold one blocks the deletion.
func TestDeleteAction(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}, "x",
		errors.New("no"))
	tests := []struct {
		name   string
		member Member
		live   func(*testing.T, Federated) *unstructured.Unstructured
		want   planned
	}{
		{
			name:   "an unreachable member that held a copy blocks the deletion",
			member: Member{Ready: false, Previous: v1alpha1.ClusterStatus{Phase: v1alpha1.PhasePropagated}},
			want:   planned{Action: ActionNone, Blocked: true},
		},
		{
			name:   "an unreachable member that was refused the copy does not block",
			member: Member{Ready: false, Previous: v1alpha1.ClusterStatus{Phase: v1alpha1.PhaseFailed, Reason: v1alpha1.ReasonKindNotServed}},
			want:   planned{Action: ActionNone},
		},
		{
			name:   "an unreachable member kfed never reached does not block",
			member: Member{Ready: false},
			want:   planned{Action: ActionNone},
		},
		{
			name:   "a kind the member does not serve holds nothing",
			member: Member{Ready: true, Scope: ScopeNotServed},
			want:   planned{Action: ActionNone},
		},
		{
			name:   "a cluster-scoped kind was never written for a namespaced object",
			member: Member{Ready: true, Scope: ScopeCluster},
			want:   planned{Action: ActionNone},
		},
		{
			name:   "a kind kfed may not read was never written",
			member: Member{Ready: true, Scope: ScopeNamespaced, ReadErr: forbidden},
			want:   planned{Action: ActionNone},
		},
		{
			name:   "a read that failed blocks and is retried",
			member: Member{Ready: true, Scope: ScopeNamespaced, ReadErr: errTransient},
			want: planned{Action: ActionNone, Blocked: true, Retry: true, Status: v1alpha1.ClusterStatus{Name: us.Name,
				Phase: v1alpha1.PhaseFailed, Message: errTransient.Error()}},
		},
		{
			name:   "no copy: nothing to delete",
			member: Member{Ready: true, Scope: ScopeNamespaced},
			want:   planned{Action: ActionNone},
		},
		{
			name:   "a copy kfed did not write is kept",
			member: Member{Ready: true, Scope: ScopeNamespaced},
			live: func(t *testing.T, o Federated) *unstructured.Unstructured {
				return copyOf(t, o, us, nil, notOurs)
			},
			want: planned{Action: ActionNone},
		},
		{
			name:   "the copy kfed wrote is deleted",
			member: Member{Ready: true, Scope: ScopeNamespaced},
			live: func(t *testing.T, o Federated) *unstructured.Unstructured {
				return copyOf(t, o, us, nil)
			},
			want: planned{Action: ActionDelete, Object: "live"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := fdeploy()
			m := tt.member
			m.Cluster = us
			if tt.live != nil {
				m.Live = tt.live(t, obj)
			}
			if diff := cmp.Diff(tt.want, summarize(DeleteAction(obj, &m), m.Live)); diff != "" {
				t.Errorf("deletion (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHoldShrinks checks that clusters give replicas up only as far as the ready replicas beyond
// the request allow.
func TestHoldShrinks(t *testing.T) {
	tests := []struct {
		name      string
		planned   map[string]int32
		current   map[string]int64
		ready     int64
		wantWrite map[string]int32
		wantHeld  []string
	}{
		{
			name:    "nothing ready beyond the request: every scale-down waits",
			planned: map[string]int32{"a": 500, "b": 250, "c": 250}, current: map[string]int64{"a": 500, "b": 334, "c": 333},
			ready:     1000,
			wantWrite: map[string]int32{"a": 500, "b": 334, "c": 333}, wantHeld: []string{"b", "c"},
		},
		{
			name:    "some ready beyond the request: the first clusters by name shrink that far",
			planned: map[string]int32{"a": 500, "b": 250, "c": 250}, current: map[string]int64{"a": 500, "b": 334, "c": 333},
			ready:     1100,
			wantWrite: map[string]int32{"a": 500, "b": 250, "c": 317}, wantHeld: []string{"c"},
		},
		{
			name:    "enough ready: the plan as it is",
			planned: map[string]int32{"a": 500, "b": 250, "c": 250}, current: map[string]int64{"a": 500, "b": 334, "c": 333},
			ready:     1167,
			wantWrite: map[string]int32{"a": 500, "b": 250, "c": 250},
		},
		{
			name:    "a lower request scales down at once",
			planned: map[string]int32{"a": 100, "b": 100}, current: map[string]int64{"a": 500, "b": 500},
			ready:     1000,
			wantWrite: map[string]int32{"a": 100, "b": 100},
		},
		{
			name:    "growth only: nothing to hold",
			planned: map[string]int32{"a": 500, "b": 500}, current: map[string]int64{"a": 0, "b": 500},
			ready:     500,
			wantWrite: map[string]int32{"a": 500, "b": 500},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total := int64(0)
			for _, n := range tt.planned {
				total += int64(n)
			}
			write, held := HoldShrinks(tt.planned, tt.current, tt.ready, total)
			if diff := cmp.Diff(tt.wantWrite, write); diff != "" {
				t.Errorf("counts written (-want +got):\n%s", diff)
			}
			var gotHeld []string
			for _, name := range []string{"a", "b", "c"} {
				if _, ok := held[name]; ok {
					gotHeld = append(gotHeld, name)
				}
			}
			if diff := cmp.Diff(tt.wantHeld, gotHeld); diff != "" {
				t.Errorf("held (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlanMembersRefusesANamespacedKindToAClusterScopedObject covers the branch of the decision
// tree that a FederatedDeployment cannot reach: a ClusterFederatedObject whose kind the member
// serves namespaced gets nothing there.
func TestPlanMembersRefusesANamespacedKindToAClusterScopedObject(t *testing.T) {
	obj := &v1alpha1.ClusterFederatedObject{
		ObjectMeta: metav1.ObjectMeta{Name: "cm"},
		Spec: v1alpha1.ClusterFederatedObjectSpec{Template: manifest(map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cm"},
		})},
	}
	got := PlanMembers(Plan{Object: obj, Selected: map[string]bool{us.Name: true},
		Members: []Member{{Cluster: us, Ready: true, Scope: ScopeNamespaced}}})
	want := planned{Action: ActionNone, Status: v1alpha1.ClusterStatus{Name: us.Name, Phase: v1alpha1.PhaseFailed,
		Reason:  v1alpha1.ReasonInvalid,
		Message: "ConfigMap is namespaced in the cluster; a ClusterFederatedObject is for cluster-scoped kinds, use a FederatedObject"}}
	if diff := cmp.Diff(want, summarize(got[0], nil)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}
