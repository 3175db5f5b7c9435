package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/test/framework"
	"github.com/kfed-io/kfed/test/gen"
)

// joinAll joins every member under its own name and waits until each is Ready and connected.
func joinAll(t *testing.T) {
	t.Helper()
	names := make([]string, 0, len(fed.Members))
	for _, m := range fed.Members {
		names = append(names, m.Name)
	}
	joinReady(t, names...)
}

// joinReady joins the members named under their own names and waits until each is Ready and
// connected.
func joinReady(t *testing.T, names ...string) {
	t.Helper()
	g := NewWithT(t)
	for _, name := range names {
		join(t, name, kubeconfigOf(fed.Member(name)), v1alpha1.FederatedClusterSpec{})
	}
	for _, name := range names {
		g.Eventually(func(g Gomega) {
			g.Expect(readyOf(g, name).Status).To(Equal(metav1.ConditionTrue))
			_, err := registry.Client(name)
			g.Expect(err).NotTo(HaveOccurred())
		}).WithTimeout(time.Minute).Should(Succeed(), "%s Ready and connected", name)
	}
}

// hostNamespace creates a namespace in the host for one test and deletes it afterwards.
func hostNamespace(t *testing.T, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := fed.Host.Client.Create(t.Context(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return name
}

// deleteAndWait deletes a federated object and waits until it is gone (finalizer released).
func deleteAndWait(t *testing.T, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	if err := fed.Host.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func() bool {
		return apierrors.IsNotFound(fed.Host.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj))
	}).WithTimeout(30 * time.Second).Should(BeTrue())
}

