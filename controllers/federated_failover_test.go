package controllers_test

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/test/framework"
	"github.com/kfed-io/kfed/test/gen"
)

// replicaSampler reads spec.replicas of one Deployment in every member, again and again, and
// keeps the lowest sum it saw. A member that does not answer counts with the last value read
// from it: its Deployment is still there, and runs those replicas as soon as it is back.
type replicaSampler struct {
	ns, name string
	clients  []client.Client // one per member, without the test clients' rate limit

	mu      sync.Mutex
	last    map[string]int32
	samples int
	moving  int // samples not counted: the two passes differed
	lowest  int32
	lowAt   map[string]int32
	stop    chan struct{}
	done    chan struct{}
}

func sampleReplicas(t *testing.T, ns, name string, start map[string]int32) *replicaSampler {
	clients := make([]client.Client, len(fed.Members))
	for i, m := range fed.Members {
		clients[i] = unthrottled(t, m)
	}
	s := &replicaSampler{ns: ns, name: name, clients: clients, last: maps.Clone(start), lowest: sum(start), lowAt: maps.Clone(start),
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *replicaSampler) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
		s.sampleOnce()
	}
}

// sampleOnce reads every member twice, one pass after the other. The members are separate API
// servers, so one pass is no snapshot: it could pair a value read before a write with one read
// after another write. When both passes agree, every value held from its first read to its
// second, so at the moment between the passes the members held exactly these values; a sample
// whose passes differ (something moved meanwhile) is not counted.
func (s *replicaSampler) sampleOnce() {
	first, second := s.pass(), s.pass()
	s.mu.Lock()
	defer s.mu.Unlock()
	if fmt.Sprint(first) != fmt.Sprint(second) {
		s.moving++
		return
	}
	s.samples++
	if total := sum(first); total < s.lowest {
		s.lowest, s.lowAt = total, first
	}
}

// pass reads spec.replicas in every member, side by side; an unreachable member gives its last
// value. It returns when every read is done.
func (s *replicaSampler) pass() map[string]int32 {
	read := make([]*int32, len(fed.Members))
	var wg sync.WaitGroup
	for i := range fed.Members {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			d := &appsv1.Deployment{}
			if err := s.clients[i].Get(ctx, client.ObjectKey{Namespace: s.ns, Name: s.name}, d); err == nil {
				read[i] = d.Spec.Replicas
			}
		})
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := map[string]int32{}
	for i, m := range fed.Members {
		if read[i] != nil {
			s.last[m.Name] = *read[i]
		}
		now[m.Name] = s.last[m.Name]
	}
	return now
}

// finish stops sampling and returns the number of samples and the lowest sum with its split.
// finish stops sampling, fails the test when the desired sum ever dropped below floor, and returns
// how many consistent samples were taken.
func (s *replicaSampler) finish(t *testing.T, floor int32) int {
	t.Helper()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("%d consistent samples of the members' desired replicas (%d more taken while replicas moved); lowest sum %d (%v)",
		s.samples, s.moving, s.lowest, s.lowAt)
	if s.lowest < floor {
		t.Errorf("the desired total dropped to %d: %v", s.lowest, s.lowAt)
	}
	if s.samples < 5 {
		t.Errorf("only %d consistent samples: the move was not watched", s.samples)
	}
	return s.samples
}

func sum(m map[string]int32) int32 {
	var n int32
	for _, v := range m {
		n += v
	}
	return n
}

