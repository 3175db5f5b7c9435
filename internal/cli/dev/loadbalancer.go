package dev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/internal/localcluster"
)

// The load-balancer SIMULATION of `kfed dev` (a fake load balancer; no cloud exists here, and
// none of this ships in the operator): in member i, every Service of type LoadBalancer and every
// Ingress gets an address 127.0.(10+i).N in its status, and the dev process answers HTTP on that
// address, on one fixed port for every address (DefaultLBPort, --lb-port), the way the
// walkthrough's k8shserver does: {"hostname": "<a Ready pod of the member backing the Service>",
// "zone": "<the member's zone>"}. The whole of 127.0.0.0/8 is loopback on Linux, so binding such
// an address needs no configuration.
//
// The simulated load balancer reads the backend's ready endpoints from the member's API server
// at each request: a member whose API server is stopped answers 503 (a real cloud load balancer
// would go on serving its pods; here the failure is what kfed's health checks and DNS see).

// DefaultLBPort is the port every simulated load-balancer address answers HTTP on.
const DefaultLBPort = 18080

// lbRequestTimeout bounds the member calls of one HTTP answer.
const lbRequestTimeout = 2 * time.Second

// simulatedAnswer is the body of a simulated load balancer's answer, as k8shserver's.
type simulatedAnswer struct {
	Hostname string `json:"hostname"`
	Zone     string `json:"zone"`
}

// lbPrefix is the first three bytes of member i's simulated addresses, "127.0.(10+i).".
func lbPrefix(i int) string { return fmt.Sprintf("127.0.%d.", 10+i) }

// backend is what a simulated address forwards to: a Service in the member, named by the
// object that owns the address.
type backend struct {
	// owner is "Service <ns>/<name>" or "Ingress <ns>/<name>".
	owner              string
	namespace, service string
	// problem, when set, is why there is no Service to forward to (an Ingress without one).
	problem string
}

// loadBalancers simulates the load balancers of one member.
type loadBalancers struct {
	member *localcluster.Cluster
	prefix string
	port   int
	out    io.Writer

	mu       sync.Mutex
	backends map[string]backend // by address
	turn     map[string]int     // by address: the rotation over the ready pods
	servers  map[string]*http.Server
	failed   map[string]bool // addresses whose listen failed, said once
}

func newLoadBalancers(m *localcluster.Cluster, i, port int, out io.Writer) *loadBalancers {
	return &loadBalancers{member: m, prefix: lbPrefix(i), port: port, out: out,
		backends: map[string]backend{}, turn: map[string]int{}, servers: map[string]*http.Server{}, failed: map[string]bool{}}
}

// simulateLoadBalancers runs the SIMULATION of member i's load balancers until ctx ends: once
// a second it gives addresses to what has none, and listens on every address in use.
func simulateLoadBalancers(ctx context.Context, m *localcluster.Cluster, i, port int, out io.Writer) {
	lb := newLoadBalancers(m, i, port, out)
	defer lb.close()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		lb.sync(ctx)
	}
}

// sync gives a simulated address to every LoadBalancer Service and Ingress of the member that
// has none, and serves HTTP on exactly the addresses in use. When the member does not answer,
// the addresses it had stay served (they answer 503 while it is down).
func (lb *loadBalancers) sync(ctx context.Context) {
	var svcs corev1.ServiceList
	var ings networkingv1.IngressList
	if err := lb.member.Client.List(ctx, &svcs); err != nil {
		return
	}
	if err := lb.member.Client.List(ctx, &ings); err != nil {
		return
	}
	backends := map[string]backend{}
	var need []pending // what has no address yet
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		b := backend{owner: "Service " + svc.Namespace + "/" + svc.Name, namespace: svc.Namespace, service: svc.Name}
		if !lb.claim(backends, b, serviceIPs(svc)) {
			need = append(need, pending{obj: svc, backend: b, set: func(ip string) {
				svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
			}})
		}
	}
	for i := range ings.Items {
		ing := &ings.Items[i]
		b := ingressBackend(ing)
		if !lb.claim(backends, b, ingressIPs(ing)) {
			need = append(need, pending{obj: ing, backend: b, set: func(ip string) {
				ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: ip}}
			}})
		}
	}
	for _, p := range need {
		ip, ok := lb.free(backends)
		if !ok {
			lb.say("load-balancer simulation: no free address left in %s0/24 for %s in %s", lb.prefix, p.backend.owner, lb.member.Name)
			break
		}
		p.set(ip)
		if lb.update(ctx, p.obj, p.backend.owner, ip) {
			backends[ip] = p.backend
		}
	}
	lb.serve(ctx, backends)
}

// claim records b on the first of ips that is one of this member's simulated addresses and
// not taken yet; it reports whether the object has an address at all (one of another range, a
// real cloud's, is left alone).
func (lb *loadBalancers) claim(backends map[string]backend, b backend, ips []string) bool {
	for _, ip := range ips {
		if _, taken := backends[ip]; strings.HasPrefix(ip, lb.prefix) && !taken {
			backends[ip] = b
			break
		}
	}
	return len(ips) > 0
}

// free returns the lowest simulated address of the member that nothing uses.
func (lb *loadBalancers) free(backends map[string]backend) (string, bool) {
	for n := 1; n < 255; n++ {
		ip := lb.prefix + strconv.Itoa(n)
		if _, used := backends[ip]; !used {
			return ip, true
		}
	}
	return "", false
}