// createPropagated creates a FederatedConfigMap in the host, deletes it when the test ends, and
// waits until its copy is in every member it places (all of them when it names none).
func createPropagated(t *testing.T, fcm *v1alpha1.FederatedConfigMap) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(fed.Host.Client.Create(t.Context(), fcm)).To(Succeed())
	t.Cleanup(func() { deleteAndWait(t, fcm) })
	members := fed.Members
	if names := fcm.Spec.Placement.Clusters; len(names) > 0 {
		members = nil
		for _, name := range names {
			members = append(members, fed.Member(name))
		}
	}
	g.Eventually(func(g Gomega) {
		for _, m := range members {
			g.Expect(memberConfigMap(g, m, fcm.Namespace, fcm.Name)).NotTo(BeNil(), "in %s", m.Name)
		}
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

func memberConfigMap(g Gomega, m *framework.Cluster, ns, name string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{}
	err := m.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	return cm
}

func federatedReady(g Gomega, obj client.Object, status *v1alpha1.FederatedStatus) {
	g.Expect(fed.Host.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	c := meta.FindStatusCondition(status.Conditions, v1alpha1.ConditionReady)
	g.Expect(c).NotTo(BeNil())
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s", c.Reason, c.Message)
	g.Expect(status.ObservedGeneration).To(Equal(obj.GetGeneration()))
}

func TestConfigMapPropagatesWithPlacementAndOverrides(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "fan-out")
	m0, m1, m2 := fed.Members[0], fed.Members[1], fed.Members[2]
	fcm := gen.FederatedConfigMap(ns, "settings", map[string]string{"color": "blue", "size": "m"},
		gen.TemplateLabels(map[string]string{"app": "web"}),
		gen.Placement(m0.Name, m1.Name),
		gen.Overrides(v1alpha1.ClusterOverride{ClusterName: m1.Name, Patches: []v1alpha1.Patch{
			{Op: v1alpha1.PatchOpReplace, Path: "/data/color", Value: &v1alpha1.JSON{Raw: []byte(`"red"`)}},
		}}),
	)
	g.Expect(fed.Host.Client.Create(t.Context(), fcm)).To(Succeed())
	defer deleteAndWait(t, fcm)

	g.Eventually(func(g Gomega) {
		federatedReady(g, fcm, &fcm.Status)
		g.Expect(fcm.Status.ClusterCount).To(Equal(int32(2)))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	cm0 := memberConfigMap(g, m0, ns, "settings")
	g.Expect(cm0).NotTo(BeNil())
	g.Expect(cm0.Data).To(Equal(map[string]string{"color": "blue", "size": "m"}))
	g.Expect(cm0.Labels).To(HaveKeyWithValue("app", "web"))
	g.Expect(cm0.Labels).To(HaveKeyWithValue(v1alpha1.LabelManaged, "true"))
	g.Expect(cm0.Annotations).To(HaveKeyWithValue(v1alpha1.AnnotationOrigin, "FederatedConfigMap/fan-out/settings"))
	g.Expect(memberConfigMap(g, m1, ns, "settings").Data).To(HaveKeyWithValue("color", "red"), "the override of cluster m1")
	g.Expect(memberConfigMap(g, m2, ns, "settings")).To(BeNil(), "not placed in the third cluster")
	// The namespace was created in the members on demand, labelled managed.
	nsObj := &corev1.Namespace{}
	g.Expect(m0.Client.Get(t.Context(), client.ObjectKey{Name: ns}, nsObj)).To(Succeed())
	g.Expect(nsObj.Labels).To(HaveKeyWithValue(v1alpha1.LabelManaged, "true"))

	// Move it: the copies follow the placement.
	updateHost(t, fcm, func() { fcm.Spec.Placement.Clusters = []string{m2.Name} })
	g.Eventually(func(g Gomega) {
		g.Expect(memberConfigMap(g, m2, ns, "settings")).NotTo(BeNil())
		g.Expect(memberConfigMap(g, m0, ns, "settings")).To(BeNil())
		g.Expect(memberConfigMap(g, m1, ns, "settings")).To(BeNil())
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

func TestDriftInAMemberIsReverted(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "drift")
	m := fed.Members[0]
	fcm := gen.FederatedConfigMap(ns, "pinned", map[string]string{"k": "v"})
	createPropagated(t, fcm)

	cm := memberConfigMap(g, m, ns, "pinned")
	cm.Data["k"] = "edited"
	g.Expect(m.Client.Update(t.Context(), cm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(memberConfigMap(g, m, ns, "pinned").Data).To(HaveKeyWithValue("k", "v"))
	}).WithTimeout(30*time.Second).Should(Succeed(), "an edit in the member is reverted")

	g.Expect(m.Client.Delete(t.Context(), cm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(memberConfigMap(g, m, ns, "pinned")).NotTo(BeNil())
	}).WithTimeout(30*time.Second).Should(Succeed(), "a deletion in the member is undone")
}

// kfed creates a member object with a plain create and applies later changes: a field dropped
// from the template must still go away in the member, and kfed must own its fields through one
// server-side apply entry.
func TestTemplateChangesReachMembers(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "template-changes")
	fcm := gen.FederatedConfigMap(ns, "tuning", map[string]string{"keep": "1", "drop": "2"},
		gen.TemplateLabels(map[string]string{"tier": "gold"}))
	createPropagated(t, fcm)

	updateHost(t, fcm, func() {
		fcm.Spec.Template.Data = map[string]string{"keep": "3"}
		fcm.Spec.Template.Metadata.Labels = nil
	})
	for _, m := range fed.Members {
		g.Eventually(func(g Gomega) {
			cm := memberConfigMap(g, m, ns, "tuning")
			g.Expect(cm).NotTo(BeNil())
			g.Expect(cm.Data).To(Equal(map[string]string{"keep": "3"}), "cluster %s: the dropped key goes", m.Name)
			g.Expect(cm.Labels).NotTo(HaveKey("tier"), "cluster %s: the dropped label goes", m.Name)
			g.Expect(cm.Labels).To(HaveKeyWithValue(v1alpha1.LabelManaged, "true"))
			var kfed []metav1.ManagedFieldsEntry
			for _, e := range cm.ManagedFields {
				if e.Manager == "kfed" {
					kfed = append(kfed, e)
				}
			}
			g.Expect(kfed).To(HaveLen(1), "cluster %s: kfed's managedFields entries", m.Name)
			g.Expect(kfed[0].Operation).To(Equal(metav1.ManagedFieldsOperationApply))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	}
}

// The hand-over of kfed's fields to server-side apply is a patch conditional on the object's
// resourceVersion. When another writer changes the object between kfed's read and that patch,
// the API server answers 422 Invalid: kfed must retry, not report the cluster as bad input.
func TestHandOverThatLosesARaceIsRetried(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "hand-over-race")
	m := fed.Members[0]
	fcm := gen.FederatedConfigMap(ns, "raced", map[string]string{"v": "1"}, gen.Placement(m.Name))
	createPropagated(t, fcm)

	// An operator whose first hand-over patch to the copy is preceded by another writer's update.
	var raced atomic.Bool
	interfere := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPatch && req.Header.Get("Content-Type") == string(types.JSONPatchType) &&
				strings.HasSuffix(req.URL.Path, "/namespaces/"+ns+"/configmaps/raced") && raced.CompareAndSwap(false, true) {
				err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
					cm := &corev1.ConfigMap{}
					if err := m.Client.Get(req.Context(), client.ObjectKey{Namespace: ns, Name: "raced"}, cm); err != nil {
						return err
					}
					cm.Labels["racer"] = "was-here"
					return m.Client.Update(req.Context(), cm)
				})
				if err != nil {
					t.Errorf("the other writer: %v", err)
				}
			}
			return rt.RoundTrip(req)
		})
	}
	replaceOperator(t, fed.Host, controllers.Options{Namespace: operatorNamespace, WrapMemberTransport: interfere})

	// Every status the host shows for the object from now on.
	watcher, err := client.NewWithWatch(fed.Host.Config, client.Options{Scheme: fed.Host.Client.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	w, err := watcher.Watch(t.Context(), &v1alpha1.FederatedConfigMapList{}, client.InNamespace(ns))
	g.Expect(err).NotTo(HaveOccurred())
	defer w.Stop()
	var mu sync.Mutex
	var reasons []string
	go func() {
		for ev := range w.ResultChan() {
			if o, ok := ev.Object.(*v1alpha1.FederatedConfigMap); ok {
				mu.Lock()
				for _, c := range o.Status.Clusters {
					reasons = append(reasons, c.Reason)
				}
				mu.Unlock()
			}
		}
	}()

	updateHost(t, fcm, func() { fcm.Spec.Template.Data["v"] = "2" })
	g.Eventually(func(g Gomega) {
		g.Expect(raced.Load()).To(BeTrue(), "the hand-over patch was sent")
		g.Expect(memberConfigMap(g, m, ns, "raced").Data).To(HaveKeyWithValue("v", "2"))
		federatedReady(g, fcm, &fcm.Status)
	}).WithTimeout(30 * time.Second).Should(Succeed())
	mu.Lock()
	defer mu.Unlock()
	g.Expect(reasons).NotTo(ContainElement(v1alpha1.ReasonInvalid), "a lost race is not bad input")
}

func TestUnmanagedObjectIsLeftAloneUntilAdopted(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "adopt")
	m := fed.Members[0]
	g.Expect(m.Client.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	mine := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shared"}, Data: map[string]string{"owner": "team-a"}}
	g.Expect(m.Client.Create(t.Context(), mine)).To(Succeed())

	fcm := gen.FederatedConfigMap(ns, "shared", map[string]string{"owner": "kfed"}, gen.Placement(m.Name))
	g.Expect(fed.Host.Client.Create(t.Context(), fcm)).To(Succeed())
	defer deleteAndWait(t, fcm)
	g.Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fcm), fcm)).To(Succeed())
		g.Expect(fcm.Status.Clusters).To(HaveLen(1))
		g.Expect(fcm.Status.Clusters[0].Phase).To(Equal(v1alpha1.PhaseAlreadyExists))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(memberConfigMap(g, m, ns, "shared").Data).To(HaveKeyWithValue("owner", "team-a"))
	}).WithTimeout(3*time.Second).Should(Succeed(), "kfed never overwrites what it did not create")

	// One Warning Event says so, once: reconciles that find the same conflict do not repeat it.
	for i := range 2 {
		updateHost(t, fcm, func() { fcm.Labels = map[string]string{"touched": fmt.Sprint(i)} })
		g.Eventually(func(g Gomega) {
			g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fcm), fcm)).To(Succeed())
			g.Expect(fcm.Status.ObservedGeneration).To(Equal(fcm.Generation))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	}
	alreadyExistsEvents := func(g Gomega) []eventsv1.Event {
		var events eventsv1.EventList
		g.Expect(fed.Host.Client.List(t.Context(), &events, client.InNamespace(ns))).To(Succeed())
		var out []eventsv1.Event
		for _, e := range events.Items {
			if e.Regarding.Name == fcm.Name && e.Reason == string(v1alpha1.PhaseAlreadyExists) {
				out = append(out, e)
			}
		}
		return out
	}
	g.Eventually(alreadyExistsEvents).WithTimeout(30 * time.Second).ShouldNot(BeEmpty())
	g.Consistently(func(g Gomega) {
		events := alreadyExistsEvents(g)
		g.Expect(events).To(HaveLen(1))
		g.Expect(events[0].Series).To(BeNil(), "the Event is not repeated")
	}).WithTimeout(3 * time.Second).Should(Succeed())

	updateHost(t, fcm, func() { fcm.Annotations = map[string]string{v1alpha1.AnnotationAdopt: "true"} })
	g.Eventually(func(g Gomega) {
		cm := memberConfigMap(g, m, ns, "shared")
		g.Expect(cm.Data).To(HaveKeyWithValue("owner", "kfed"))
		g.Expect(cm.Labels).To(HaveKeyWithValue(v1alpha1.LabelManaged, "true"))
	}).WithTimeout(30*time.Second).Should(Succeed(), "adopted with the annotation")
}

