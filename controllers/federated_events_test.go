package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/conditions"
	"github.com/kfed-io/kfed/test/gen"
)

// configMapReconciles returns how many times FederatedConfigMaps were reconciled, whatever the result.
func configMapReconciles(g Gomega) float64 { return reconciles(g, "FederatedConfigMap", "") }

// TestClusterEventsWakeOnlyWhatDependsOnThem propagates 2,000 FederatedConfigMaps to the three
// members and then changes one member: a node added there (its capacity) wakes no ConfigMap;
// the member going NotReady wakes each ConfigMap placed there exactly once.
func TestClusterEventsWakeOnlyWhatDependsOnThem(t *testing.T) {
	const objects = 2000
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "wake")
	ctx := t.Context()

	// Without the test clients' 5 requests/s, as the operator runs.
	cfg := rest.CopyConfig(fed.Host.Config)
	cfg.QPS = -1
	host, err := client.New(cfg, client.Options{Scheme: fed.Host.Client.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())

	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				fcm := gen.FederatedConfigMap(ns, fmt.Sprintf("cm-%04d", i), map[string]string{"i": fmt.Sprint(i)})
				if err := host.Create(ctx, fcm); err != nil && !apierrors.IsAlreadyExists(err) {
					t.Errorf("creating %s: %v", fcm.Name, err)
				}
			}
		})
	}
	for i := range objects {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Cleanup(func() {
		ctx := context.Background()
		_ = host.DeleteAllOf(ctx, &v1alpha1.FederatedConfigMap{}, client.InNamespace(ns))
		NewWithT(t).Eventually(func(g Gomega) {
			var list v1alpha1.FederatedConfigMapList
			g.Expect(host.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(BeEmpty())
		}).WithTimeout(10*time.Minute).WithPolling(time.Second).Should(Succeed(),
			"the 2,000 deletions (bounded for a loaded 2-core machine)")
	})
	countPhase := func(g Gomega, cluster string, phase v1alpha1.PropagationPhase) int {
		var list v1alpha1.FederatedConfigMapList
		g.Expect(host.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		n := 0
		for _, o := range list.Items {
			for _, c := range o.Status.Clusters {
				if c.Name == cluster && c.Phase == phase {
					n++
				}
			}
		}
		return n
	}
	victim := fed.Members[0]
	g.Eventually(func(g Gomega) {
		g.Expect(countPhase(g, victim.Name, v1alpha1.PhasePropagated)).To(Equal(objects))
	}).WithTimeout(5*time.Minute).WithPolling(2*time.Second).Should(Succeed(), "every ConfigMap propagated")
	// Let the last status writes and member events settle.
	settle := func() {
		var last float64 = -1
		g.Eventually(func(g Gomega) {
			n, prev := configMapReconciles(g), last
			last = n
			g.Expect(n).To(Equal(prev), "reconciles still going on")
		}).WithTimeout(2 * time.Minute).WithPolling(3 * time.Second).Should(Succeed())
	}
	settle()

	// A node joins the victim: its capacity changes, which no ConfigMap depends on.
	before := configMapReconciles(g)
	fc := getCluster(t, victim.Name)
	nodes := fc.Status.Nodes
	g.Expect(victim.CreateNodes(ctx, int(nodes)+1, true)).To(Succeed())
	g.Eventually(func() int32 { return getCluster(t, victim.Name).Status.Nodes }).
		WithTimeout(30 * time.Second).Should(BeNumerically(">", nodes))
	time.Sleep(5 * time.Second) // anything it woke has been reconciled by now
	g.Expect(configMapReconciles(g)-before).To(BeZero(), "a node added wakes no ConfigMap")

	// The victim goes NotReady: every ConfigMap placed there is reconciled once.
	before = configMapReconciles(g)
	restart := stopAPIServer(t, victim)
	defer restart()
	g.Eventually(func(g Gomega) {
		g.Expect(countPhase(g, victim.Name, v1alpha1.PhaseClusterNotReady)).To(Equal(objects))
	}).WithTimeout(detectionBound(fastProbes)+2*time.Minute).WithPolling(2*time.Second).Should(Succeed(), "every ConfigMap sees the member NotReady")
	settle()
	g.Expect(configMapReconciles(g)-before).To(Equal(float64(objects)),
		"a member going NotReady wakes each ConfigMap placed there once")

	restart()
	g.Eventually(func(g Gomega) {
		g.Expect(countPhase(g, victim.Name, v1alpha1.PhasePropagated)).To(Equal(objects))
	}).WithTimeout(5*time.Minute).WithPolling(2*time.Second).Should(Succeed(), "back once the member is Ready")
}

// TestTwoWritersKeepEachOthersConditions has a second writer (standing in for the DNS
// controller) set its own condition on a FederatedService again and again while propagation
// rewrites the object's status: neither loses the other's condition, and Ready summarises both.
func TestTwoWritersKeepEachOthersConditions(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "writers")
	ctx := t.Context()
	fcm := gen.FederatedConfigMap(ns, "shared", map[string]string{"v": "0"})
	createPropagated(t, fcm)

	// The other writer: its condition, then the summary, patched under an optimistic lock as
	// every kfed writer does; a conflict is read again and retried.
	key := client.ObjectKeyFromObject(fcm)
	write := func(i int) error {
		status := metav1.ConditionTrue
		if i%2 == 1 {
			status = metav1.ConditionFalse
		}
		var err error
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			obj := &v1alpha1.FederatedConfigMap{}
			if err = fed.Host.Client.Get(ctx, key, obj); err != nil {
				continue
			}
			before := obj.DeepCopy()
			meta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionDNSPublished, Status: status,
				Reason: "Published", Message: fmt.Sprintf("write %d", i), ObservedGeneration: obj.Generation})
			conditions.Summarize(&obj.Status.Conditions, obj.Generation)
			if err = fed.Host.Client.Status().Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err == nil {
				return nil
			}
		}
		return fmt.Errorf("write %d: %w", i, err)
	}
	const rounds = 20
	done := make(chan error, 1)
	go func() {
		for i := range rounds {
			if err := write(i); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range rounds {
		// The other writer's status writes conflict with this one as often as not: retry as long as it takes.
		g.Eventually(func() error {
			if err := fed.Host.Client.Get(ctx, client.ObjectKeyFromObject(fcm), fcm); err != nil {
				return err
			}
			fcm.Spec.Template.Data = map[string]string{"v": fmt.Sprint(i + 1)}
			return fed.Host.Client.Update(ctx, fcm)
		}).WithTimeout(30 * time.Second).Should(Succeed())
	}
	g.Expect(<-done).To(Succeed(), "the other writer's writes")
	g.Eventually(func(g Gomega) {
		obj := &v1alpha1.FederatedConfigMap{}
		g.Expect(fed.Host.Client.Get(ctx, client.ObjectKeyFromObject(fcm), obj)).To(Succeed())
		g.Expect(obj.Status.ObservedGeneration).To(Equal(obj.Generation))
		dns := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionDNSPublished)
		g.Expect(dns).NotTo(BeNil(), "propagation kept the other writer's condition")
		g.Expect(dns.Message).To(Equal(fmt.Sprintf("write %d", rounds-1)))
		prop := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionPropagated)
		g.Expect(prop).NotTo(BeNil(), "the other writer kept propagation's condition")
		g.Expect(prop.Status).To(Equal(metav1.ConditionTrue))
		ready := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse), "Ready summarises the other writer's False")
		g.Expect(ready.Reason).To(Equal("Published"))
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

