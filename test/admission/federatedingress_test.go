package admission_test

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

func withGLB(glb v1alpha1.GlobalLoadBalancer) *v1alpha1.FederatedIngress {
	o := ingress("glb")
	o.Spec.GlobalLoadBalancer = &glb
	return o
}

func TestValidGlobalLoadBalancersAreAccepted(t *testing.T) {
	for name, glb := range map[string]v1alpha1.GlobalLoadBalancer{
		"dns round robin": {Mode: v1alpha1.GlobalLoadBalancerDNS, Host: "shop.example.com"},
		"dns weighted": {
			Mode: v1alpha1.GlobalLoadBalancerDNS, Host: "shop.example.com", DomainRef: "example",
			Strategy: v1alpha1.StrategyWeighted, TTL: ptr.To[int64](5),
		},
		"dns failover": {Host: "shop.example.com", Strategy: v1alpha1.StrategyFailover, PrimaryRegion: "us-east1"},
		"dns geo":      {Host: "a.b.example.com", Strategy: v1alpha1.StrategyGeo, TTL: ptr.To[int64](86400)},
		"gclb":         {Mode: v1alpha1.GlobalLoadBalancerGCLB, StaticIPName: "shop-ip"},
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(host.Client.Create(t.Context(), withGLB(glb), client.DryRunAll)).To(Succeed())
		})
	}
}

func TestGlobalLoadBalancerDefaultsAreApplied(t *testing.T) {
	g := NewWithT(t)
	obj := withGLB(v1alpha1.GlobalLoadBalancer{Host: "shop.example.com"})
	g.Expect(host.Client.Create(t.Context(), obj, client.DryRunAll)).To(Succeed())
	g.Expect(obj.Spec.GlobalLoadBalancer.Mode).To(Equal(v1alpha1.GlobalLoadBalancerDNS))
	g.Expect(obj.Spec.GlobalLoadBalancer.Strategy).To(Equal(v1alpha1.StrategyRoundRobin))
	g.Expect(obj.Spec.GlobalLoadBalancer.TTL).To(BeNil(), "an unset ttl means the FederatedDomain's")
}

func TestBadGlobalLoadBalancersAreRejectedNamingTheField(t *testing.T) {
	const f = "spec.globalLoadBalancer"
	tests := []struct {
		name string
		glb  v1alpha1.GlobalLoadBalancer
		want []string
	}{
		{"dns without host", v1alpha1.GlobalLoadBalancer{Mode: v1alpha1.GlobalLoadBalancerDNS},
			[]string{f + ".host", "host is required when mode is DNS"}},
		{"defaulted mode without host", v1alpha1.GlobalLoadBalancer{Strategy: v1alpha1.StrategyGeo},
			[]string{f + ".host", "host is required when mode is DNS"}},
		{"host with a trailing dot", v1alpha1.GlobalLoadBalancer{Host: "shop.example.com."},
			[]string{f + ".host", "host must be a DNS name"}},
		{"host in upper case", v1alpha1.GlobalLoadBalancer{Host: "Shop.example.com"},
			[]string{f + ".host", "host must be a DNS name"}},
		{"host with an underscore", v1alpha1.GlobalLoadBalancer{Host: "shop_1.example.com"},
			[]string{f + ".host", "host must be a DNS name"}},
		{"gclb without staticIPName", v1alpha1.GlobalLoadBalancer{Mode: v1alpha1.GlobalLoadBalancerGCLB},
			[]string{f + ".staticIPName", "staticIPName is required when mode is GCLB"}},
		{"staticIPName that is no GCE name", v1alpha1.GlobalLoadBalancer{Mode: v1alpha1.GlobalLoadBalancerGCLB, StaticIPName: "1-shop"},
			[]string{f + ".staticIPName", "staticIPName must be a GCE resource name"}},
		{"failover without primaryRegion", v1alpha1.GlobalLoadBalancer{Host: "shop.example.com", Strategy: v1alpha1.StrategyFailover},
			[]string{f + ".primaryRegion", "primaryRegion is required when strategy is Failover"}},
		{"unknown strategy", v1alpha1.GlobalLoadBalancer{Host: "shop.example.com", Strategy: "Latency"},
			[]string{f + ".strategy", `Unsupported value: "Latency"`}},
		{"unknown mode", v1alpha1.GlobalLoadBalancer{Mode: "Anycast", Host: "shop.example.com"},
			[]string{f + ".mode", `Unsupported value: "Anycast"`}},
		{"ttl 0", v1alpha1.GlobalLoadBalancer{Host: "shop.example.com", TTL: ptr.To[int64](0)},
			[]string{f + ".ttl", "greater than or equal to 1"}},
		{"ttl above a day", v1alpha1.GlobalLoadBalancer{Host: "shop.example.com", TTL: ptr.To[int64](86401)},
			[]string{f + ".ttl", "less than or equal to 86400"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectRejected(t, withGLB(tt.glb), tt.want...) })
	}
}

// TestGlobalLoadBalancerAsWrittenByAUser sends globalLoadBalancer: {} (no keys at all), as a user
// might write it: mode defaults to DNS, and the missing host is named.
func TestGlobalLoadBalancerAsWrittenByAUser(t *testing.T) {
	g := NewWithT(t)
	u := map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       "FederatedIngress",
		"metadata":   map[string]any{"name": "bad", "namespace": namespace},
		"spec":       map[string]any{"template": map[string]any{}, "globalLoadBalancer": map[string]any{}},
	}
	err := host.Client.Create(t.Context(), &unstructured.Unstructured{Object: u}, client.DryRunAll)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.globalLoadBalancer.host"))
	g.Expect(err.Error()).To(ContainSubstring("host is required when mode is DNS"))
}

func TestFederatedIngressAddressesRoundTrip(t *testing.T) {
	g := NewWithT(t)
	obj := withGLB(v1alpha1.GlobalLoadBalancer{Host: "shop.example.com", Strategy: v1alpha1.StrategyWeighted})
	obj.Name = "addresses"
	g.Expect(host.Client.Create(t.Context(), obj)).To(Succeed())
	t.Cleanup(func() { _ = host.Client.Delete(t.Context(), obj) })

	obj.Status.ClusterCount = 2
	obj.Status.Addresses = []v1alpha1.GlobalAddress{
		{IP: "10.0.0.1", Clusters: []string{"us-east1"}},
		{Hostname: "lb.example.net", Clusters: []string{"europe-west1", "europe-west2"}},
	}
	want := obj.Status.DeepCopy()
	g.Expect(host.Client.Status().Update(t.Context(), obj)).To(Succeed())
	got := &v1alpha1.FederatedIngress{}
	g.Expect(host.Client.Get(t.Context(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
	g.Expect(got.Status.Addresses).To(Equal(want.Addresses))
	g.Expect(got.Status.ClusterCount).To(Equal(int32(2)))

	got.Status.Addresses = []v1alpha1.GlobalAddress{{IP: "10.0.0.1", Hostname: "lb.example.net"}}
	err := host.Client.Status().Update(t.Context(), got)
	g.Expect(err).To(HaveOccurred(), "an address with both ip and hostname was accepted")
	g.Expect(err.Error()).To(ContainSubstring("status.addresses[0]"))
	g.Expect(err.Error()).To(ContainSubstring("exactly one of ip and hostname must be set"))
}