// spreadDeployment creates a FederatedDeployment of total replicas with rebalance on, deleted when
// the test ends, and waits until the members hold all of them; it returns the object and the
// split.
func spreadDeployment(t *testing.T, ns, name string, total int32) (*v1alpha1.FederatedDeployment, map[string]int32) {
	t.Helper()
	g := NewWithT(t)
	fd := gen.FederatedDeployment(ns, name, total)
	fd.Spec.ReplicaScheduling = &v1alpha1.ReplicaScheduling{Rebalance: true}
	g.Expect(fed.Host.Client.Create(t.Context(), fd)).To(Succeed())
	t.Cleanup(func() { deleteAndWait(t, fd) })
	t.Cleanup(func() { logStatusOnFailure(t, fd, &fd.Status) })
	var spread map[string]int32
	g.Eventually(func(g Gomega) {
		spread = memberReplicas(g, ns, fd.Name)
		g.Expect(spread).To(HaveLen(len(fed.Members)))
		g.Expect(sum(spread)).To(Equal(total))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	return fd, spread
}

// TestDeadMemberReplicasMoveAndComeBack kills one member's API server under a federated
// Deployment of 1,000 replicas spread 334/333/333 with rebalance on: within the health bound the
// two others carry 500/500; once the member is back the split converges to what it was; and at
// no sampled moment is the sum of the members' desired replicas below 1,000.
func TestDeadMemberReplicasMoveAndComeBack(t *testing.T) {
	g := NewWithT(t)
	joinAll(t) // fast probes: every 2 s, 1 s timeout, NotReady after 3 failures
	ns := hostNamespace(t, "failover")
	fd, spread := spreadDeployment(t, ns, "k8shserver", 1000)
	g.Expect(spread).To(HaveEach(BeNumerically("~", 333, 1)))
	t.Logf("spread before the failure: %v", spread)

	victim := fed.Members[0]
	others := make([]string, 0, len(fed.Members)-1)
	for _, m := range fed.Members[1:] {
		others = append(others, m.Name)
	}
	sampler := sampleReplicas(t, ns, fd.Name, maps.Clone(spread))

	killed := time.Now()
	restart := stopAPIServer(t, victim)
	defer restart()
	// The health bound (failureThreshold × period + timeout, plus margin), then time to plan and write.
	bound := detectionBound(fastProbes) + 15*time.Second
	g.Eventually(func(g Gomega) {
		got := map[string]int32{}
		for _, m := range fed.Members[1:] {
			d := &appsv1.Deployment{}
			g.Expect(m.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: fd.Name}, d)).To(Succeed())
			got[m.Name] = *d.Spec.Replicas
		}
		g.Expect(got).To(Equal(map[string]int32{others[0]: 500, others[1]: 500}))
	}).WithTimeout(bound).WithPolling(100*time.Millisecond).Should(Succeed(), "the two live members carry all 1,000")
	moved := time.Since(killed)
	t.Logf("500/500 on the live members %s after the API server of %s was stopped (bound %s)", moved.Round(10*time.Millisecond), victim.Name, bound)

	g.Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fd), fd)).To(Succeed())
		g.Expect(fd.Status.Plan).To(ContainElement(And(HaveField("Cluster", victim.Name), HaveField("Replicas", int32(0)),
			HaveField("Reasons", ContainElement("NotReady")))), "the plan says why the dead member has none")
		g.Expect(fd.Status.Clusters).To(ContainElement(And(
			HaveField("Name", victim.Name), HaveField("Phase", v1alpha1.PhaseClusterNotReady))))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	restart()
	back := time.Now()
	g.Eventually(func(g Gomega) {
		g.Expect(memberReplicas(g, ns, fd.Name)).To(Equal(spread))
	}).WithTimeout(60*time.Second).WithPolling(100*time.Millisecond).Should(Succeed(), "back to the split before the failure")
	t.Logf("back to %v %s after the API server of %s was started again", spread, time.Since(back).Round(10*time.Millisecond), victim.Name)

	g.Expect(sampler.finish(t, 1000)).To(BeNumerically(">", 10))
}

// TestShrinkIsNotHeldBackByADeadMember changes the weights while one member is down: the dead
// member (planned at 0) does not count as a growth that failed, so the live member that shrinks
// does so once the one that grows has grown; the desired sum never drops below the total.
func TestShrinkIsNotHeldBackByADeadMember(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "reweigh")
	victim, m1, m2 := fed.Members[0], fed.Members[1], fed.Members[2]
	fd, spread := spreadDeployment(t, ns, "k8shserver", 1000)
	sampler := sampleReplicas(t, ns, fd.Name, maps.Clone(spread))

	restart := stopAPIServer(t, victim)
	defer restart()
	live := func(g Gomega) map[string]int32 {
		got := map[string]int32{}
		for _, m := range []*framework.Cluster{m1, m2} {
			d := &appsv1.Deployment{}
			g.Expect(m.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: fd.Name}, d)).To(Succeed())
			got[m.Name] = *d.Spec.Replicas
		}
		return got
	}
	g.Eventually(live).WithTimeout(detectionBound(fastProbes) + 15*time.Second).
		Should(Equal(map[string]int32{m1.Name: 500, m2.Name: 500}))

	// Weights 2:1 for the live members: m1 grows to 667, m2 shrinks to 333.
	two, one := int64(2), int64(1)
	updateHost(t, fd, func() {
		fd.Spec.ReplicaScheduling.Clusters = map[string]v1alpha1.ClusterPreference{m1.Name: {Weight: &two}, "*": {Weight: &one}}
	})
	g.Eventually(live).WithTimeout(30*time.Second).Should(Equal(map[string]int32{m1.Name: 667, m2.Name: 333}),
		"the shrink of %s is not held back by the dead %s", m2.Name, victim.Name)

	restart()
	g.Eventually(func(g Gomega) {
		g.Expect(memberReplicas(g, ns, fd.Name)).To(Equal(map[string]int32{victim.Name: 250, m1.Name: 500, m2.Name: 250}))
	}).WithTimeout(60*time.Second).Should(Succeed(), "weights 1:2:1 once the member is back")

	sampler.finish(t, 1000)
}

