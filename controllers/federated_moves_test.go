package controllers_test

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/test/framework"
	"github.com/kfed-io/kfed/test/gen"
)

// startFullFederation starts a host and three full members (controller manager, scheduler and
// kwok nodes, so Deployments get Pods that become Ready), a manager against the host, and joins
// every member; everything stops when the test ends.
func startFullFederation(t *testing.T) *framework.Federation {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f, err := framework.Start(ctx, framework.Options{Members: 3, Full: true, NodesPerMember: 2})
	if err != nil {
		t.Fatalf("starting the full members: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Stop(); err != nil {
			t.Errorf("stopping the clusters: %v", err)
		}
	})
	mgr, err := framework.StartManager(ctx, f.Host, controllers.Options{Namespace: operatorNamespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mgr.Stop(); err != nil {
			t.Errorf("stopping the manager: %v", err)
		}
	})
	g := NewWithT(t)
	for _, m := range f.Members {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: m.Name + "-credentials"},
			Data: kubeconfigOf(m)}
		g.Expect(f.Host.Client.Create(ctx, secret)).To(Succeed())
		fc := &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: m.Name},
			Spec: v1alpha1.FederatedClusterSpec{SecretRef: v1alpha1.ObjectReference{Name: secret.Name}, HealthCheck: fastProbes}}
		g.Expect(f.Host.Client.Create(ctx, fc)).To(Succeed())
	}
	for _, m := range f.Members {
		g.Eventually(func(g Gomega) {
			fc := &v1alpha1.FederatedCluster{}
			g.Expect(f.Host.Client.Get(ctx, client.ObjectKey{Name: m.Name}, fc)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(fc.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
			_, err := mgr.Registry.Client(m.Name)
			g.Expect(err).NotTo(HaveOccurred())
		}).WithTimeout(60 * time.Second).Should(Succeed())
	}
	return f
}

// readySampler sums the members' status.readyReplicas of one Deployment every 200 ms and keeps
// the lowest sum. Each sample reads the members in the given order, one after the other: the
// clusters that give replicas up first, then those that receive them. A receiving cluster's
// ready count only grows during a move, so reading it last can only raise a sample, never show
// a drop that did not happen.
type readySampler struct {
	f        *framework.Federation
	ns, name string
	order    []*framework.Cluster

	mu      sync.Mutex
	samples int
	lowest  int32
	lowAt   map[string]int32
	stop    chan struct{}
	done    chan struct{}
}

func sampleReady(f *framework.Federation, ns, name string, order []*framework.Cluster) *readySampler {
	s := &readySampler{f: f, ns: ns, name: name, order: order, lowest: -1, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				s.sampleOnce()
			}
		}
	}()
	return s
}

func (s *readySampler) sampleOnce() {
	now := map[string]int32{}
	var total int32
	for _, m := range s.order {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		d := &appsv1.Deployment{}
		err := m.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: s.name}, d)
		cancel()
		if err != nil {
			return // not a sample
		}
		now[m.Name] = d.Status.ReadyReplicas
		total += d.Status.ReadyReplicas
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples++
	if s.lowest < 0 || total < s.lowest {
		s.lowest, s.lowAt = total, now
	}
}

// finish stops sampling and fails the test when the ready sum ever dropped below floor.
func (s *readySampler) finish(t *testing.T, floor int32) {
	t.Helper()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("%d samples of the members' ready replicas; lowest sum %d (%v)", s.samples, s.lowest, s.lowAt)
	if s.samples < 10 {
		t.Errorf("only %d samples: the move was not watched", s.samples)
	}
	if s.lowest < floor {
		t.Errorf("the ready replicas of the fleet dropped to %d during the move: %v", s.lowest, s.lowAt)
	}
}

