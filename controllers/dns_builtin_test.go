package controllers

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfed-io/kfed/api/v1alpha1"
	kdns "github.com/kfed-io/kfed/internal/dns"
)

func TestZoneRecordsGiveANameToOneOwner(t *testing.T) {
	d := &v1alpha1.FederatedDomain{Spec: v1alpha1.FederatedDomainSpec{Domain: "example.com"}}
	at := func(s int) metav1.Time { return metav1.NewTime(time.Date(2026, 12, 1, 12, 0, s, 0, time.UTC)) }
	svc := v1alpha1.FederatedService{Status: v1alpha1.FederatedServiceStatus{DNS: &v1alpha1.ServiceDNSStatus{Domain: "example.com",
		Names: []v1alpha1.DNSName{
			{Name: "web.shop.myfed.svc.example.com", Type: "A", Targets: []string{"192.0.2.1"}},
			{Name: "web.shop.myfed.svc.example.com", Type: "AAAA", Targets: []string{"2001:db8::1"}},
			{Name: "web.shop.myfed.svc.other.org", Type: "A", Targets: []string{"192.0.2.1"}}, // not in the zone
		}}}}
	ingress := func(name string, created int, host, ip string) v1alpha1.FederatedIngress {
		return v1alpha1.FederatedIngress{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, CreationTimestamp: at(created)},
			Spec:       v1alpha1.FederatedIngressSpec{GlobalLoadBalancer: &v1alpha1.GlobalLoadBalancer{Host: host, TTL: ptrTo(int64(5))}},
			Status: v1alpha1.FederatedIngressStatus{DNS: &v1alpha1.IngressDNSStatus{Domain: "example.com", RecordSets: []v1alpha1.DNSRecordSet{
				{DNSName: v1alpha1.DNSName{Name: host, Type: "A", Targets: []string{ip}}, SetIdentifier: "a", Policy: kdns.RoutingWeighted, Weight: 3},
				{DNSName: v1alpha1.DNSName{Name: host, Type: "A", Targets: []string{"198.51.100.9"}}, SetIdentifier: "b", Policy: kdns.RoutingWeighted, Weight: 1},
			}}},
		}
	}
	ingresses := []v1alpha1.FederatedIngress{
		ingress("late", 9, "shop.example.com", "198.51.100.2"),                   // asked second: left out
		ingress("first", 1, "shop.example.com", "198.51.100.1"),                  // asked first: holds the host
		ingress("svc-name", 0, "web.shop.myfed.svc.example.com", "198.51.100.3"), // a Service's name: left out
	}
	got := zoneRecords(d, []v1alpha1.FederatedService{svc}, ingresses)
	want := []*kdns.Endpoint{
		{DNSName: "web.shop.myfed.svc.example.com", RecordType: "A", Targets: []string{"192.0.2.1"}, TTL: 30},
		{DNSName: "web.shop.myfed.svc.example.com", RecordType: "AAAA", Targets: []string{"2001:db8::1"}, TTL: 30},
		{DNSName: "shop.example.com", RecordType: "A", Targets: []string{"198.51.100.1"}, TTL: 5, SetIdentifier: "a",
			Routing: &kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 3}},
		{DNSName: "shop.example.com", RecordType: "A", Targets: []string{"198.51.100.9"}, TTL: 5, SetIdentifier: "b",
			Routing: &kdns.Routing{Policy: kdns.RoutingWeighted, Weight: 1}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("zone records (-want +got):\n%s", diff)
	}
}
