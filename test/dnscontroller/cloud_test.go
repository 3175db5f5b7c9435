package dnscontroller_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/dns/route53/fake"
)

// route53Lookup reads a name from the fake Route 53 zone as a resolver would be answered.
func route53Lookup(f *fake.Server, zoneID string) lookup {
	return func(name string, qtype uint16) (string, []string, error) {
		found := false
		var targets []string
		for _, r := range f.Records(zoneID) {
			if r.Name != dns.Fqdn(name) {
				continue
			}
			found = true
			if r.Type != dns.TypeToString[qtype] {
				continue
			}
			for _, v := range r.Values {
				if qtype == dns.TypeCNAME {
					v = dns.Fqdn(v)
				}
				targets = append(targets, v)
			}
		}
		slices.Sort(targets)
		if !found {
			return "NXDOMAIN", nil, nil
		}
		return "NOERROR", targets, nil
	}
}

// TestRoute53FakeGetsTheHealthyMembers runs the DNS controller's whole story on the route53
// provider as the manager builds it (controllers.DefaultDNSProviders), against the local fake of
// the Route 53 API (internal/dns/route53/fake: no real Route 53 here). A wrong access key gives
// Unauthorized without the secret in the message; the right one makes the domain Ready.
func TestRoute53FakeGetsTheHealthyMembers(t *testing.T) {
	const zoneID, keyID, secret = "Z0KFEDTEST", "AKIAKFEDTEST", "kfed-test-secret-access-key"
	f := fake.NewServer()
	t.Cleanup(f.Close)
	f.AddZone(zoneID, zone)
	f.RequireAccessKeyID(keyID)

	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "route53-credentials"},
		Data: map[string][]byte{v1alpha1.SecretKeyAWSAccessKeyID: []byte("AKIAWRONG"), v1alpha1.SecretKeyAWSSecretAccessKey: []byte(secret)}}
	if err := fed.Host.Client.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fed.Host.Client.Delete(context.Background(), s) })
	createDomain(t, "route53", v1alpha1.DNSProvider{Route53: &v1alpha1.Route53Provider{HostedZoneID: zoneID,
		Endpoint: f.URL, CredentialsSecretRef: &v1alpha1.ObjectReference{Name: s.Name}}})
	c := domainReady(t, "route53", metav1.ConditionFalse, v1alpha1.ReasonUnauthorized)
	if strings.Contains(c.Message, secret) {
		t.Errorf("the message holds the secret access key: %s", c.Message)
	}
	s.Data[v1alpha1.SecretKeyAWSAccessKeyID] = []byte(keyID)
	if err := fed.Host.Client.Update(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	domainReady(t, "route53", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	exercise(t, route53Lookup(f, zoneID), "route53", "route53-shop")
}

// TestRoute53FakeGlobalAddress publishes a Weighted global address through the route53
// provider against the local fake of the Route 53 API: one weighted record set per member with
// the ready endpoints as weight, a change of endpoints an UPSERT of the weights and nothing
// more, a resync that changes nothing writes nothing; Geo with the members' Google Cloud
// regions is StrategyNotSupported naming the region (latency records need AWS regions).
func TestRoute53FakeGlobalAddress(t *testing.T) {
	const zoneID, keyID, secret = "Z0KFEDGLB", "AKIAKFEDGLB", "kfed-glb-secret-access-key"
	const ns, name, backend, host = "glb-route53", "store", "api", "store.example.com"
	f := fake.NewServer()
	t.Cleanup(f.Close)
	f.AddZone(zoneID, zone)
	f.RequireAccessKeyID(keyID)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "route53-glb-credentials"},
		Data: map[string][]byte{v1alpha1.SecretKeyAWSAccessKeyID: []byte(keyID), v1alpha1.SecretKeyAWSSecretAccessKey: []byte(secret)}}
	if err := fed.Host.Client.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fed.Host.Client.Delete(context.Background(), s) })
	createDomain(t, "route53-glb", v1alpha1.DNSProvider{Route53: &v1alpha1.Route53Provider{HostedZoneID: zoneID,
		Endpoint: f.URL, CredentialsSecretRef: &v1alpha1.ObjectReference{Name: s.Name}}})
	domainReady(t, "route53-glb", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	createNamespace(t, ns)
	m0, m1 := fed.Members[0], fed.Members[1]
	fi := createIngress(t, ns, name, backend, v1alpha1.GlobalLoadBalancer{Mode: v1alpha1.GlobalLoadBalancerDNS, Host: host,
		DomainRef: "route53-glb", Strategy: v1alpha1.StrategyWeighted})
	a0, a1 := "192.0.2.130", "192.0.2.131"
	serveIngress(t, ns, name, backend, [2]string{a0, a1}, [2]int{3, 1})

	weights := func() map[string]int64 {
		out := map[string]int64{}
		for _, r := range f.Records(zoneID) {
			if r.Name == dns.Fqdn(host) && r.Type == "A" && r.Weight != nil && len(r.Values) == 1 {
				out[r.SetIdentifier+"="+r.Values[0]] = *r.Weight
			}
		}
		return out
	}
	g := NewWithT(t)
	g.Eventually(weights).Should(Equal(map[string]int64{m0.Name + "=" + a0: 3, m1.Name + "=" + a1: 1}))
	globalAddress(t, fi, metav1.ConditionTrue, v1alpha1.ReasonGlobalAddressReady)
	setEndpoints(t, m1, ns, backend, 2)
	g.Eventually(weights).Should(Equal(map[string]int64{m0.Name + "=" + a0: 3, m1.Name + "=" + a1: 2}))
	// Nothing changes: no further change batch (the plan compares what Route 53 holds, weights
	// and all, so it finds nothing to do).
	applied := len(f.Applied())
	setIngressAddress(t, m0, ns, name, a0) // an event that changes nothing the plan reads
	g.Consistently(func() int { return len(f.Applied()) }, 3*time.Second).Should(Equal(applied))

	setStrategy(t, fi, v1alpha1.StrategyGeo, "")
	got := globalAddress(t, fi, metav1.ConditionFalse, v1alpha1.ReasonStrategyNotSupported)
	c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionGlobalAddressReady)
	g.Expect(c.Message).To(And(ContainSubstring("route53"), ContainSubstring("Geo"), ContainSubstring("AWS region"),
		Or(ContainSubstring(m0.Region), ContainSubstring(m1.Region))))
	g.Eventually(weights).Should(BeEmpty())
	g.Expect(c.Message).NotTo(ContainSubstring(secret))
}