func fullReplicas(g Gomega, f *framework.Federation, ns, name string, ready bool) map[string]int32 {
	out := map[string]int32{}
	for _, m := range f.Members {
		d := &appsv1.Deployment{}
		g.Expect(m.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
		out[m.Name] = *d.Spec.Replicas
		if ready {
			out[m.Name] = d.Status.ReadyReplicas
		}
	}
	return out
}

// TestMovesKeepTheRequestedReplicasReady spreads 1,000 replicas over three full members and then
// moves them twice, sampling the sum of the members' ready replicas every 200 ms:
//   - the user patches the weights to 2:1:1 with rebalance unset: the plan follows the new intent
//     (500/250/250), and status.plan says Weight for every cluster;
//   - with rebalance on, a member is tainted NoExecute and its share moves to the others; the
//     taint is removed and the member's share returns.
//
// While replicas move to new clusters, the clusters that give them up shrink only as the new
// ones become ready, so the ready sum never drops below 1,000 in either move.
func TestMovesKeepTheRequestedReplicasReady(t *testing.T) {
	f := startFullFederation(t)
	g := NewWithT(t)
	ctx := t.Context()
	m0, m1, m2 := f.Members[0], f.Members[1], f.Members[2]
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "moves"}}
	g.Expect(f.Host.Client.Create(ctx, ns)).To(Succeed())

	fd := gen.FederatedDeployment(ns.Name, "k8shserver", 1000)
	g.Expect(f.Host.Client.Create(ctx, fd)).To(Succeed())
	g.Eventually(func(g Gomega) {
		ready := fullReplicas(g, f, ns.Name, fd.Name, true)
		g.Expect(ready).To(HaveEach(BeNumerically("~", 333, 1)))
		g.Expect(sum(ready)).To(Equal(int32(1000)))
	}).WithTimeout(3*time.Minute).WithPolling(time.Second).Should(Succeed(), "1,000 replicas ready, 334/333/333")
	g.Eventually(func(g Gomega) {
		g.Expect(f.Host.Client.Get(ctx, client.ObjectKeyFromObject(fd), fd)).To(Succeed())
		for _, p := range fd.Status.Plan {
			g.Expect(p.Reasons).To(Equal([]string{"Weight"}), "the plan of a new object explains each count by its weight")
		}
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// The user's new intent: weights 2:1:1, rebalance unset.
	sampler := sampleReady(f, ns.Name, fd.Name, []*framework.Cluster{m1, m2, m0})
	two, one := int64(2), int64(1)
	g.Eventually(func() error {
		if err := f.Host.Client.Get(ctx, client.ObjectKeyFromObject(fd), fd); err != nil {
			return err
		}
		fd.Spec.ReplicaScheduling = &v1alpha1.ReplicaScheduling{Clusters: map[string]v1alpha1.ClusterPreference{
			m0.Name: {Weight: &two}, "*": {Weight: &one}}}
		return f.Host.Client.Update(ctx, fd)
	}).WithTimeout(30 * time.Second).Should(Succeed())
	want := map[string]int32{m0.Name: 500, m1.Name: 250, m2.Name: 250}
	g.Eventually(func(g Gomega) {
		g.Expect(fullReplicas(g, f, ns.Name, fd.Name, false)).To(Equal(want))
		g.Expect(fullReplicas(g, f, ns.Name, fd.Name, true)).To(Equal(want))
	}).WithTimeout(3*time.Minute).WithPolling(time.Second).Should(Succeed(), "the new weights are followed without rebalance")
	sampler.finish(t, 1000)
	g.Expect(f.Host.Client.Get(ctx, client.ObjectKeyFromObject(fd), fd)).To(Succeed())
	for _, p := range fd.Status.Plan {
		g.Expect(p.Reasons).To(Equal([]string{"Weight"}), "cluster %s at its weighted share", p.Cluster)
	}

	// With rebalance on, a member is tainted NoExecute (its replicas move away) and then
	// returns (the taint is removed, and its share comes back).
	g.Eventually(func() error {
		if err := f.Host.Client.Get(ctx, client.ObjectKeyFromObject(fd), fd); err != nil {
			return err
		}
		fd.Spec.ReplicaScheduling.Rebalance = true
		return f.Host.Client.Update(ctx, fd)
	}).WithTimeout(30 * time.Second).Should(Succeed())
	taint := func(taints []v1alpha1.ClusterTaint) {
		g.Eventually(func() error {
			fc := &v1alpha1.FederatedCluster{}
			if err := f.Host.Client.Get(ctx, client.ObjectKey{Name: m1.Name}, fc); err != nil {
				return err
			}
			fc.Spec.Taints = taints
			return f.Host.Client.Update(ctx, fc)
		}).WithTimeout(30 * time.Second).Should(Succeed())
	}
	sampler = sampleReady(f, ns.Name, fd.Name, []*framework.Cluster{m1, m0, m2})
	taint([]v1alpha1.ClusterTaint{{Key: "maintenance", Effect: v1alpha1.TaintEffectNoExecute}})
	away := map[string]int32{m0.Name: 667, m1.Name: 0, m2.Name: 333}
	g.Eventually(func(g Gomega) {
		g.Expect(fullReplicas(g, f, ns.Name, fd.Name, false)).To(Equal(away))
		g.Expect(fullReplicas(g, f, ns.Name, fd.Name, true)).To(Equal(away))
	}).WithTimeout(3*time.Minute).WithPolling(time.Second).Should(Succeed(), "the tainted member's share moves to the others at 2:1")
	sampler.finish(t, 1000)

	sampler = sampleReady(f, ns.Name, fd.Name, []*framework.Cluster{m0, m2, m1})
	taint(nil)
	g.Eventually(func(g Gomega) {
		g.Expect(fullReplicas(g, f, ns.Name, fd.Name, false)).To(Equal(want))
		g.Expect(fullReplicas(g, f, ns.Name, fd.Name, true)).To(Equal(want))
	}).WithTimeout(3*time.Minute).WithPolling(time.Second).Should(Succeed(), "the returning member gets its share back")
	sampler.finish(t, 1000)
}
