package dnscontroller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/rfc2136"
)

// dnsPublished waits until the Service's DNSPublished condition has the status and reason.
func dnsPublished(t *testing.T, fs *v1alpha1.FederatedService, status metav1.ConditionStatus, reason string) *v1alpha1.FederatedService {
	t.Helper()
	return waitCondition(t, fs, &v1alpha1.FederatedService{}, func(o *v1alpha1.FederatedService) []metav1.Condition { return o.Status.Conditions },
		v1alpha1.ConditionDNSPublished, status, reason)
}

// waitCondition waits until the host object of obj's key (read into got) has a condition of
// the type with the status and reason, and returns it.
func waitCondition[T client.Object](t *testing.T, obj, got T, conditions func(T) []metav1.Condition, typ string,
	status metav1.ConditionStatus, reason string) T {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(obj), got)).To(Succeed())
		c := meta.FindStatusCondition(conditions(got), typ)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(status), c.Message)
		g.Expect(c.Reason).To(Equal(reason), c.Message)
	}).Should(Succeed())
	return got
}

// propagationTime creates a FederatedConfigMap and returns how long until both members hold it.
func propagationTime(t *testing.T, ns, name string) time.Duration {
	t.Helper()
	start := time.Now()
	fcm := &v1alpha1.FederatedConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.FederatedConfigMapSpec{Template: v1alpha1.ConfigMapTemplate{Data: map[string]string{"k": "v"}}}}
	if err := fed.Host.Client.Create(t.Context(), fcm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fed.Host.Client.Delete(context.Background(), fcm) })
	for _, m := range fed.Members {
		NewWithT(t).Eventually(func() error {
			return m.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &corev1.ConfigMap{})
		}).Should(Succeed())
	}
	return time.Since(start)
}

// TestProviderOutage takes each provider's server away: the FederatedDomain says so (reason,
// the server named, no key material), propagation goes on as fast as before, and when the server
// comes back the records converge to the plan made meanwhile, without duplicates.
func TestProviderOutage(t *testing.T) {
	tsigSecret(t, "outage-tsig", named.KeySecret)
	for _, tc := range []struct {
		name       string
		provider   v1alpha1.DNSProvider
		addr       string
		stop       func()
		start      func() error
		wantInText string
	}{
		{"coredns", v1alpha1.DNSProvider{CoreDNS: &v1alpha1.CoreDNSProvider{EtcdEndpoints: []string{etcd.ClientURL}}},
			coreDNS.Addr, etcd.Stop, func() error { return etcd.Start(context.Background()) }, etcd.ClientURL},
		{"bind", rfc2136Provider("outage-tsig"), named.Addr, named.Stop, func() error { return named.Start(context.Background()) }, named.Addr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const svc = "web"
			ns := "outage-" + tc.name
			domain := "outage-" + tc.name
			createNamespace(t, ns)
			createDomain(t, domain, tc.provider)
			domainReady(t, domain, metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
			fs := createService(t, ns, svc, withDomain(domain))
			makeHealthy(t, ns, svc)
			n := namesOf(svc, ns)
			a0, a1 := memberAddress(0), memberAddress(1)
			waitAnswer(t, dnsLookup(tc.addr), n.global, dns.TypeA, "NOERROR", a0, a1)
			before := propagationTime(t, ns, "before")

			tc.stop()
			restarted := false
			t.Cleanup(func() {
				if !restarted {
					_ = tc.start()
				}
			})
			// A change the provider cannot take: member 1 loses its address.
			setLoadBalancer(t, fed.Members[1], ns, svc, "")
			c := domainReady(t, domain, metav1.ConditionFalse, v1alpha1.ReasonProviderUnreachable)
			if !strings.Contains(c.Message, tc.wantInText) {
				t.Errorf("the message does not name the server %s: %s", tc.wantInText, c.Message)
			}
			if strings.Contains(c.Message, named.KeySecret) {
				t.Errorf("the message holds the key: %s", c.Message)
			}
			dnsPublished(t, fs, metav1.ConditionFalse, v1alpha1.ReasonProviderFailed)
			during := propagationTime(t, ns, "during")
			t.Logf("propagation of a new FederatedConfigMap to 2 members: %v with the provider up, %v with it down", before, during)
			if during > before+10*time.Second {
				t.Errorf("propagation took %v with the DNS provider down, %v with it up", during, before)
			}

			if err := tc.start(); err != nil {
				t.Fatal(err)
			}
			restarted = true
			domainReady(t, domain, metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
			waitAnswer(t, dnsLookup(tc.addr), n.global, dns.TypeA, "NOERROR", a0)
			dnsPublished(t, fs, metav1.ConditionTrue, v1alpha1.ReasonDNSPublished)
			setLoadBalancer(t, fed.Members[1], ns, svc, a1)
			waitAnswer(t, dnsLookup(tc.addr), n.global, dns.TypeA, "NOERROR", a0, a1)
			waitAnswer(t, dnsLookup(tc.addr), n.zone1, dns.TypeA, "NOERROR", a1)
		})
	}
}

// TestRecordOfAnotherIsNeverTouched puts a record kfed does not own at a Service's global name:
// the Service says RecordConflict naming it, publishes the rest, and the record stays.
func TestRecordOfAnotherIsNeverTouched(t *testing.T) {
	const svc, ns = "taken", "conflict-shop"
	n := namesOf(svc, ns)
	foreign, err := rfc2136.New(rfc2136.Config{Server: named.Addr, Zone: zone, TSIGKeyName: named.KeyName, TSIGSecret: named.KeySecret})
	if err != nil {
		t.Fatal(err)
	}
	theirs := &kdns.Endpoint{DNSName: n.global, RecordType: kdns.RecordTypeA, Targets: []string{"198.51.100.7"}, TTL: 60}
	if err := foreign.ApplyChanges(t.Context(), &kdns.Changes{Create: []*kdns.Endpoint{theirs}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = foreign.ApplyChanges(context.Background(), &kdns.Changes{Delete: []*kdns.Endpoint{theirs}})
	})

	tsigSecret(t, "conflict-tsig", named.KeySecret)
	createDomain(t, "conflict", rfc2136Provider("conflict-tsig"))
	createNamespace(t, ns)
	fs := createService(t, ns, svc, withDomain("conflict"))
	makeHealthy(t, ns, svc)
	got := dnsPublished(t, fs, metav1.ConditionFalse, v1alpha1.ReasonRecordConflict)
	c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDNSPublished)
	if !strings.Contains(c.Message, n.global+" A") || !strings.Contains(c.Message, "no ownership record") {
		t.Errorf("the condition does not name the record and its owner: %s", c.Message)
	}
	for _, name := range got.Status.DNS.Names {
		if name.Name == n.global {
			t.Errorf("status.dns claims the taken name: %+v", name)
		}
	}
	waitAnswer(t, dnsLookup(named.Addr), n.zone0, dns.TypeA, "NOERROR", memberAddress(0))
	waitAnswer(t, dnsLookup(named.Addr), n.global, dns.TypeA, "NOERROR", "198.51.100.7")
}

