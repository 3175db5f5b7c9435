package dnscontroller_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/gomega"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/test/framework"
)

// The simulated clients' subnets of the geo tables below (documentation ranges, RFC 5737).
const (
	subnet0, client0 = "198.51.100.0/24", "198.51.100.7"
	subnet1, client1 = "203.0.113.0/24", "203.0.113.7"
)

// createIngress creates a FederatedIngress on both members whose default backend is the Service
// backend, with a DNS global address.
func createIngress(t *testing.T, ns, name, backend string, glb v1alpha1.GlobalLoadBalancer) *v1alpha1.FederatedIngress {
	t.Helper()
	fi := &v1alpha1.FederatedIngress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.FederatedIngressSpec{
			Template: v1alpha1.IngressTemplate{Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: backend, Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
			GlobalLoadBalancer: &glb,
		}}
	if err := fed.Host.Client.Create(t.Context(), fi); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		got := &v1alpha1.FederatedIngress{}
		if t.Failed() && fed.Host.Client.Get(context.Background(), client.ObjectKeyFromObject(fi), got) == nil {
			t.Logf("FederatedIngress %s/%s status: %+v", ns, name, got.Status)
		}
		_ = fed.Host.Client.Delete(context.Background(), fi)
	})
	return fi
}

// setIngressAddress plays the member's ingress controller (nothing here runs one): it sets the
// member Ingress's status.loadBalancer.ingress, empty for ip "".
func setIngressAddress(t *testing.T, m *framework.Cluster, ns, name, ip string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		ing := &networkingv1.Ingress{}
		g.Expect(m.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, ing)).To(Succeed())
		ing.Status.LoadBalancer.Ingress = nil
		if ip != "" {
			ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: ip}}
		}
		g.Expect(m.Client.Status().Update(t.Context(), ing)).To(Succeed())
	}).Should(Succeed())
}

// setEndpoints plays the member's EndpointSlice controller: ready endpoints of Service name.
func setEndpoints(t *testing.T, m *framework.Cluster, ns, name string, ready int) {
	t.Helper()
	es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-fake",
		Labels: map[string]string{discoveryv1.LabelServiceName: name}}, AddressType: discoveryv1.AddressTypeIPv4}
	endpoints := make([]discoveryv1.Endpoint, 0, max(ready, 1))
	for i := range max(ready, 1) {
		r := i < ready
		endpoints = append(endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.244.1.%d", i+1)},
			Conditions: discoveryv1.EndpointConditions{Ready: &r}})
	}
	NewWithT(t).Eventually(func(g Gomega) {
		err := m.Client.Get(t.Context(), client.ObjectKeyFromObject(es), es)
		es.Endpoints = endpoints
		if apierrors.IsNotFound(err) {
			g.Expect(m.Client.Create(t.Context(), es)).To(Succeed())
			return
		}
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m.Client.Update(t.Context(), es)).To(Succeed())
	}).Should(Succeed())
}

// ecsAnswer asks addr for name's A records as a resolver would for a client in clientIP (EDNS0
// client subnet, /24), and returns the rcode and the sorted addresses.
func ecsAnswer(addr, name, clientIP string) (string, []string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	if clientIP != "" {
		o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		o.SetUDPSize(dns.DefaultMsgSize)
		o.Option = append(o.Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.ParseIP(clientIP).To4()})
		m.Extra = append(m.Extra, o)
	}
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, addr)
	if err != nil {
		return "", nil, err
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	slices.Sort(out)
	return dns.RcodeToString[r.Rcode], out, nil
}

// glbHost is the global address of the builtin server's test.
const glbHost = "shop.example.com"

