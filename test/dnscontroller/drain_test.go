package dnscontroller_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/test/framework"
	"github.com/kfed-io/kfed/test/gen"
)

// setTaints replaces a FederatedCluster's spec.taints.
func setTaints(ctx context.Context, t *testing.T, name string, taints ...v1alpha1.ClusterTaint) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		fc := &v1alpha1.FederatedCluster{}
		g.Expect(fed.Host.Client.Get(ctx, client.ObjectKey{Name: name}, fc)).To(Succeed())
		fc.Spec.Taints = taints
		g.Expect(fed.Host.Client.Update(ctx, fc)).To(Succeed())
	}).Should(Succeed())
}

// memberReplicas is spec.replicas of the member Deployment (-1 when there is none).
func memberReplicas(ctx context.Context, m *framework.Cluster, key client.ObjectKey) int32 {
	d := &appsv1.Deployment{}
	if err := m.Client.Get(ctx, key, d); err != nil || d.Spec.Replicas == nil {
		return -1
	}
	return *d.Spec.Replicas
}

// drainCase is a FederatedDeployment of 4 replicas on both members behind a FederatedService
// of the same name whose names (TTL drainTTL) the builtin server answers.
type drainCase struct {
	key      client.ObjectKey
	global   string
	look     lookup
	m0, m1   *framework.Cluster
	a0, a1   string
	replicas func() []int32
}

const drainTTL = 5

func newDrainCase(t *testing.T, ns, name string) *drainCase {
	t.Helper()
	addr := listenAddr(t)
	createDomain(t, ns, v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{Listen: addr}})
	domainReady(t, ns, metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	createNamespace(t, ns)
	createService(t, ns, name, func(fs *v1alpha1.FederatedService) {
		fs.Spec.DNS = &v1alpha1.ServiceDNS{DomainRef: ns, TTL: ptrTo(int64(drainTTL))}
	})
	fd := gen.FederatedDeployment(ns, name, 4)
	if err := fed.Host.Client.Create(t.Context(), fd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fed.Host.Client.Delete(context.Background(), fd) })
	makeHealthy(t, ns, name)
	c := &drainCase{key: client.ObjectKeyFromObject(fd), global: namesOf(name, ns).global, look: dnsLookup(addr),
		m0: fed.Members[0], m1: fed.Members[1], a0: memberAddress(0), a1: memberAddress(1)}
	c.replicas = func() []int32 {
		return []int32{memberReplicas(t.Context(), c.m0, c.key), memberReplicas(t.Context(), c.m1, c.key)}
	}
	return c
}

// spread waits until both members answer and run 2 replicas each.
func (c *drainCase) spread(t *testing.T) {
	t.Helper()
	waitAnswer(t, c.look, c.global, dns.TypeA, "NOERROR", c.a0, c.a1)
	NewWithT(t).Eventually(c.replicas).Should(Equal([]int32{2, 2}))
}

// leaves makes a change that takes member 1's replicas away and checks, from the timestamps of
// both, that its address left the answers at least one TTL before its copy there dropped
// below 2 (or went).
func (c *drainCase) leaves(t *testing.T, step string, change func()) {
	t.Helper()
	start := time.Now()
	change()
	var gone, dropped time.Time
	for (gone.IsZero() || dropped.IsZero()) && time.Since(start) < 90*time.Second {
		if _, targets, err := c.look(c.global, dns.TypeA); gone.IsZero() && err == nil && !slices.Contains(targets, c.a1) {
			gone = time.Now()
		}
		if n := memberReplicas(t.Context(), c.m1, c.key); dropped.IsZero() && n < 2 {
			dropped = time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if gone.IsZero() || dropped.IsZero() {
		t.Fatalf("%s: address gone at %v, replicas dropped at %v (zero: not within 90 s)", step, gone, dropped)
	}
	t.Logf("%s: %s's address left the answers %s after the change, its copy dropped %s after that",
		step, c.m1.Name, gone.Sub(start).Round(time.Millisecond), dropped.Sub(gone).Round(time.Millisecond))
	if dropped.Sub(gone) < drainTTL*time.Second {
		t.Errorf("%s: the copy dropped %s after the address left the answers, want at least the TTL (%d s)", step, dropped.Sub(gone), drainTTL)
	}
}

// TestDrainBeforeMove: with the builtin server and a TTL of 5 s, a NoExecute taint takes the
// cluster's address out of the DNS answers at once, and its member Deployment's replicas start
// to drop only after one TTL (plus kfed's margin) more: the timestamps of both are compared.
func TestDrainBeforeMove(t *testing.T) {
	c := newDrainCase(t, "drain", "web")
	c.spread(t)
	t.Cleanup(func() { setTaints(context.Background(), t, c.m1.Name) })
	c.leaves(t, "NoExecute taint on "+c.m1.Name, func() {
		setTaints(t.Context(), t, c.m1.Name, v1alpha1.ClusterTaint{Key: "maintenance", Effect: v1alpha1.TaintEffectNoExecute})
	})
	waitAnswer(t, c.look, c.global, dns.TypeA, "NOERROR", c.a0)
	NewWithT(t).Eventually(c.replicas, time.Minute).Should(Equal([]int32{4, 0}))
}

// TestDrainBeforeAWorkloadLeaves: a move of one workload drains too. When its placement drops
// a cluster, and when its weights give a cluster 0, the cluster first leaves the names of the
// FederatedService that selects its pods (the Service itself stays placed there), and the
// member copy is deleted, or scaled to 0, only one TTL (plus the margin) after that.
func TestDrainBeforeAWorkloadLeaves(t *testing.T) {
	c := newDrainCase(t, "drain-one", "api")
	g := NewWithT(t)
	update := func(change func(*v1alpha1.FederatedDeployment)) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			got := &v1alpha1.FederatedDeployment{}
			g.Expect(fed.Host.Client.Get(t.Context(), c.key, got)).To(Succeed())
			change(got)
			g.Expect(fed.Host.Client.Update(t.Context(), got)).To(Succeed())
		}).Should(Succeed())
	}
	c.spread(t)
	c.leaves(t, "placement drops "+c.m1.Name, func() {
		update(func(fd *v1alpha1.FederatedDeployment) {
			fd.Spec.Placement = v1alpha1.Placement{Clusters: []string{c.m0.Name}}
		})
	})
	g.Eventually(func() int32 { return memberReplicas(t.Context(), c.m1, c.key) }, time.Minute).Should(Equal(int32(-1)))

	update(func(fd *v1alpha1.FederatedDeployment) { // back on both (rebalance: a cluster that returns gets its share)
		fd.Spec.Placement = v1alpha1.Placement{}
		fd.Spec.ReplicaScheduling = &v1alpha1.ReplicaScheduling{Rebalance: true}
	})
	c.spread(t)
	c.leaves(t, "weight 0 for "+c.m1.Name, func() {
		update(func(fd *v1alpha1.FederatedDeployment) {
			fd.Spec.ReplicaScheduling = &v1alpha1.ReplicaScheduling{Clusters: map[string]v1alpha1.ClusterPreference{
				c.m0.Name: {Weight: ptrTo(int64(1))}, c.m1.Name: {Weight: ptrTo(int64(0))}}}
		})
	})
	g.Eventually(func() int32 { return memberReplicas(t.Context(), c.m1, c.key) }, time.Minute).Should(Equal(int32(0)))
}
