package dev

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/internal/localcluster"
	"github.com/kfed-io/kfed/test/framework"
)

// syncWriter is an io.Writer the simulation and the test share.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// get does one HTTP GET of a simulated address and returns the status code and body.
func get(t *testing.T, ip string, port int) (int, string, error) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(ip, strconv.Itoa(port)) + "/")
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestSimulatedLoadBalancersAnswerFromReadyPods runs the load-balancer simulation of one full
// member (API server, controller manager, scheduler, kwok): a LoadBalancer Service and two
// Ingresses get addresses of the member's range; each address answers HTTP with the member's
// zone and, in turn, each Ready pod backing the Service (read from the EndpointSlices the
// member's controller manager writes); an Ingress without a Service backend and a Service
// without ready endpoints answer 503 saying so; an address nothing has any more stops
// listening; and with the member's API server stopped the address answers 503.
func TestSimulatedLoadBalancersAnswerFromReadyPods(t *testing.T) {
	ctx := t.Context()
	topo := localcluster.Members[1]
	m, err := framework.StartCluster(ctx, framework.ClusterOptions{Topology: topo, Full: true, Nodes: 2, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stopping %s: %v", topo.Name, err)
		}
	}()
	port, err := framework.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	const ns, app, replicas = "default", "web", 3
	labels := map[string]string{"app": app}
	objs := []client.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app}, Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(replicas)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: "k8shserver:1.0"}}}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app}, Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nobody"}, Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "nobody"}, Ports: []corev1.ServicePort{{Port: 80}}}},
		// Not of type LoadBalancer: no address.
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "inside"}, Spec: corev1.ServiceSpec{
			Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-backend"}, Spec: networkingv1.IngressSpec{
			DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: app, Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rules"}, Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{Host: "web.example.com", IngressRuleValue: networkingv1.IngressRuleValue{
				HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: app, Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bucket"}, Spec: networkingv1.IngressSpec{
			DefaultBackend: &networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{
				APIGroup: ptr.To("storage.example.com"), Kind: "Bucket", Name: "static"}}}},
	}
	for _, o := range objs {
		if err := m.Client.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}

	out := &syncWriter{}
	simCtx, stopSim := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		simulateLoadBalancers(simCtx, m, 1, port, out)
	}()
	defer func() {
		stopSim()
		<-done
	}()

	// Every LoadBalancer Service and every Ingress gets its own address of member 1's range.
	addr := map[string]string{}
	deadline := time.Now().Add(time.Minute)
	for len(addr) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute, addresses only for %v; simulation log:\n%s", addr, out)
		}
		time.Sleep(200 * time.Millisecond)
		for _, name := range []string{app, "nobody", "inside"} {
			svc := &corev1.Service{}
			if err := m.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, svc); err == nil && len(svc.Status.LoadBalancer.Ingress) > 0 {
				addr["svc/"+name] = svc.Status.LoadBalancer.Ingress[0].IP
			}
		}
		for _, name := range []string{"default-backend", "rules", "bucket"} {
			ing := &networkingv1.Ingress{}
			if err := m.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ing); err == nil && len(ing.Status.LoadBalancer.Ingress) > 0 {
				addr["ing/"+name] = ing.Status.LoadBalancer.Ingress[0].IP
			}
		}
	}
	if ip, ok := addr["svc/inside"]; ok {
		t.Errorf("a ClusterIP Service got the address %s", ip)
	}
	seen := map[string]string{}
	for what, ip := range addr {
		if !strings.HasPrefix(ip, "127.0.11.") {
			t.Errorf("%s got %s, not an address of member 1's range 127.0.11.0/24", what, ip)
		}
		if other, dup := seen[ip]; dup {
			t.Errorf("%s and %s share %s", what, other, ip)
		}
		seen[ip] = what
	}

	// The Ready pods, as the member itself reports them.
	var want []string
	deadline = time.Now().Add(2 * time.Minute)
	for len(want) < replicas {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d pods Ready after 2 minutes", len(want), replicas)
		}
		time.Sleep(200 * time.Millisecond)
		want = readyPodNames(t, m, ns, labels)
	}

	// Each address of the app answers the member's zone and every Ready pod in turn. Wait for
	// the EndpointSlices to hold all of them first.
	for _, what := range []string{"svc/" + app, "ing/default-backend", "ing/rules"} {
		ip := addr[what]
		wantTurns := map[string]int{}
		for _, p := range want {
			wantTurns[p] = 2
		}
		var got map[string]int
		deadline = time.Now().Add(time.Minute)
		for {
			got = map[string]int{}
			for range 2 * replicas {
				code, body, err := get(t, ip, port)
				if err != nil || code != http.StatusOK {
					got[fmt.Sprintf("%d %q %v", code, body, err)]++
					continue
				}
				var a simulatedAnswer
				if err := json.Unmarshal([]byte(body), &a); err != nil {
					t.Fatalf("%s (%s): answer %q is not k8shserver's JSON: %v", what, ip, body, err)
				}
				if a.Zone != topo.Zone {
					t.Errorf("%s (%s): zone %q, want the member's %q", what, ip, a.Zone, topo.Zone)
				}
				got[a.Hostname]++
			}
			if maps.Equal(got, wantTurns) || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if !maps.Equal(got, wantTurns) {
			t.Errorf("%s (%s): %d GETs answered %v, want each Ready pod twice in turn: %v", what, ip, 2*replicas, got, wantTurns)
		}
	}

	// 503 with the reason: no Service behind the Ingress; no ready endpoint behind the Service.
	for what, reason := range map[string]string{
		"ing/bucket": "Ingress default/bucket has nothing to forward to: it has no Service backend",
		"svc/nobody": "Service default/nobody (for Service default/nobody) has no ready endpoint in " + topo.Name,
	} {
		code, body, err := get(t, addr[what], port)
		if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, reason) || !strings.Contains(body, "simulated load balancer") {
			t.Errorf("%s: got %d %q %v, want 503 saying %q", what, code, body, err, reason)
		}
	}

	// Once the app has no Ready pod, its addresses answer 503.
	d := &appsv1.Deployment{}
	if err := m.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: app}, d); err != nil {
		t.Fatal(err)
	}
	d.Spec.Replicas = ptr.To(int32(0))
	if err := m.Client.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		code, body, err := get(t, addr["svc/"+app], port)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(code).To(Equal(http.StatusServiceUnavailable))
		g.Expect(body).To(ContainSubstring("has no ready endpoint"))
	}).WithTimeout(time.Minute).WithPolling(300*time.Millisecond).Should(Succeed(), "the Service without pods answers 503")

	// An address nothing has any more is not listened on.
	if err := m.Client.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nobody"}}); err != nil {
		t.Fatal(err)
	}
	g.Eventually(func() error {
		_, _, err := get(t, addr["svc/nobody"], port)
		return err
	}).WithTimeout(30*time.Second).WithPolling(300*time.Millisecond).Should(HaveOccurred(), "the deleted Service's address closes")

	// A member whose API server is stopped: its addresses still listen, and answer 503.
	if err := m.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	code, body, err := get(t, addr["ing/default-backend"], port)
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, "reading the endpoints of Service default/web") {
		t.Errorf("with the API server stopped: got %d %q %v, want 503 saying the endpoints cannot be read", code, body, err)
	}
}

