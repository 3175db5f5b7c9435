package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/cli/dev"
	"github.com/kfed-io/kfed/test/framework"
)

// The seed's Ingress, and the global address the walkthrough gives it (as hack/demo.sh does).
const (
	seedIngressRel = "internal/cli/federate/testdata/seed/ingress.yaml"
	globalHost     = "k8shserver.example.com"
	globalLBPatch  = `{"spec":{"globalLoadBalancer":{"mode":"DNS","host":"` + globalHost + `","strategy":"Geo","ttl":5}}}`
)

// k8shserverAnswer is what a (simulated) load balancer of the local federation answers.
type k8shserverAnswer struct {
	Hostname string `json:"hostname"`
	Zone     string `json:"zone"`
}

// geoClient is a client of one region: an address of that region in the FederatedDomain's geo
// table, sent as the EDNS0 client subnet of its queries, as a recursive resolver would.
type geoClient struct {
	region string
	addr   netip.Addr
}

func (c geoClient) String() string { return "a client in " + c.region + " (" + c.addr.String() + ")" }

// answers asks kfed's builtin DNS server of the local federation for the A records of the
// global host as c.
func (c geoClient) answers() ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(globalHost), dns.TypeA)
	m.SetEdns0(4096, false)
	bits := 32
	family := uint16(1)
	if c.addr.Is6() {
		bits, family = 128, 2
	}
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{
		Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: uint8(bits), Address: c.addr.AsSlice()}) //nolint:gosec // 32 or 128
	r, _, err := (&dns.Client{Net: "udp", Timeout: 2 * time.Second}).Exchange(m, dev.DefaultDNSListen)
	if err != nil {
		return nil, fmt.Errorf("asking %s for %s as %s: %w", dev.DefaultDNSListen, globalHost, c, err)
	}
	if r.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("%s for %s as %s", dns.RcodeToString[r.Rcode], globalHost, c)
	}
	var ips []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			ips = append(ips, a.A.String())
		}
	}
	slices.Sort(ips)
	return ips, nil
}

// get does what `curl --resolve host:port:ip http://host:port/` does: an HTTP GET of the global
// host, connected to ip (an answer of the DNS server, which curl cannot ask on its port itself).
func get(ip string) (k8shserverAnswer, error) {
	var a k8shserverAnswer
	target := net.JoinHostPort(ip, strconv.Itoa(dev.DefaultLBPort))
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, target)
	}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(globalHost, strconv.Itoa(dev.DefaultLBPort)) + "/")
	if err != nil {
		return a, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return a, err
	}
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("GET via %s: %s: %s", target, resp.Status, body)
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return a, fmt.Errorf("GET via %s: %q is not k8shserver's answer: %w", target, body, err)
	}
	return a, nil
}