func TestDeleteCascadesUnlessOrphaned(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "deletion")
	for _, orphan := range []bool{false, true} {
		name := "cascade"
		if orphan {
			name = "orphaned"
		}
		fcm := gen.FederatedConfigMap(ns, name, map[string]string{"k": "v"})
		if orphan {
			fcm.Annotations = map[string]string{v1alpha1.AnnotationOrphan: "true"}
		}
		g.Expect(fed.Host.Client.Create(t.Context(), fcm)).To(Succeed())
		g.Eventually(func(g Gomega) {
			for _, m := range fed.Members {
				g.Expect(memberConfigMap(g, m, ns, name)).NotTo(BeNil())
			}
		}).WithTimeout(30 * time.Second).Should(Succeed())
		deleteAndWait(t, fcm)
		for _, m := range fed.Members {
			if orphan {
				g.Expect(memberConfigMap(g, m, ns, name)).NotTo(BeNil(), "orphaned copies stay in %s", m.Name)
			} else {
				g.Expect(memberConfigMap(g, m, ns, name)).To(BeNil(), "the copy in %s is deleted first", m.Name)
			}
		}
	}
}

// memberReplicas returns spec.replicas of a Deployment in each member, by member name.
func memberReplicas(g Gomega, ns, name string) map[string]int32 {
	out := map[string]int32{}
	for _, m := range fed.Members {
		d := &appsv1.Deployment{}
		err := m.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, d)
		if apierrors.IsNotFound(err) {
			continue
		}
		g.Expect(err).NotTo(HaveOccurred())
		out[m.Name] = *d.Spec.Replicas
	}
	return out
}