// TestServicesThatAskForNoNames: a Service of type LoadBalancer gets names in the only
// FederatedDomain without asking; one with spec.dns.disabled, and a ClusterIP Service without
// spec.dns, get none and no DNSPublished condition, and their Ready does not wait on DNS.
func TestServicesThatAskForNoNames(t *testing.T) {
	port := listenAddr(t)
	createDomain(t, "only", v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{Listen: port}})
	domainReady(t, "only", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	const ns = "asking-shop"
	createNamespace(t, ns)
	auto := createService(t, ns, "auto")
	off := createService(t, ns, "off", func(fs *v1alpha1.FederatedService) { fs.Spec.DNS = &v1alpha1.ServiceDNS{Disabled: true} })
	internal := createService(t, ns, "internal", func(fs *v1alpha1.FederatedService) { fs.Spec.Template.Spec.Type = corev1.ServiceTypeClusterIP })
	for _, name := range []string{"auto", "off"} {
		makeHealthy(t, ns, name)
	}
	for _, m := range fed.Members {
		setEndpoint(t, m, ns, "internal", true)
	}
	waitAnswer(t, dnsLookup(port), namesOf("auto", ns).global, dns.TypeA, "NOERROR", memberAddress(0), memberAddress(1))
	dnsPublished(t, auto, metav1.ConditionTrue, v1alpha1.ReasonDNSPublished)
	for _, fs := range []*v1alpha1.FederatedService{off, internal} {
		NewWithT(t).Eventually(func(g Gomega) {
			got := &v1alpha1.FederatedService{}
			g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fs), got)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue(), "%v", got.Status.Conditions)
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDNSPublished)).To(BeNil())
			g.Expect(got.Status.DNS).To(BeNil())
		}).Should(Succeed())
		waitAnswer(t, dnsLookup(port), namesOf(fs.Name, ns).global, dns.TypeA, "NXDOMAIN")
	}
	// Turning DNS off withdraws the names.
	NewWithT(t).Eventually(func() error {
		got := &v1alpha1.FederatedService{}
		if err := fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(auto), got); err != nil {
			return err
		}
		got.Spec.DNS = &v1alpha1.ServiceDNS{Disabled: true}
		return fed.Host.Client.Update(t.Context(), got)
	}).Should(Succeed())
	waitAnswer(t, dnsLookup(port), namesOf("auto", ns).global, dns.TypeA, "NXDOMAIN")
}

// TestHostWithoutTheDNSEndpointCRD: an externalDNS FederatedDomain in a host without the
// DNSEndpoint CRD is CRDMissing, and Ready once the CRD is installed.
func TestHostWithoutTheDNSEndpointCRD(t *testing.T) {
	ctx := t.Context()
	sch := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	crds, err := client.New(fed.Host.Config, client.Options{Scheme: sch})
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := crds.Get(ctx, client.ObjectKey{Name: "dnsendpoints.externaldns.k8s.io"}, crd); err != nil {
		t.Fatal(err)
	}
	saved := crd.DeepCopy()
	if err := crds.Delete(ctx, crd); err != nil {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func() bool {
		return apierrors.IsNotFound(crds.Get(ctx, client.ObjectKey{Name: saved.Name}, &apiextensionsv1.CustomResourceDefinition{}))
	}).Should(BeTrue())
	reinstall := func() {
		again := &apiextensionsv1.CustomResourceDefinition{Spec: saved.Spec,
			ObjectMeta: metav1.ObjectMeta{Name: saved.Name, Labels: saved.Labels, Annotations: saved.Annotations}}
		NewWithT(t).Eventually(func() error {
			err := crds.Create(context.Background(), again)
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return err
		}).Should(Succeed())
	}
	reinstalled := false
	t.Cleanup(func() {
		if !reinstalled {
			reinstall()
		}
	})
	createDomain(t, "no-crd", v1alpha1.DNSProvider{ExternalDNS: &v1alpha1.ExternalDNSProvider{}})
	c := domainReady(t, "no-crd", metav1.ConditionFalse, v1alpha1.ReasonCRDMissing)
	if !strings.Contains(c.Message, "DNSEndpoint") {
		t.Errorf("the message does not name the kind: %s", c.Message)
	}
	reinstall()
	reinstalled = true
	domainReady(t, "no-crd", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
}