// globalAddress does what the end of `make demo` does: the seed's extensions/v1beta1 Ingress,
// federated with `kfed federate`, gets a Geo global address; a client in us-east1 and one in
// europe-west1 (EDNS0 client subnets of the FederatedDomain's geo table) are each answered by
// their own region's cluster, in DNS and over HTTP (the simulated load balancer's answer names
// a Ready pod of that cluster and its zone); with us-east1's API server stopped both are
// answered by survivors; started again, the client in us-east1 is answered by it again.
func (w *walkthrough) globalAddress(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	// kfed federate writes the manifests to stdout and its notes to stderr: keep them apart.
	var stdout, stderr bytes.Buffer
	federate := exec.Command(kfedBin, "federate", "-f", filepath.Join(framework.RepoRoot(), seedIngressRel))
	federate.Stdout, federate.Stderr = &stdout, &stderr
	err := federate.Run()
	t.Logf("$ kfed federate -f %s\n%s(stderr) %s", seedIngressRel, stdout.String(), stderr.String())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stderr.String()).To(ContainSubstring("converted from extensions/v1beta1 to networking.k8s.io/v1"))
	manifest := filepath.Join(t.TempDir(), "ingress.yaml")
	g.Expect(os.WriteFile(manifest, stdout.Bytes(), 0o600)).To(Succeed())
	_, err = w.kubectl(t, "--context", hostCtx, "apply", "-f", manifest)
	g.Expect(err).NotTo(HaveOccurred())
	start := time.Now()
	_, err = w.kubectl(t, "--context", hostCtx, "patch", "fing", app, "--type", "merge", "-p", globalLBPatch)
	g.Expect(err).NotTo(HaveOccurred())

	names := w.memberNames()
	us, eu := names[0], names[1]
	lb := map[string]string{} // member: its Ingress's simulated address
	fing := &v1alpha1.FederatedIngress{}
	g.Eventually(func(g Gomega) {
		g.Expect(w.host.Get(ctx, client.ObjectKey{Namespace: appNS, Name: app}, fing)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(fing.Status.Conditions, v1alpha1.ConditionGlobalAddressReady)).To(BeTrue(),
			"GlobalAddressReady: %v", meta.FindStatusCondition(fing.Status.Conditions, v1alpha1.ConditionGlobalAddressReady))
		g.Expect(fing.Status.Addresses).To(HaveLen(3))
		for i, name := range names {
			ing := &networkingv1.Ingress{}
			g.Expect(w.members[name].Get(ctx, client.ObjectKey{Namespace: appNS, Name: app}, ing)).To(Succeed(), "member %s", name)
			g.Expect(ing.Status.LoadBalancer.Ingress).To(HaveLen(1))
			g.Expect(ing.Status.LoadBalancer.Ingress[0].IP).To(HavePrefix(fmt.Sprintf("127.0.%d.", 10+i)), "simulated address in %s", name)
			lb[name] = ing.Status.LoadBalancer.Ingress[0].IP
		}
	}).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(Succeed(), "the global address is ready on the three clusters")
	t.Logf("GlobalAddressReady %s after the patch; member Ingress addresses %v", time.Since(start).Round(100*time.Millisecond), lb)
	_, _ = w.kubectl(t, "--context", hostCtx, "get", "fing")

	// The clients: an address of each region's networks in the FederatedDomain's geo table.
	domain := &v1alpha1.FederatedDomain{}
	g.Expect(w.host.Get(ctx, client.ObjectKey{Name: dev.DNSDomain}, domain)).To(Succeed())
	g.Expect(domain.Spec.Provider.Builtin).NotTo(BeNil())
	clientOf := func(region string) geoClient {
		for _, r := range domain.Spec.Provider.Builtin.Geo {
			if r.Region == region && len(r.CIDRs) > 0 {
				p, err := netip.ParsePrefix(r.CIDRs[0])
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(p.Addr().Is4()).To(BeTrue(), "the first network of %s is IPv4", region)
				a := p.Masked().Addr().As4()
				a[3] = 7 // 10.1.0.7 for 10.1.0.0/16, as hack/demo.sh picks it
				return geoClient{region: region, addr: netip.AddrFrom4(a)}
			}
		}
		t.Fatalf("no entry for region %s in the geo table %v", region, domain.Spec.Provider.Builtin.Geo)
		return geoClient{}
	}
	usClient, euClient := clientOf(framework.Members[0].Region), clientOf(framework.Members[1].Region)
	zoneOf := map[string]string{}
	for _, m := range framework.Members[:3] {
		zoneOf[m.Name] = m.Zone
	}
	memberOf := map[string]string{} // address: member
	for m, ip := range lb {
		memberOf[ip] = m
	}

	// answeredBy asserts that c's answers are exactly the addresses of want, and that an HTTP GET
	// of each is answered by a Ready pod of that member, with its zone.
	answeredBy := func(g Gomega, c geoClient, want ...string) {
		ips := make([]string, 0, len(want))
		for _, m := range want {
			ips = append(ips, lb[m])
		}
		slices.Sort(ips)
		got, err := c.answers()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(ips), "%s: DNS answers, want those of %v", c, want)
		for _, ip := range got {
			a, err := get(ip)
			g.Expect(err).NotTo(HaveOccurred(), "%s: GET via %s", c, ip)
			m := memberOf[ip]
			g.Expect(a.Zone).To(Equal(zoneOf[m]), "%s: the zone of %s answering on %s", c, m, ip)
			pod := &corev1.Pod{}
			g.Expect(w.members[m].Get(ctx, client.ObjectKey{Namespace: appNS, Name: a.Hostname}, pod)).To(Succeed(),
				"%s: hostname %q is a pod of %s", c, a.Hostname, m)
			g.Expect(pod.Labels).To(HaveKeyWithValue("app", app))
			ready := false
			for _, cond := range pod.Status.Conditions {
				ready = ready || cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue
			}
			g.Expect(ready).To(BeTrue(), "%s: pod %s of %s is Ready", c, a.Hostname, m)
		}
	}
	g.Eventually(func(g Gomega) {
		answeredBy(g, usClient, us)
		answeredBy(g, euClient, eu)
	}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed(), "each client is answered by its own region's cluster")
	t.Logf("%s answered by %s, %s by %s", usClient, us, euClient, eu)

	// us-east1 fails: both clients are answered by the survivors (the one in us-east1, whose
	// region has no healthy cluster left, by every healthy cluster).
	_, err = w.kfed(t, "dev", "apiserver", dev.ActionStop, us, "--dir", w.dir)
	g.Expect(err).NotTo(HaveOccurred())
	failed := time.Now()
	g.Eventually(func(g Gomega) {
		answeredBy(g, usClient, eu, names[2])
	}).WithTimeout(3*time.Minute).WithPolling(500*time.Millisecond).Should(Succeed(), "with %s down, %s is answered by the survivors", us, usClient)
	t.Logf("%s answered by the survivors %s after the API server of %s stopped", usClient, time.Since(failed).Round(100*time.Millisecond), us)
	g.Consistently(func(g Gomega) {
		answeredBy(g, euClient, eu)
	}).WithTimeout(3*time.Second).WithPolling(time.Second).Should(Succeed(), "%s is still answered by %s", euClient, eu)

	_, err = w.kfed(t, "dev", "apiserver", dev.ActionStart, us, "--dir", w.dir)
	g.Expect(err).NotTo(HaveOccurred())
	back := time.Now()
	g.Eventually(func(g Gomega) {
		answeredBy(g, usClient, us)
	}).WithTimeout(3*time.Minute).WithPolling(500*time.Millisecond).Should(Succeed(), "%s is answered by %s again", usClient, us)
	t.Logf("%s answered by %s again %s after its API server started", usClient, us, time.Since(back).Round(100*time.Millisecond))
	_, _ = w.kubectl(t, "--context", hostCtx, "get", "fing", app, "-o", "jsonpath={.status.addresses}")
}
