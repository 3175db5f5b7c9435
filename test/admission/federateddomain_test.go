package admission_test

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

func domain(name string, mods ...func(*v1alpha1.FederatedDomain)) *v1alpha1.FederatedDomain {
	o := &v1alpha1.FederatedDomain{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.FederatedDomainSpec{
			Domain:         "example.com",
			FederationName: "myfed",
			Provider: v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{
				Listen: "127.0.0.1:5353",
				Geo: []v1alpha1.GeoRegion{
					{Region: "us-east1", CIDRs: []string{"10.1.0.0/16", "2001:db8:1::/48"}},
					{Region: "europe-west1", CIDRs: []string{"10.2.0.0/16"}},
				},
			}},
		},
	}
	for _, m := range mods {
		m(o)
	}
	return o
}

func withProvider(p v1alpha1.DNSProvider) func(*v1alpha1.FederatedDomain) {
	return func(o *v1alpha1.FederatedDomain) { o.Spec.Provider = p }
}

func rfc2136(ref v1alpha1.ObjectReference) v1alpha1.DNSProvider {
	return v1alpha1.DNSProvider{RFC2136: &v1alpha1.RFC2136Provider{Server: "127.0.0.1:53", TSIGSecretRef: ref}}
}

func TestValidFederatedDomainOfEveryProviderIsAccepted(t *testing.T) {
	for name, p := range map[string]v1alpha1.DNSProvider{
		"builtin":      domain("x").Spec.Provider,
		"builtin-ipv6": {Builtin: &v1alpha1.BuiltinProvider{Listen: "[::1]:5353"}},
		"builtin-any":  {Builtin: &v1alpha1.BuiltinProvider{Listen: ":53"}},
		"coredns":      {CoreDNS: &v1alpha1.CoreDNSProvider{EtcdEndpoints: []string{"http://127.0.0.1:2379"}}},
		"rfc2136":      rfc2136(v1alpha1.ObjectReference{Name: "tsig", Namespace: "kfed-system"}),
		"externaldns":  {ExternalDNS: &v1alpha1.ExternalDNSProvider{}},
		"route53":      {Route53: &v1alpha1.Route53Provider{HostedZoneID: "Z123", Endpoint: "http://127.0.0.1:4566"}},
		"clouddns":     {GoogleCloudDNS: &v1alpha1.GoogleCloudDNSProvider{Project: "p", ManagedZone: "z"}},
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(host.Client.Create(t.Context(), domain(name, withProvider(p)), client.DryRunAll)).To(Succeed())
		})
	}
}

func TestFederatedDomainDefaultsAreApplied(t *testing.T) {
	g := NewWithT(t)
	obj := domain("defaults", withProvider(v1alpha1.DNSProvider{
		CoreDNS: &v1alpha1.CoreDNSProvider{EtcdEndpoints: []string{"http://127.0.0.1:2379"}},
	}))
	g.Expect(host.Client.Create(t.Context(), obj, client.DryRunAll)).To(Succeed())
	g.Expect(obj.Spec.TTL).To(Equal(ptr.To[int64](30)))
	g.Expect(obj.Spec.Provider.CoreDNS.Prefix).To(Equal("/skydns"))

	obj = domain("defaults", withProvider(rfc2136(v1alpha1.ObjectReference{Name: "tsig"})))
	g.Expect(host.Client.Create(t.Context(), obj, client.DryRunAll)).To(Succeed())
	g.Expect(obj.Spec.Provider.RFC2136.TSIGAlgorithm).To(Equal(v1alpha1.TSIGAlgorithm("hmac-sha256")))
}