// TestDeletingARefusedObjectCompletes deletes FederatedObjects that no member ever got (a
// cluster-scoped kind from a namespaced object, and a kind no member serves): nothing holds
// their deletion.
func TestDeletingARefusedObjectCompletes(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "refused")
	ctx := t.Context()
	cases := map[string]map[string]any{
		v1alpha1.ReasonClusterScoped: {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
			"metadata": map[string]any{"name": "crb", "namespace": ns},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}},
		v1alpha1.ReasonKindNotServed: {"apiVersion": "widgets.example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "w", "namespace": ns}},
	}
	for reason, manifest := range cases {
		fo := &v1alpha1.FederatedObject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "refused-" + strings.ToLower(manifest["kind"].(string))}}
		raw, err := json.Marshal(manifest)
		g.Expect(err).NotTo(HaveOccurred())
		fo.Spec.Template.Raw = raw
		g.Expect(fed.Host.Client.Create(ctx, fo)).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(fed.Host.Client.Get(ctx, client.ObjectKeyFromObject(fo), fo)).To(Succeed())
			g.Expect(fo.Status.Clusters).To(HaveLen(len(fed.Members)))
			for _, c := range fo.Status.Clusters {
				g.Expect(c.Reason).To(Equal(reason), "%s in %s", manifest["kind"], c.Name)
			}
			stalled := meta.FindStatusCondition(fo.Status.Conditions, v1alpha1.ConditionStalled)
			g.Expect(stalled).NotTo(BeNil(), "a copy refused everywhere is stalled")
		}).WithTimeout(30 * time.Second).Should(Succeed())
		start := time.Now()
		deleteAndWait(t, fo)
		t.Logf("FederatedObject of %s refused everywhere (%s) deleted in %s", manifest["kind"], reason, time.Since(start).Round(time.Millisecond))
	}
}
