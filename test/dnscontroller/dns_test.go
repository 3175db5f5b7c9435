package dnscontroller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	kdns "github.com/kfed-io/kfed/internal/dns"
	"github.com/kfed-io/kfed/internal/dns/externaldns"
	"github.com/kfed-io/kfed/test/framework"
)

// lookup answers a question the way the provider's clients see it: rcode and sorted targets.
type lookup func(name string, qtype uint16) (rcode string, targets []string, err error)

func dnsLookup(addr string) lookup {
	return func(name string, qtype uint16) (string, []string, error) { return framework.Answer(addr, name, qtype) }
}

// dnsEndpointLookup reads the DNSEndpoints in the host as external-dns would publish them.
func dnsEndpointLookup(domain string) lookup {
	return func(name string, qtype uint16) (string, []string, error) {
		var list unstructured.UnstructuredList
		list.SetGroupVersionKind(externaldns.GroupVersionKind.GroupVersion().WithKind("DNSEndpointList"))
		if err := fed.Host.Client.List(context.Background(), &list, client.MatchingLabels{"federation.kfed.io/domain": domain}); err != nil {
			return "", nil, err
		}
		var targets []string
		found := false
		for _, u := range list.Items {
			eps, _, _ := unstructured.NestedSlice(u.Object, "spec", "endpoints")
			for _, e := range eps {
				m := e.(map[string]any)
				if m["dnsName"] != name {
					continue
				}
				found = true
				if m["recordType"] != dns.TypeToString[qtype] {
					continue
				}
				for _, t := range m["targets"].([]any) {
					s := t.(string)
					if qtype == dns.TypeCNAME {
						s = dns.Fqdn(s)
					}
					targets = append(targets, s)
				}
			}
		}
		slices.Sort(targets)
		if !found {
			return "NXDOMAIN", nil, nil
		}
		return "NOERROR", targets, nil
	}
}

// names are the federation v1 names of a service at each member.
type names struct{ global, region0, zone0, region1, zone1 string }

func namesOf(svc, ns string) names {
	m0, m1 := fed.Members[0], fed.Members[1]
	n0 := kdns.Names(svc, ns, federation, zone, m0.Region, m0.Zone)
	n1 := kdns.Names(svc, ns, federation, zone, m1.Region, m1.Zone)
	return names{global: n0.Global, region0: n0.Region, zone0: n0.Zone, region1: n1.Region, zone1: n1.Zone}
}

// waitAnswer waits until name's qtype answers rcode with exactly want.
func waitAnswer(t *testing.T, look lookup, name string, qtype uint16, rcode string, want ...string) {
	t.Helper()
	slices.Sort(want)
	var last string
	// Generous: after a member's API server restarts (as every exercise does), client-go's
	// reflector backoff can hold a member watch's new events for tens of seconds.
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, targets, err := look(name, qtype)
		if err == nil && got == rcode && slices.Equal(targets, want) {
			return
		}
		last = fmt.Sprintf("%s %v (err %v)", got, targets, err)
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: want %s %v, last answer %s", name, dns.TypeToString[qtype], rcode, want, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func createNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := fed.Host.Client.Create(t.Context(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func createDomain(t *testing.T, name string, p v1alpha1.DNSProvider) {
	t.Helper()
	d := &v1alpha1.FederatedDomain{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.FederatedDomainSpec{Domain: zone, FederationName: federation, Provider: p}}
	if err := fed.Host.Client.Create(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fed.Host.Client.Delete(context.Background(), d) })
}

// domainReady waits until the FederatedDomain's Ready condition has the status and reason, and
// returns it.
func domainReady(t *testing.T, name string, status metav1.ConditionStatus, reason string) metav1.Condition {
	t.Helper()
	var c metav1.Condition
	NewWithT(t).Eventually(func(g Gomega) {
		d := &v1alpha1.FederatedDomain{}
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKey{Name: name}, d)).To(Succeed())
		got := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.ConditionReady)
		g.Expect(got).NotTo(BeNil())
		g.Expect(got.Status).To(Equal(status), got.Message)
		g.Expect(got.Reason).To(Equal(reason), got.Message)
		c = *got
	}).Should(Succeed())
	return c
}

// createService creates a FederatedService of type LoadBalancer on both members.
func createService(t *testing.T, ns, name string, mods ...func(*v1alpha1.FederatedService)) *v1alpha1.FederatedService {
	t.Helper()
	fs := &v1alpha1.FederatedService{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.FederatedServiceSpec{Template: v1alpha1.ServiceTemplate{Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80}},
		}}}}
	for _, m := range mods {
		m(fs)
	}
	if err := fed.Host.Client.Create(t.Context(), fs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fed.Host.Client.Delete(context.Background(), fs) })
	return fs
}