// pending is an object of the member that has no load-balancer address yet.
type pending struct {
	obj     client.Object
	backend backend
	// set puts the address into obj's status.
	set func(ip string)
}

// update writes obj's status with its new address; owner names it in what it says.
func (lb *loadBalancers) update(ctx context.Context, obj client.Object, owner, ip string) bool {
	if err := lb.member.Client.Status().Update(ctx, obj); err != nil {
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			lb.say("load-balancer simulation: %s in %s: %v", owner, lb.member.Name, err)
		}
		return false
	}
	lb.say("load-balancer simulation: %s in %s gets %s (HTTP on %s)", owner, lb.member.Name, ip,
		net.JoinHostPort(ip, strconv.Itoa(lb.port)))
	return true
}

func (lb *loadBalancers) say(format string, args ...any) {
	_, _ = fmt.Fprintf(lb.out, format+"\n", args...)
}

func serviceIPs(svc *corev1.Service) []string {
	var ips []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			ips = append(ips, in.IP)
		}
	}
	return ips
}

func ingressIPs(ing *networkingv1.Ingress) []string {
	var ips []string
	for _, in := range ing.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			ips = append(ips, in.IP)
		}
	}
	return ips
}

// ingressBackend is the Service an Ingress's address forwards to: spec.defaultBackend's, else
// the first backend of the first rule that has one.
func ingressBackend(ing *networkingv1.Ingress) backend {
	b := backend{owner: "Ingress " + ing.Namespace + "/" + ing.Name, namespace: ing.Namespace}
	if d := ing.Spec.DefaultBackend; d != nil && d.Service != nil {
		b.service = d.Service.Name
		return b
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service != nil {
				b.service = p.Backend.Service.Name
				return b
			}
		}
	}
	b.problem = "it has no Service backend (spec.defaultBackend.service or a rule's backend.service)"
	return b
}

// serve makes the listeners match backends: a new address is listened on, an address no
// object has any more is closed.
func (lb *loadBalancers) serve(ctx context.Context, backends map[string]backend) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.backends = backends
	for ip, srv := range lb.servers {
		if _, ok := backends[ip]; !ok {
			_ = srv.Close()
			delete(lb.servers, ip)
			delete(lb.turn, ip)
		}
	}
	for ip := range backends {
		if lb.servers[ip] != nil {
			continue
		}
		addr := net.JoinHostPort(ip, strconv.Itoa(lb.port))
		l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
		if err != nil {
			if !lb.failed[ip] {
				lb.say("load-balancer simulation: cannot listen on %s (retrying every second): %v", addr, err)
			}
			lb.failed[ip] = true
			continue
		}
		delete(lb.failed, ip)
		srv := &http.Server{Handler: lb, ReadHeaderTimeout: 5 * time.Second}
		lb.servers[ip] = srv
		go func() { _ = srv.Serve(l) }()
	}
}

func (lb *loadBalancers) close() {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	for ip, srv := range lb.servers {
		_ = srv.Close()
		delete(lb.servers, ip)
	}
}

// ServeHTTP answers for the simulated address the request came to: a Ready pod of the backend
// Service in this member (the next one each time) and the member's zone, or 503 saying why not.
func (lb *loadBalancers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "kfed-dev-simulated-load-balancer")
	ip := ""
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		ip, _, _ = net.SplitHostPort(a.String())
	}
	lb.mu.Lock()
	b, ok := lb.backends[ip]
	turn := lb.turn[ip]
	lb.turn[ip] = turn + 1
	lb.mu.Unlock()
	unavailable := func(format string, args ...any) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		//nolint:gosec // a text/plain body, never rendered as HTML
		_, _ = fmt.Fprintf(w, "%s (simulated load balancer of kfed dev, %s in %s)\n", fmt.Sprintf(format, args...), ip, lb.member.Name)
	}
	switch {
	case !ok:
		unavailable("no Service or Ingress of %s has this address now", lb.member.Name)
		return
	case b.problem != "":
		unavailable("%s has nothing to forward to: %s", b.owner, b.problem)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), lbRequestTimeout)
	defer cancel()
	pods, err := readyPods(ctx, lb.member.Client, b.namespace, b.service)
	switch {
	case err != nil:
		unavailable("reading the endpoints of Service %s/%s for %s: %v", b.namespace, b.service, b.owner, err)
		return
	case len(pods) == 0:
		unavailable("Service %s/%s (for %s) has no ready endpoint in %s", b.namespace, b.service, b.owner, lb.member.Name)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(simulatedAnswer{Hostname: pods[turn%len(pods)], Zone: lb.member.Zone})
}

// readyPods returns the names of the pods that are ready endpoints of Service ns/name (its
// EndpointSlices), sorted and without repeats.
func readyPods(ctx context.Context, c client.Client, ns, name string) ([]string, error) {
	var list discoveryv1.EndpointSliceList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: name}); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("the member's API server did not answer within %s", lbRequestTimeout)
		}
		return nil, err
	}
	var pods []string
	for _, s := range list.Items {
		for _, ep := range s.Endpoints {
			ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
			if ready && ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
				pods = append(pods, ep.TargetRef.Name)
			}
		}
	}
	slices.Sort(pods)
	return slices.Compact(pods), nil
}