func TestBadFederatedDomainsAreRejectedNamingTheField(t *testing.T) {
	tests := []struct {
		name string
		obj  client.Object
		want []string
	}{
		{
			name: "no provider",
			obj:  domain("bad", withProvider(v1alpha1.DNSProvider{})),
			want: []string{"spec.provider", "exactly one of builtin, coreDNS, rfc2136, externalDNS, route53 and googleCloudDNS must be set"},
		},
		{
			name: "two providers",
			obj: domain("bad", withProvider(v1alpha1.DNSProvider{
				Builtin:     &v1alpha1.BuiltinProvider{Listen: "127.0.0.1:5353"},
				ExternalDNS: &v1alpha1.ExternalDNSProvider{},
			})),
			want: []string{"spec.provider", "exactly one of builtin"},
		},
		{
			name: "listen without a port",
			obj:  domain("bad", withProvider(v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{Listen: "127.0.0.1"}})),
			want: []string{"spec.provider.builtin.listen", "listen must be host:port"},
		},
		{
			name: "listen with a port out of range",
			obj:  domain("bad", withProvider(v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{Listen: "127.0.0.1:70000"}})),
			want: []string{"spec.provider.builtin.listen", "listen must be host:port"},
		},
		{
			name: "listen with an IPv6 address without brackets",
			obj:  domain("bad", withProvider(v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{Listen: "::1:53"}})),
			want: []string{"spec.provider.builtin.listen", "listen must be host:port"},
		},
		{
			name: "geo entry that is not a CIDR",
			obj: domain("bad", withProvider(v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{
				Listen: "127.0.0.1:5353", Geo: []v1alpha1.GeoRegion{{Region: "us-east1", CIDRs: []string{"10.1.0.0"}}},
			}})),
			want: []string{"spec.provider.builtin.geo[0].cidrs[0]", "must be a CIDR"},
		},
		{
			name: "domain that is not a DNS name",
			obj:  domain("bad", func(o *v1alpha1.FederatedDomain) { o.Spec.Domain = "Example_com." }),
			want: []string{"spec.domain", "domain must be a DNS name"},
		},
		{
			name: "domain with an empty label",
			obj:  domain("bad", func(o *v1alpha1.FederatedDomain) { o.Spec.Domain = "example..com" }),
			want: []string{"spec.domain", "domain must be a DNS name"},
		},
		{
			name: "ttl 0",
			obj:  domain("bad", func(o *v1alpha1.FederatedDomain) { o.Spec.TTL = ptr.To[int64](0) }),
			want: []string{"spec.ttl", "greater than or equal to 1"},
		},
		{
			name: "ttl above a day",
			obj:  domain("bad", func(o *v1alpha1.FederatedDomain) { o.Spec.TTL = ptr.To[int64](86401) }),
			want: []string{"spec.ttl", "less than or equal to 86400"},
		},
		{
			name: "tsigSecretRef without a name",
			obj:  domain("bad", withProvider(rfc2136(v1alpha1.ObjectReference{Namespace: "kfed-system"}))),
			want: []string{"spec.provider.rfc2136.tsigSecretRef.name", "tsigSecretRef.name is required"},
		},
		{
			name: "rfc2136 server without a port",
			obj: domain("bad", withProvider(v1alpha1.DNSProvider{RFC2136: &v1alpha1.RFC2136Provider{
				Server: "ns1.example.com", TSIGSecretRef: v1alpha1.ObjectReference{Name: "tsig"},
			}})),
			want: []string{"spec.provider.rfc2136.server", "server must be host:port"},
		},
		{
			name: "coreDNS endpoint that is no URL",
			obj: domain("bad", withProvider(v1alpha1.DNSProvider{CoreDNS: &v1alpha1.CoreDNSProvider{
				EtcdEndpoints: []string{"127.0.0.1:2379"},
			}})),
			want: []string{"spec.provider.coreDNS.etcdEndpoints[0]", "must be an http:// or https:// URL"},
		},
		{
			name: "FederatedService dns ttl 0",
			obj: func() client.Object {
				o := service("bad")
				o.Spec.DNS = &v1alpha1.ServiceDNS{TTL: ptr.To[int64](0)}
				return o
			}(),
			want: []string{"spec.dns.ttl", "greater than or equal to 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectRejected(t, tt.obj, tt.want...) })
	}
}

// TestTSIGSecretRefWithoutNameNamesTheField sends the object as a user would write it, with
// tsigSecretRef: {} (no name key at all), so the rule fires on a missing field, not an empty one.
func TestTSIGSecretRefWithoutNameNamesTheField(t *testing.T) {
	g := NewWithT(t)
	u := map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       "FederatedDomain",
		"metadata":   map[string]any{"name": "bad"},
		"spec": map[string]any{
			"domain": "example.com", "federationName": "myfed",
			"provider": map[string]any{"rfc2136": map[string]any{"server": "127.0.0.1:53", "tsigSecretRef": map[string]any{}}},
		},
	}
	err := host.Client.Create(t.Context(), &unstructured.Unstructured{Object: u}, client.DryRunAll)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.provider.rfc2136.tsigSecretRef.name: Required value"), fmt.Sprint(err))
	t.Log(err)
}

func TestFederatedServiceDNSStatusRoundTrips(t *testing.T) {
	g := NewWithT(t)
	svc := service("dns-status")
	svc.Spec.DNS = &v1alpha1.ServiceDNS{DomainRef: "example", TTL: ptr.To[int64](60)}
	g.Expect(host.Client.Create(t.Context(), svc)).To(Succeed())
	t.Cleanup(func() { _ = host.Client.Delete(t.Context(), svc) })

	svc.Status.ClusterCount = 2
	svc.Status.DNS = &v1alpha1.ServiceDNSStatus{Domain: "example.com", Names: []v1alpha1.DNSName{
		{Name: "web.default.myfed.svc.example.com", Type: v1alpha1.DNSRecordTypeA, Targets: []string{"10.0.0.1"}},
		{Name: "web.default.myfed.svc.example.com", Type: v1alpha1.DNSRecordTypeAAAA, Targets: []string{"2001:db8::1"}},
		{Name: "web.default.myfed.svc.us-east1.example.com", Type: v1alpha1.DNSRecordTypeCNAME, Targets: []string{"web.default.myfed.svc.example.com"}},
	}}
	g.Expect(host.Client.Status().Update(t.Context(), svc)).To(Succeed())

	got := &v1alpha1.FederatedService{}
	g.Expect(host.Client.Get(t.Context(), client.ObjectKeyFromObject(svc), got)).To(Succeed())
	g.Expect(got.Status.DNS).To(Equal(svc.Status.DNS))
	g.Expect(got.GetFederatedStatus().ClusterCount).To(Equal(int32(2)))
}