// waitECS waits until a client in clientIP is answered exactly want for glbHost (NXDOMAIN for
// none), and returns how long that took.
func waitECS(t *testing.T, addr, clientIP string, want ...string) time.Duration {
	const name = glbHost
	t.Helper()
	start := time.Now()
	slices.Sort(want)
	rcode := "NOERROR"
	if len(want) == 0 {
		rcode = "NXDOMAIN"
	}
	var last string
	for time.Since(start) < 90*time.Second {
		got, targets, err := ecsAnswer(addr, name, clientIP)
		if err == nil && got == rcode && slices.Equal(targets, want) {
			return time.Since(start)
		}
		last = fmt.Sprintf("%s %v (err %v)", got, targets, err)
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s for a client in %s: want %s %v, last answer %s", name, clientIP, rcode, want, last)
	return 0
}

// shareOf asks n times and returns the fraction of answers that are ip; every answer must hold
// exactly one address.
func shareOf(t *testing.T, addr, name, ip string, n int) float64 {
	t.Helper()
	hits := 0
	for range n {
		_, targets, err := ecsAnswer(addr, name, "")
		if err != nil || len(targets) != 1 {
			t.Fatalf("a Weighted answer must hold one address: %v (err %v)", targets, err)
		}
		if targets[0] == ip {
			hits++
		}
	}
	return float64(hits) / float64(n)
}

// globalAddress waits until the Ingress's GlobalAddressReady has the status and reason, and
// returns the Ingress.
func globalAddress(t *testing.T, fi *v1alpha1.FederatedIngress, status metav1.ConditionStatus, reason string) *v1alpha1.FederatedIngress {
	t.Helper()
	return waitCondition(t, fi, &v1alpha1.FederatedIngress{}, func(o *v1alpha1.FederatedIngress) []metav1.Condition { return o.Status.Conditions },
		v1alpha1.ConditionGlobalAddressReady, status, reason)
}

// serveIngress plays both members' ingress and EndpointSlice controllers for an Ingress: member
// i's Ingress gets address addrs[i] and its backend Service endpoints[i] ready endpoints.
func serveIngress(t *testing.T, ns, name, backend string, addrs [2]string, endpoints [2]int) {
	t.Helper()
	for i, m := range fed.Members[:2] {
		setIngressAddress(t, m, ns, name, addrs[i])
		setEndpoints(t, m, ns, backend, endpoints[i])
	}
}

func setStrategy(t *testing.T, fi *v1alpha1.FederatedIngress, strategy v1alpha1.GlobalLoadBalancingStrategy, primaryRegion string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		got := &v1alpha1.FederatedIngress{}
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fi), got)).To(Succeed())
		got.Spec.GlobalLoadBalancer.Strategy, got.Spec.GlobalLoadBalancer.PrimaryRegion = strategy, primaryRegion
		g.Expect(fed.Host.Client.Update(t.Context(), got)).To(Succeed())
	}).Should(Succeed())
}

// TestGlobalAddressOnTheBuiltinServer runs every strategy of a DNS global address on kfed's
// builtin server, with the member Ingresses and EndpointSlices in real member API servers: Geo
// by client subnet, Weighted shares following the endpoints, Failover flipping and back, and
// the settle time of each change (logged; `make bench` has the DNS settle benchmark).
func TestGlobalAddressOnTheBuiltinServer(t *testing.T) {
	const ns, name, backend, host = "glb-builtin", "shop", "web", glbHost
	addr := listenAddr(t)
	m0, m1 := fed.Members[0], fed.Members[1]
	createDomain(t, "glb-builtin", v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{Listen: addr, Geo: []v1alpha1.GeoRegion{
		{Region: m0.Region, CIDRs: []string{subnet0}}, {Region: m1.Region, CIDRs: []string{subnet1}}}}})
	domainReady(t, "glb-builtin", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	createNamespace(t, ns)
	fi := createIngress(t, ns, name, backend, v1alpha1.GlobalLoadBalancer{Mode: v1alpha1.GlobalLoadBalancerDNS, Host: host,
		DomainRef: "glb-builtin", Strategy: v1alpha1.StrategyGeo})
	a0, a1 := "192.0.2.110", "192.0.2.111"

	// No member Ingress has an address yet: nothing is healthy.
	globalAddress(t, fi, metav1.ConditionFalse, v1alpha1.ReasonNoHealthyCluster)
	setIngressAddress(t, m0, ns, name, a0)
	setIngressAddress(t, m1, ns, name, a1)
	setEndpoints(t, m0, ns, backend, 3)
	setEndpoints(t, m1, ns, backend, 1)

	t.Log("Geo: each client gets its own region's cluster; a client of no known region gets both")
	settle := map[string]time.Duration{}
	settle["Geo, first answer"] = waitECS(t, addr, client0, a0)
	waitECS(t, addr, client1, a1)
	waitECS(t, addr, "192.0.2.200", a0, a1)
	got := globalAddress(t, fi, metav1.ConditionTrue, v1alpha1.ReasonGlobalAddressReady)
	g := NewWithT(t)
	g.Expect(got.Status.Addresses).To(Equal([]v1alpha1.GlobalAddress{{IP: a0, Clusters: []string{m0.Name}}, {IP: a1, Clusters: []string{m1.Name}}}))
	g.Expect(got.Status.DNS).NotTo(BeNil())
	g.Expect(got.Status.DNS.RecordSets).To(HaveLen(2))
	g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue())

	t.Log("Geo: member 1's region down (no ready endpoint): both clients get the survivor")
	start := time.Now()
	setEndpoints(t, m1, ns, backend, 0)
	waitECS(t, addr, client1, a0)
	settle["Geo, region down"] = time.Since(start)
	waitECS(t, addr, client0, a0)
	start = time.Now()
	setEndpoints(t, m1, ns, backend, 1)
	waitECS(t, addr, client1, a1)
	settle["Geo, region back"] = time.Since(start)

	t.Log("Weighted 3:1 by ready endpoints, then 1:3")
	start = time.Now()
	setStrategy(t, fi, v1alpha1.StrategyWeighted, "")
	g.Eventually(func(g Gomega) {
		got := &v1alpha1.FederatedIngress{}
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fi), got)).To(Succeed())
		g.Expect(got.Status.DNS).NotTo(BeNil())
		g.Expect(got.Status.DNS.RecordSets).To(HaveLen(2))
		g.Expect(got.Status.DNS.RecordSets[0].Policy).To(Equal("Weighted"))
	}).Should(Succeed())
	waitWeighted := func(want float64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			share := shareOf(t, addr, host, a0, 400)
			if share >= want-0.10 && share <= want+0.10 {
				t.Logf("%s's share over 400 answers: %.2f (want %.2f ± 0.10)", m0.Name, share, want)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's share over 400 answers: %.2f, want %.2f ± 0.10", m0.Name, share, want)
			}
		}
	}
	waitWeighted(0.75)
	settle["Weighted, strategy change"] = time.Since(start)
	start = time.Now()
	setEndpoints(t, m0, ns, backend, 1)
	setEndpoints(t, m1, ns, backend, 3)
	waitWeighted(0.25)
	settle["Weighted, endpoints change (with 400 answers counted)"] = time.Since(start)

	t.Log("Failover with member 0's region primary: its address alone; member 0 down flips to member 1 and back")
	setStrategy(t, fi, v1alpha1.StrategyFailover, m0.Region)
	waitECS(t, addr, "", a0)
	start = time.Now()
	setIngressAddress(t, m0, ns, name, "")
	waitECS(t, addr, "", a1)
	settle["Failover, flip"] = time.Since(start)
	start = time.Now()
	setIngressAddress(t, m0, ns, name, a0)
	waitECS(t, addr, "", a0)
	settle["Failover, flip back"] = time.Since(start)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range settle {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Logf("settle: %-55s %s", k, settle[k].Round(time.Millisecond))
	}

	t.Log("Deleted: the host answers NXDOMAIN")
	if err := fed.Host.Client.Delete(t.Context(), fi); err != nil {
		t.Fatal(err)
	}
	waitECS(t, addr, "")
}