func readyPodNames(t *testing.T, m *localcluster.Cluster, ns string, labels map[string]string) []string {
	t.Helper()
	var pods corev1.PodList
	if err := m.Client.List(t.Context(), &pods, client.InNamespace(ns), client.MatchingLabels(labels)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
				names = append(names, p.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

func TestGeoTableGivesEachRegionItsOwnSimulatedNetworks(t *testing.T) {
	geo := geoTable(localcluster.Members)
	if len(geo) != len(localcluster.Members) {
		t.Fatalf("want one entry per region of %v, got %v", localcluster.Members, geo)
	}
	var all []netip.Prefix
	for i, g := range geo {
		if g.Region != localcluster.Members[i].Region {
			t.Errorf("entry %d is region %q, want %q", i, g.Region, localcluster.Members[i].Region)
		}
		for _, c := range g.CIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				t.Fatalf("region %s: %q is not a CIDR: %v", g.Region, c, err)
			}
			// Private (RFC 1918) or documentation (RFC 3849) networks only: simulated clients.
			if !p.Addr().IsPrivate() && !netip.MustParsePrefix("2001:db8::/32").Contains(p.Addr()) {
				t.Errorf("region %s: %s is neither private nor a documentation range", g.Region, c)
			}
			for _, q := range all {
				if q.Overlaps(p) {
					t.Errorf("region %s: %s overlaps %s of another region", g.Region, p, q)
				}
			}
			all = append(all, p)
		}
	}
	if got := clientIn(geo); !netip.MustParsePrefix(geo[0].CIDRs[0]).Contains(netip.MustParseAddr(got)) {
		t.Errorf("clientIn = %s, not in %s", got, geo[0].CIDRs[0])
	}
	// Two members of one region share its entry.
	two := geoTable([]localcluster.Topology{{Name: "a", Region: "r"}, {Name: "b", Region: "r"}})
	if len(two) != 1 {
		t.Errorf("want one entry for one region, got %v", two)
	}
}
