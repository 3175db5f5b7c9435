package dnscontroller_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
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
