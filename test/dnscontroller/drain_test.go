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

// TestDrainBeforeMove: with the builtin server and a TTL of 5 s, a NoExecute taint takes the
// cluster's address out of the DNS answers at once, and its member Deployment's replicas start
// to drop only after one TTL (plus kfed's margin) more: the timestamps of both are compared.
func TestDrainBeforeMove(t *testing.T) {
	const ns, name, ttl = "drain", "web", 5
	addr := listenAddr(t)
	createDomain(t, "drain", v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{Listen: addr}})
	domainReady(t, "drain", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	createNamespace(t, ns)
	createService(t, ns, name, func(fs *v1alpha1.FederatedService) {
		fs.Spec.DNS = &v1alpha1.ServiceDNS{DomainRef: "drain", TTL: ptrTo(int64(ttl))}
	})
	fd := gen.FederatedDeployment(ns, name, 4)
	if err := fed.Host.Client.Create(t.Context(), fd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fed.Host.Client.Delete(context.Background(), fd) })
	key := client.ObjectKeyFromObject(fd)
	makeHealthy(t, ns, name)
	m0, m1 := fed.Members[0], fed.Members[1]
	a0, a1 := memberAddress(0), memberAddress(1)
	global := namesOf(name, ns).global
	look := dnsLookup(addr)
	waitAnswer(t, look, global, dns.TypeA, "NOERROR", a0, a1)
	g := NewWithT(t)
	g.Eventually(func() []int32 {
		return []int32{memberReplicas(t.Context(), m0, key), memberReplicas(t.Context(), m1, key)}
	}).Should(Equal([]int32{2, 2}))

	t.Cleanup(func() { setTaints(context.Background(), t, m1.Name) })
	tainted := time.Now()
	setTaints(t.Context(), t, m1.Name, v1alpha1.ClusterTaint{Key: "maintenance", Effect: v1alpha1.TaintEffectNoExecute})
	var gone, dropped time.Time
	deadline := tainted.Add(90 * time.Second)
	for (gone.IsZero() || dropped.IsZero()) && time.Now().Before(deadline) {
		if _, targets, err := look(global, dns.TypeA); gone.IsZero() && err == nil && !slices.Contains(targets, a1) {
			gone = time.Now()
		}
		if n := memberReplicas(t.Context(), m1, key); dropped.IsZero() && n >= 0 && n < 2 {
			dropped = time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if gone.IsZero() || dropped.IsZero() {
		t.Fatalf("after the taint: address gone at %v, replicas dropped at %v (zero: not within 90 s)", gone, dropped)
	}
	t.Logf("tainted %s; its address left the answers %s later, its replicas dropped %s after that",
		m1.Name, gone.Sub(tainted).Round(time.Millisecond), dropped.Sub(gone).Round(time.Millisecond))
	if dropped.Sub(gone) < ttl*time.Second {
		t.Errorf("the replicas dropped %s after the address left the answers, want at least the TTL (%d s)", dropped.Sub(gone), ttl)
	}
	waitAnswer(t, look, global, dns.TypeA, "NOERROR", a0)
	g.Eventually(func() []int32 {
		return []int32{memberReplicas(t.Context(), m0, key), memberReplicas(t.Context(), m1, key)}
	}, time.Minute).Should(Equal([]int32{4, 0}))
}