func withDomain(name string) func(*v1alpha1.FederatedService) {
	return func(fs *v1alpha1.FederatedService) { fs.Spec.DNS = &v1alpha1.ServiceDNS{DomainRef: name} }
}

// setLoadBalancer plays the cloud's load-balancer controller (a fake: nothing here assigns
// addresses): it sets the member Service's status.loadBalancer.ingress, empty for ip "".
func setLoadBalancer(t *testing.T, m *framework.Cluster, ns, name, ip string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		svc := &corev1.Service{}
		g.Expect(m.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, svc)).To(Succeed())
		svc.Status.LoadBalancer.Ingress = nil
		if ip != "" {
			svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
		}
		g.Expect(m.Client.Status().Update(t.Context(), svc)).To(Succeed())
	}).Should(Succeed())
}

// setEndpoint plays the member's EndpointSlice controller: one endpoint, ready or not.
func setEndpoint(t *testing.T, m *framework.Cluster, ns, name string, ready bool) {
	t.Helper()
	es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-fake",
		Labels: map[string]string{discoveryv1.LabelServiceName: name}}, AddressType: discoveryv1.AddressTypeIPv4}
	NewWithT(t).Eventually(func(g Gomega) {
		err := m.Client.Get(t.Context(), client.ObjectKeyFromObject(es), es)
		if apierrors.IsNotFound(err) {
			es.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}
			g.Expect(m.Client.Create(t.Context(), es)).To(Succeed())
			return
		}
		g.Expect(err).NotTo(HaveOccurred())
		es.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}
		g.Expect(m.Client.Update(t.Context(), es)).To(Succeed())
	}).Should(Succeed())
}

// memberAddress is the fake load-balancer address of member i.
func memberAddress(i int) string { return fmt.Sprintf("192.0.2.%d", 10+i) }

// makeHealthy waits for the member Services kfed writes and gives each an address and a ready
// endpoint.
func makeHealthy(t *testing.T, ns, name string) {
	t.Helper()
	for i, m := range fed.Members {
		setLoadBalancer(t, m, ns, name, memberAddress(i))
		setEndpoint(t, m, ns, name, true)
	}
}

// exercise runs the whole story on one provider: names of both members; member 1 stops counting
// in each of the three ways (NotReady, no load-balancer address, no ready endpoint) and comes
// back; the Service's status and condition; and its names go when it is deleted.
func exercise(t *testing.T, look lookup, domain, ns string) {
	const svc = "k8shserver"
	createNamespace(t, ns)
	fs := createService(t, ns, svc, withDomain(domain))
	t.Cleanup(func() {
		got := &v1alpha1.FederatedService{}
		if t.Failed() && fed.Host.Client.Get(context.Background(), client.ObjectKeyFromObject(fs), got) == nil {
			t.Logf("FederatedService %s/%s conditions: %+v", ns, svc, got.Status.Conditions)
		}
	})
	makeHealthy(t, ns, svc)
	n := namesOf(svc, ns)
	a0, a1 := memberAddress(0), memberAddress(1)

	healthy := func(step string) {
		t.Helper()
		t.Log(step)
		waitAnswer(t, look, n.global, dns.TypeA, "NOERROR", a0, a1)
		waitAnswer(t, look, n.region0, dns.TypeA, "NOERROR", a0)
		waitAnswer(t, look, n.zone0, dns.TypeA, "NOERROR", a0)
		waitAnswer(t, look, n.zone1, dns.TypeA, "NOERROR", a1)
	}
	oneDown := func(step string) {
		t.Helper()
		t.Log(step)
		waitAnswer(t, look, n.global, dns.TypeA, "NOERROR", a0)
		waitAnswer(t, look, n.zone1, dns.TypeCNAME, "NOERROR", dns.Fqdn(n.region1))
		waitAnswer(t, look, n.region1, dns.TypeCNAME, "NOERROR", dns.Fqdn(n.global))
		waitAnswer(t, look, n.zone0, dns.TypeA, "NOERROR", a0)
	}
	healthy("both members healthy")
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		got := &v1alpha1.FederatedService{}
		g.Expect(fed.Host.Client.Get(t.Context(), client.ObjectKeyFromObject(fs), got)).To(Succeed())
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionDNSPublished)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
		g.Expect(got.Status.DNS).NotTo(BeNil())
		g.Expect(got.Status.DNS.Domain).To(Equal(zone))
		var globals []string
		for _, nm := range got.Status.DNS.Names {
			if nm.Name == n.global {
				globals = nm.Targets
			}
		}
		g.Expect(globals).To(ConsistOf(a0, a1))
	}).Should(Succeed())

	m1 := fed.Members[1]
	setLoadBalancer(t, m1, ns, svc, "")
	oneDown("member 1 without a load-balancer address")
	setLoadBalancer(t, m1, ns, svc, a1)
	healthy("member 1 has its address back")

	setEndpoint(t, m1, ns, svc, false)
	oneDown("member 1 without a ready endpoint")
	setEndpoint(t, m1, ns, svc, true)
	healthy("member 1 has a ready endpoint again")

	if err := m1.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = m1.StartAPIServer()
		}
	})
	oneDown("member 1 NotReady (API server stopped)")
	if err := m1.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	healthy("member 1 Ready again")

	if err := fed.Host.Client.Delete(t.Context(), fs); err != nil {
		t.Fatal(err)
	}
	waitAnswer(t, look, n.global, dns.TypeA, "NXDOMAIN")
	waitAnswer(t, look, n.zone1, dns.TypeA, "NXDOMAIN")
}