// TestNoExecuteTaintMovesReplicasAway taints one member NoExecute under 1,000 replicas spread
// 334/333/333: its share moves to the others (500/500, plan reason NoExecute); without the taint
// the split comes back; the desired sum never drops below 1,000 either way.
func TestNoExecuteTaintMovesReplicasAway(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "taint")
	tainted := fed.Members[0]
	fd, spread := spreadDeployment(t, ns, "k8shserver", 1000)
	sampler := sampleReplicas(t, ns, fd.Name, spread)

	fc := &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: tainted.Name}}
	updateHost(t, fc, func() {
		fc.Spec.Taints = []v1alpha1.ClusterTaint{{Key: "maintenance", Effect: v1alpha1.TaintEffectNoExecute}}
	})
	want := map[string]int32{tainted.Name: 0, fed.Members[1].Name: 500, fed.Members[2].Name: 500}
	g.Eventually(func(g Gomega) {
		g.Expect(memberReplicas(g, ns, fd.Name)).To(Equal(want))
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fd), fd)).To(Succeed())
		g.Expect(fd.Status.Plan).To(ContainElement(And(HaveField("Cluster", tainted.Name), HaveField("Replicas", int32(0)),
			HaveField("Reasons", ContainElement("NoExecute")))))
	}).WithTimeout(30*time.Second).Should(Succeed(), "replicas move away from the NoExecute cluster")

	updateHost(t, fc, func() { fc.Spec.Taints = nil })
	g.Eventually(func(g Gomega) {
		g.Expect(memberReplicas(g, ns, fd.Name)).To(Equal(spread))
	}).WithTimeout(30*time.Second).Should(Succeed(), "back once the taint is gone")

	sampler.finish(t, 1000)
}

// TestDeadMemberHoldsTheFinalizerUntilUnjoined deletes a federated object while one member's API
// server is stopped: the copies in the live members go, the object stays with Ready=False
// DeletionBlocked naming the dead member, and unjoining that member releases it.
func TestDeadMemberHoldsTheFinalizerUntilUnjoined(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "blocked-deletion")
	victim := fed.Members[0]
	fcm := gen.FederatedConfigMap(ns, "held", map[string]string{"k": "v"})
	g.Expect(fed.Host.Client.Create(t.Context(), fcm)).To(Succeed())
	defer deleteAndWait(t, fcm)
	g.Eventually(func(g Gomega) {
		federatedReady(g, fcm, &fcm.Status)
		g.Expect(fcm.Status.ClusterCount).To(Equal(int32(3)))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	restart := stopAPIServer(t, victim)
	defer restart()
	g.Eventually(func(g Gomega) {
		g.Expect(readyOf(g, victim.Name).Status).To(Equal(metav1.ConditionFalse))
	}).WithTimeout(detectionBound(fastProbes)).Should(Succeed())

	g.Expect(fed.Host.Client.Delete(t.Context(), fcm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fcm), fcm)).To(Succeed())
		g.Expect(fcm.DeletionTimestamp.IsZero()).To(BeFalse())
		c := meta.FindStatusCondition(fcm.Status.Conditions, v1alpha1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonDeletionBlocked))
		g.Expect(c.Message).To(ContainSubstring(victim.Name))
		for _, m := range fed.Members[1:] {
			g.Expect(memberConfigMap(g, m, ns, fcm.Name)).To(BeNil(), "the copy in the live member %s is deleted", m.Name)
		}
	}).WithTimeout(30 * time.Second).Should(Succeed())
	t.Logf("blocked: %s", meta.FindStatusCondition(fcm.Status.Conditions, v1alpha1.ConditionReady).Message)
	g.Expect(fcm.Finalizers).NotTo(BeEmpty(), "the dead member holds the finalizer")

	// Unjoin the dead member: nothing holds the object any more.
	g.Expect(fed.Host.Client.Delete(t.Context(), &v1alpha1.FederatedCluster{ObjectMeta: metav1.ObjectMeta{Name: victim.Name}})).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fcm), fcm))
	}).WithTimeout(30*time.Second).Should(BeTrue(), "unjoining the dead member releases the object")

	// The copy in the unjoined member is kfed's no more: it is left there.
	restart()
	g.Eventually(func(g Gomega) {
		g.Expect(memberConfigMap(g, victim, ns, fcm.Name)).NotTo(BeNil())
	}).WithTimeout(30 * time.Second).Should(Succeed())
	g.Expect(victim.Client.Delete(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fcm.Name}})).To(Succeed())
}