// TestGlobalAddressOnCoreDNS: CoreDNS's etcd plugin answers every record of a name, so Geo is
// refused with StrategyNotSupported (nothing published, never a silent RoundRobin); RoundRobin
// answers both members, and Failover answers the primary alone (published as the set answered
// now), failing over when it goes.
func TestGlobalAddressOnCoreDNS(t *testing.T) {
	const ns, name, backend, host = "glb-coredns", "cart", "checkout", "cart.example.com"
	m0 := fed.Members[0]
	createDomain(t, "glb-coredns", v1alpha1.DNSProvider{CoreDNS: &v1alpha1.CoreDNSProvider{EtcdEndpoints: []string{etcd.ClientURL}}})
	domainReady(t, "glb-coredns", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	createNamespace(t, ns)
	fi := createIngress(t, ns, name, backend, v1alpha1.GlobalLoadBalancer{Mode: v1alpha1.GlobalLoadBalancerDNS, Host: host,
		DomainRef: "glb-coredns", Strategy: v1alpha1.StrategyRoundRobin})
	a0, a1 := "192.0.2.120", "192.0.2.121"
	serveIngress(t, ns, name, backend, [2]string{a0, a1}, [2]int{1, 1})
	look := dnsLookup(coreDNS.Addr)
	waitAnswer(t, look, host, dns.TypeA, "NOERROR", a0, a1)
	globalAddress(t, fi, metav1.ConditionTrue, v1alpha1.ReasonGlobalAddressReady)

	setStrategy(t, fi, v1alpha1.StrategyGeo, "")
	got := globalAddress(t, fi, metav1.ConditionFalse, v1alpha1.ReasonStrategyNotSupported)
	c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionGlobalAddressReady)
	g := NewWithT(t)
	g.Expect(c.Message).To(And(ContainSubstring("coreDNS"), ContainSubstring("Geo")))
	g.Expect(got.Status.DNS).To(BeNil())
	g.Expect(got.Status.Addresses).To(BeEmpty())
	g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionStalled)).To(BeTrue())
	waitAnswer(t, look, host, dns.TypeA, "NXDOMAIN")

	setStrategy(t, fi, v1alpha1.StrategyFailover, m0.Region)
	waitAnswer(t, look, host, dns.TypeA, "NOERROR", a0)
	got = globalAddress(t, fi, metav1.ConditionTrue, v1alpha1.ReasonGlobalAddressReady)
	g.Expect(got.Status.Addresses).To(Equal([]v1alpha1.GlobalAddress{{IP: a0, Clusters: []string{m0.Name}}}))
	setEndpoints(t, m0, ns, backend, 0)
	waitAnswer(t, look, host, dns.TypeA, "NOERROR", a1)
	setEndpoints(t, m0, ns, backend, 1)
	waitAnswer(t, look, host, dns.TypeA, "NOERROR", a0)

	if err := fed.Host.Client.Delete(t.Context(), fi); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, look, host, dns.TypeA, "NXDOMAIN")
}