func TestBuiltinServerAnswersTheHealthyMembers(t *testing.T) {
	addr := listenAddr(t)
	createDomain(t, "builtin", v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{Listen: addr}})
	domainReady(t, "builtin", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	// The negative TTL (SOA minimum) is the domain's TTL.
	r, _, err := (&dns.Client{}).Exchange(newQuestion(zone, dns.TypeSOA), addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answer) != 1 || r.Answer[0].(*dns.SOA).Minttl != 30 {
		t.Errorf("SOA of the builtin zone: %v, want minimum 30 (the domain's TTL)", r.Answer)
	}
	exercise(t, dnsLookup(addr), "builtin", "builtin-shop")
}

// listenAddr is a free loopback host:port for a builtin server.
func listenAddr(t *testing.T) string {
	t.Helper()
	port, err := framework.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func newQuestion(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	return m
}

func TestCoreDNSOverEtcdAnswersTheHealthyMembers(t *testing.T) {
	createDomain(t, "coredns", v1alpha1.DNSProvider{CoreDNS: &v1alpha1.CoreDNSProvider{EtcdEndpoints: []string{etcd.ClientURL}}})
	domainReady(t, "coredns", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	exercise(t, dnsLookup(coreDNS.Addr), "coredns", "coredns-shop")
}

// tsigSecret creates the Secret of the TSIG key; the cleanup deletes it.
func tsigSecret(t *testing.T, name, secret string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: name},
		Data: map[string][]byte{v1alpha1.SecretKeyTSIG: []byte(secret), v1alpha1.SecretKeyTSIGName: []byte(named.KeyName)}}
	if err := fed.Host.Client.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fed.Host.Client.Delete(context.Background(), s) })
	return s
}

func rfc2136Provider(secret string) v1alpha1.DNSProvider {
	return v1alpha1.DNSProvider{RFC2136: &v1alpha1.RFC2136Provider{Server: named.Addr,
		TSIGSecretRef: v1alpha1.ObjectReference{Name: secret}}}
}