func TestReplicasAreSpreadByWeight(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "spread")
	fd := gen.FederatedDeployment(ns, "k8shserver", 1000)
	g.Expect(fed.Host.Client.Create(t.Context(), fd)).To(Succeed())
	defer deleteAndWait(t, fd)
	defer logStatusOnFailure(t, fd, &fd.Status)

	g.Eventually(func(g Gomega) {
		got := slices.Sorted(mapValues(memberReplicas(g, ns, "k8shserver")))
		g.Expect(got).To(Equal([]int32{333, 333, 334}))
	}).WithTimeout(30*time.Second).Should(Succeed(), "1,000 over 3 equal clusters")
	g.Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fd), fd)).To(Succeed())
		g.Expect(fd.Status.Plan).To(HaveLen(3))
		g.Expect(fd.Status.Replicas).To(Equal(int32(1000)))
		for _, p := range fd.Status.Plan {
			// Weight on the first plan; Kept once the members run it (rebalance is off by default).
			g.Expect(p.Reasons).To(ContainElement(BeElementOf("Weight", "Kept")), "the plan explains %s", p.Cluster)
		}
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// Weights {2,1,1}: 500/250/250.
	two, one := int64(2), int64(1)
	updateHost(t, fd, func() {
		fd.Spec.ReplicaScheduling = &v1alpha1.ReplicaScheduling{Rebalance: true, Clusters: map[string]v1alpha1.ClusterPreference{
			fed.Members[0].Name: {Weight: &two}, "*": {Weight: &one},
		}}
	})
	g.Eventually(func(g Gomega) {
		g.Expect(memberReplicas(g, ns, "k8shserver")).To(Equal(map[string]int32{
			fed.Members[0].Name: 500, fed.Members[1].Name: 250, fed.Members[2].Name: 250,
		}))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// min and max: at least 100 in the third cluster, at most 200 in the first.
	maxFirst := int64(200)
	updateHost(t, fd, func() {
		fd.Spec.ReplicaScheduling.Clusters = map[string]v1alpha1.ClusterPreference{
			fed.Members[0].Name: {Weight: &two, MaxReplicas: &maxFirst},
			fed.Members[2].Name: {Weight: &one, MinReplicas: 600},
			"*":                 {Weight: &one},
		}
	})
	g.Eventually(func(g Gomega) {
		got := memberReplicas(g, ns, "k8shserver")
		g.Expect(got[fed.Members[0].Name]).To(BeNumerically("<=", 200))
		g.Expect(got[fed.Members[2].Name]).To(BeNumerically(">=", 600))
		g.Expect(got[fed.Members[0].Name] + got[fed.Members[1].Name] + got[fed.Members[2].Name]).To(Equal(int32(1000)))
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

// updateHost applies mutate to the latest version of a host object and updates it, again when
// the update conflicts (the controller patches the status meanwhile).
func updateHost(t *testing.T, obj client.Object, mutate func()) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate()
		return fed.Host.Client.Update(t.Context(), obj)
	})
	if err != nil {
		t.Fatalf("updating %s: %v", obj.GetName(), err)
	}
}

// logStatusOnFailure logs the federated object's status when the test failed.
func logStatusOnFailure(t *testing.T, obj client.Object, status *v1alpha1.FederatedStatus) {
	if !t.Failed() {
		return
	}
	if err := fed.Host.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Logf("reading %s: %v", obj.GetName(), err)
		return
	}
	t.Logf("status of %s: %+v", obj.GetName(), *status)
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}
