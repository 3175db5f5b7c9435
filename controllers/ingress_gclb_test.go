package controllers_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/test/framework"
)

var ingressUIDKey = client.ObjectKey{Namespace: v1alpha1.IngressUIDNamespace, Name: v1alpha1.IngressUIDName}

// memberUID returns a member's kube-system/ingress-uid data, nil when it has none.
func memberUID(g Gomega, m *framework.Cluster) map[string]string {
	cm := &corev1.ConfigMap{}
	err := m.Client.Get(context.Background(), ingressUIDKey, cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	return cm.Data
}

func setMemberUID(t *testing.T, m *framework.Cluster, data map[string]string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ingressUIDKey.Namespace, Name: ingressUIDKey.Name}}
	err := m.Client.Get(t.Context(), ingressUIDKey, cm)
	switch {
	case apierrors.IsNotFound(err):
		cm.Data = data
		err = m.Client.Create(t.Context(), cm)
	case err == nil:
		cm.Data = data
		err = m.Client.Update(t.Context(), cm)
	}
	if err != nil {
		t.Fatalf("writing the ingress uid of %s: %v", m.Name, err)
	}
}

// TestGCLBSharesOneUIDAndReportsTheStaticIP: a FederatedIngress of mode GCLB puts the static IP
// annotation on every member Ingress, makes the members' kube-system/ingress-uid share the first
// uid found (created where missing, corrected where different, each keeping or getting a
// provider-uid of its own), reports the static IP once member Ingresses show it, and keeps the
// chosen uid across an operator restart even when another uid would now be found first.
func TestGCLBSharesOneUIDAndReportsTheStaticIP(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "gclb")
	members := slices.Clone(fed.Members)
	slices.SortFunc(members, func(a, b *framework.Cluster) int { return strings.Compare(a.Name, b.Name) })
	first, second, third := members[0], members[1], members[2]

	// The first member has no uid; the second's is the first found; the third has another.
	setMemberUID(t, second, map[string]string{"uid": "aaaa1111", "provider-uid": "p-second"})
	setMemberUID(t, third, map[string]string{"uid": "bbbb2222"})
	t.Cleanup(func() {
		for _, m := range members {
			_ = m.Client.Delete(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ingressUIDKey.Namespace, Name: ingressUIDKey.Name}})
		}
		_ = fed.Host.Client.Delete(context.Background(), &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: controllers.FederationIngressUIDName},
		})
	})

	ing := &v1alpha1.FederatedIngress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
		Spec: v1alpha1.FederatedIngressSpec{
			Template: v1alpha1.IngressTemplate{Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}},
			}}},
			GlobalLoadBalancer: &v1alpha1.GlobalLoadBalancer{Mode: v1alpha1.GlobalLoadBalancerGCLB, StaticIPName: "shop-ip"},
		},
	}
	g.Expect(fed.Host.Client.Create(t.Context(), ing)).To(Succeed())
	t.Cleanup(func() { deleteAndWait(t, ing) })
	defer logStatusOnFailure(t, ing, &ing.Status.FederatedStatus)

	providerUIDs := map[string]string{}
	g.Eventually(func(g Gomega) {
		for _, m := range members {
			mi := &networkingv1.Ingress{}
			g.Expect(m.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "shop"}, mi)).To(Succeed(), "in %s", m.Name)
			g.Expect(mi.Annotations).To(HaveKeyWithValue(v1alpha1.AnnotationGlobalStaticIPName, "shop-ip"), "in %s", m.Name)
			data := memberUID(g, m)
			g.Expect(data).To(HaveKeyWithValue("uid", "aaaa1111"), "in %s", m.Name)
			g.Expect(data["provider-uid"]).NotTo(BeEmpty(), "in %s", m.Name)
			providerUIDs[m.Name] = data["provider-uid"]
		}
	}).Should(Succeed())
	g.Expect(providerUIDs[second.Name]).To(Equal("p-second"), "a member's own provider-uid is kept")
	g.Expect(providerUIDs[first.Name]).NotTo(Equal(providerUIDs[third.Name]), "provider-uids are per cluster")

	g.Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(ing), ing)).To(Succeed())
		c := meta.FindStatusCondition(ing.Status.Conditions, v1alpha1.ConditionGlobalAddressReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(v1alpha1.ReasonWaitingForAddress), c.Message)
		g.Expect(ing.Status.Addresses).To(BeEmpty())
	}).Should(Succeed())

	// The GCE ingress controllers (simulated: none runs here) program the static IP and report
	// it on two member Ingresses.
	const staticIP = "203.0.113.7"
	for _, m := range []*framework.Cluster{first, third} {
		mi := &networkingv1.Ingress{}
		g.Expect(m.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "shop"}, mi)).To(Succeed())
		mi.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: staticIP}}
		g.Expect(m.Client.Status().Update(t.Context(), mi)).To(Succeed())
	}
	g.Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(ing), ing)).To(Succeed())
		g.Expect(ing.Status.Addresses).To(Equal([]v1alpha1.GlobalAddress{
			{IP: staticIP, Clusters: slices.Sorted(slices.Values([]string{first.Name, third.Name}))},
		}))
		c := meta.FindStatusCondition(ing.Status.Conditions, v1alpha1.ConditionGlobalAddressReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s", c.Reason, c.Message)
		g.Expect(meta.IsStatusConditionTrue(ing.Status.Conditions, v1alpha1.ConditionPropagated)).To(BeTrue(), "propagation's condition is kept")
		g.Expect(meta.IsStatusConditionTrue(ing.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
	}).Should(Succeed())

	// While the operator is down, the first member (by name) gets a uid of its own: a new
	// operator would find it first, and must keep the uid chosen before.
	if err := operator.Stop(); err != nil {
		t.Fatal(err)
	}
	setMemberUID(t, first, map[string]string{"uid": "0000zzzz", "provider-uid": providerUIDs[first.Name]})
	replaceOperator(t, fed.Host, controllers.Options{Namespace: operatorNamespace})
	g.Eventually(func(g Gomega) {
		for _, m := range members {
			g.Expect(memberUID(g, m)).To(HaveKeyWithValue("uid", "aaaa1111"), "in %s", m.Name)
		}
	}).Should(Succeed())
	g.Consistently(func(g Gomega) {
		for _, m := range members {
			g.Expect(memberUID(g, m)).To(HaveKeyWithValue("uid", "aaaa1111"), "in %s", m.Name)
		}
	}).WithTimeout(3 * time.Second).Should(Succeed())

	// Without a global address, the address and its condition leave the status; Ready stands on
	// propagation alone. (The static IP annotation stays on the member Ingresses: propagation
	// does not yet take away a field it applied before and no longer wants.)
	updateHost(t, ing, func() { ing.Spec.GlobalLoadBalancer = nil })
	g.Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(ing), ing)).To(Succeed())
		g.Expect(ing.Status.Addresses).To(BeEmpty())
		g.Expect(meta.FindStatusCondition(ing.Status.Conditions, v1alpha1.ConditionGlobalAddressReady)).To(BeNil())
		g.Expect(meta.IsStatusConditionTrue(ing.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
	}).Should(Succeed())
}