func TestBINDWithTSIGAnswersTheHealthyMembers(t *testing.T) {
	tsigSecret(t, "bind-tsig", named.KeySecret)
	createDomain(t, "bind", rfc2136Provider("bind-tsig"))
	domainReady(t, "bind", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	exercise(t, dnsLookup(named.Addr), "bind", "bind-shop")
}

func TestBINDRefusesAWrongKeyWithAClearCondition(t *testing.T) {
	wrong := "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc="
	s := tsigSecret(t, "wrong-tsig", wrong)
	createDomain(t, "bind-wrong", rfc2136Provider("wrong-tsig"))
	c := domainReady(t, "bind-wrong", metav1.ConditionFalse, v1alpha1.ReasonUnauthorized)
	for _, want := range []string{named.Addr, tsigKeyName} {
		if !strings.Contains(c.Message, want) {
			t.Errorf("the message does not name %s: %s", want, c.Message)
		}
	}
	if strings.Contains(c.Message, wrong) || strings.Contains(c.Message, named.KeySecret) {
		t.Errorf("the message holds key material: %s", c.Message)
	}
	// kstatus (Flux, cli-utils appliers) reads the refused domain as Failed, not Current.
	if got := domainKstatus(t, "bind-wrong"); got != kstatus.FailedStatus {
		t.Errorf("kstatus of a domain whose key is refused: %s, want %s", got, kstatus.FailedStatus)
	}
	// kubectl get says at a glance which provider and why.
	out := framework.Kubectl(t, fed.Host, "get", "fdomain", "bind-wrong")
	for column, want := range map[string]string{"PROVIDER": "rfc2136", "READY": "False", "REASON": v1alpha1.ReasonUnauthorized} {
		if got := framework.TableCell(t, out, column); got != want {
			t.Errorf("kubectl get fdomain: %s is %q, want %q:\n%s", column, got, want, out)
		}
	}
	// A missing Secret says so; the right key makes the domain Ready.
	createDomain(t, "bind-nosecret", rfc2136Provider("no-such-secret"))
	c = domainReady(t, "bind-nosecret", metav1.ConditionFalse, v1alpha1.ReasonSecretNotFound)
	if !strings.Contains(c.Message, operatorNamespace+"/no-such-secret") {
		t.Errorf("the message does not name the Secret: %s", c.Message)
	}
	s.Data[v1alpha1.SecretKeyTSIG] = []byte(named.KeySecret)
	if err := fed.Host.Client.Update(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	domainReady(t, "bind-wrong", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	if got := domainKstatus(t, "bind-wrong"); got != kstatus.CurrentStatus {
		t.Errorf("kstatus of a Ready domain: %s, want %s", got, kstatus.CurrentStatus)
	}
}

// domainKstatus computes kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status) of a FederatedDomain
// as the host has it.
func domainKstatus(t *testing.T, name string) kstatus.Status {
	t.Helper()
	d := &v1alpha1.FederatedDomain{}
	if err := fed.Host.Client.Get(t.Context(), client.ObjectKey{Name: name}, d); err != nil {
		t.Fatal(err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		t.Fatal(err)
	}
	res, err := kstatus.Compute(&unstructured.Unstructured{Object: m})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}

func TestDNSEndpointsInTheHost(t *testing.T) {
	createDomain(t, "externaldns", v1alpha1.DNSProvider{ExternalDNS: &v1alpha1.ExternalDNSProvider{}})
	domainReady(t, "externaldns", metav1.ConditionTrue, v1alpha1.ReasonProviderReady)
	exercise(t, dnsEndpointLookup("externaldns"), "externaldns", "externaldns-shop")
}

// TestANonLeaderReplicaAnswersTheSame runs a second operator replica that never becomes leader
// (another holder keeps the lease): its DNS controller does not run, yet its builtin server
// answers the same as the leader's, from the FederatedServices' status.dns, and follows a change.
func TestANonLeaderReplicaAnswersTheSame(t *testing.T) {
	ctx := t.Context()
	leaderAddr, replicaAddr := listenAddr(t), listenAddr(t)
	const lease = "kfed-test-replica"
	now := metav1.NewMicroTime(time.Now())
	held := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: lease},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptrTo("someone-else"), LeaseDurationSeconds: ptrTo[int32](3600),
			AcquireTime: &now, RenewTime: &now}}
	if err := fed.Host.Client.Create(ctx, held); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fed.Host.Client.Delete(context.Background(), held) })
	scheme, err := controllers.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(fed.Host.Config)
	cfg.QPS = -1
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0", LeaderElection: true, LeaderElectionID: lease, LeaderElectionNamespace: operatorNamespace,
		Controller: config.Controller{SkipNameValidation: ptrTo(true)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := controllers.Setup(mgr, controllers.Options{Namespace: operatorNamespace, DNSProviders: controllers.DefaultDNSProviders(),
		MapBuiltinListen: func(string) string { return replicaAddr }}); err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Logf("the second replica's manager: %v", err)
		}
	})

	createDomain(t, "replicated", v1alpha1.DNSProvider{Builtin: &v1alpha1.BuiltinProvider{Listen: leaderAddr}})
	const ns, svc = "replica-shop", "web"
	createNamespace(t, ns)
	createService(t, ns, svc, withDomain("replicated"))
	makeHealthy(t, ns, svc)
	n := namesOf(svc, ns)
	for _, addr := range []string{leaderAddr, replicaAddr} {
		waitAnswer(t, dnsLookup(addr), n.global, dns.TypeA, "NOERROR", memberAddress(0), memberAddress(1))
	}
	setLoadBalancer(t, fed.Members[1], ns, svc, "")
	for _, addr := range []string{leaderAddr, replicaAddr} {
		waitAnswer(t, dnsLookup(addr), n.global, dns.TypeA, "NOERROR", memberAddress(0))
		waitAnswer(t, dnsLookup(addr), n.zone1, dns.TypeCNAME, "NOERROR", dns.Fqdn(n.region1))
	}
	if mgr.Elected() != nil {
		select {
		case <-mgr.Elected():
			t.Fatal("the second replica became leader: the test proves nothing")
		default:
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
