package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/test/framework"
	"github.com/kfed-io/kfed/test/gen"
)

// writeCounter records the write requests (POST, PUT, PATCH, DELETE) that go through it.
type writeCounter struct {
	mu     sync.Mutex
	writes []string
}

func (c *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		switch req.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			c.mu.Lock()
			c.writes = append(c.writes, req.Method+" "+req.URL.Host+req.URL.Path)
			c.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

func (c *writeCounter) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.writes...)
}

// replaceOperator stops the operator the tests share and runs another against host with opts
// until the test ends; then the shared one runs again.
func replaceOperator(t *testing.T, host *framework.Cluster, opts controllers.Options) *framework.Manager {
	t.Helper()
	if err := operator.Stop(); err != nil {
		t.Fatalf("stopping the operator: %v", err)
	}
	other, err := framework.StartManager(context.Background(), host, opts)
	if err != nil {
		t.Fatalf("starting another operator: %v", err)
	}
	t.Cleanup(func() {
		if err := other.Stop(); err != nil {
			t.Errorf("stopping the other operator: %v", err)
		}
		if operator, err = framework.StartManager(context.Background(), fed.Host, controllers.Options{Namespace: operatorNamespace}); err != nil {
			t.Fatalf("starting the operator again: %v", err)
		}
		registry = operator.Registry
	})
	return other
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// reconciles returns controller-runtime's count of reconciles of a controller that ended with
// the given result ("success": without error or requeue; a reconcile that waits for a member's
// verdict requeues), or with any result when result is empty.
func reconciles(g Gomega, controller, result string) float64 {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	var n float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["controller"] == controller && (result == "" || labels["result"] == result) {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// TestRestartWithConvergedObjectsWritesNothing converges 200 federated objects (100 ConfigMaps,
// 100 Deployments) over the three members, stops the operator and starts a new one whose every
// request to the host and the members goes through a counter: it reconciles every object and
// writes nothing, anywhere.
func TestRestartWithConvergedObjectsWritesNothing(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "restart")
	const perKind = 100

	objs := make([]federatedObject, 0, 2*perKind)
	for i := range perKind {
		objs = append(objs, gen.FederatedConfigMap(ns, fmt.Sprintf("settings-%03d", i), map[string]string{"index": fmt.Sprint(i)}))
		objs = append(objs, gen.FederatedDeployment(ns, fmt.Sprintf("web-%03d", i), 9))
	}
	// Created without client-side rate limit, so that the operator, not the test, sets the pace.
	fast := rest.CopyConfig(fed.Host.Config)
	fast.QPS = -1
	creator, err := client.New(fast, client.Options{Scheme: fed.Host.Client.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	created := time.Now()
	for _, o := range objs {
		g.Expect(creator.Create(t.Context(), o)).To(Succeed())
	}
	t.Logf("200 objects created in %s", time.Since(created).Round(100*time.Millisecond))
	defer func() {
		for _, o := range objs {
			_ = fed.Host.Client.Delete(context.Background(), o)
		}
		for _, o := range objs {
			deleteAndWait(t, o)
		}
	}()

	// Converged: every object in every member and its status saying so, then no more writes to
	// any of them for a few seconds.
	g.Eventually(func(g Gomega) {
		for _, o := range objs {
			g.Expect(fed.Host.Client.Get(context.Background(), client.ObjectKeyFromObject(o), o)).To(Succeed())
			st := o.GetFederatedStatus()
			g.Expect(st.ObservedGeneration).To(Equal(o.GetGeneration()), o.GetName())
			g.Expect(st.Clusters).To(HaveLen(3), o.GetName())
			g.Expect(st.Clusters).To(HaveEach(HaveField("Phase", v1alpha1.PhasePropagated)), o.GetName())
		}
	}).WithTimeout(3*time.Minute).WithPolling(time.Second).Should(Succeed(), "200 objects converge")
	t.Logf("200 objects converged over 3 members %s after the first was created", time.Since(created).Round(100*time.Millisecond))
	versions := func(g Gomega) map[string]string {
		out := map[string]string{}
		for _, o := range objs {
			g.Expect(fed.Host.Client.Get(context.Background(), client.ObjectKeyFromObject(o), o)).To(Succeed())
			out[o.FederatedKind()+"/"+o.GetName()] = o.GetResourceVersion()
		}
		return out
	}
	previous := versions(g)
	g.Eventually(func(g Gomega) {
		now := versions(g)
		settled := fmt.Sprint(now) == fmt.Sprint(previous)
		previous = now
		g.Expect(settled).To(BeTrue())
	}).WithTimeout(time.Minute).WithPolling(3 * time.Second).Should(Succeed())

	// Restart: stop the operator, start another whose requests are counted.
	hostWrites, memberWrites := &writeCounter{}, &writeCounter{}
	hostCfg := rest.CopyConfig(fed.Host.Config)
	hostCfg.Wrap(hostWrites.wrap)
	okBefore := map[string]float64{}
	for _, kind := range []string{"FederatedConfigMap", "FederatedDeployment"} {
		okBefore[kind] = reconciles(g, kind, "success")
	}
	restarted := time.Now()
	// The same host, reached through the counting transport.
	countedHost := &framework.Cluster{Topology: fed.Host.Topology, Config: hostCfg, Client: fed.Host.Client}
	second := replaceOperator(t, countedHost, controllers.Options{Namespace: operatorNamespace, WrapMemberTransport: memberWrites.wrap})

	// The new operator connects to every member and reconciles every object...
	g.Eventually(func(g Gomega) {
		for _, m := range fed.Members {
			_, err := second.Registry.Client(m.Name)
			g.Expect(err).NotTo(HaveOccurred())
		}
		for kind, before := range okBefore {
			g.Expect(reconciles(g, kind, "success")-before).To(BeNumerically(">=", perKind), kind)
		}
	}).WithTimeout(2 * time.Minute).Should(Succeed())
	t.Logf("new operator connected and reconciled every object %s after it started: %v FederatedConfigMap and %v FederatedDeployment reconciles",
		time.Since(restarted).Round(100*time.Millisecond),
		reconciles(g, "FederatedConfigMap", "success")-okBefore["FederatedConfigMap"],
		reconciles(g, "FederatedDeployment", "success")-okBefore["FederatedDeployment"])

	// ...and writes nothing, then or over the next probe periods and a retry of any wait.
	noWrites := func(g Gomega) {
		g.Expect(hostWrites.list()).To(BeEmpty(), "writes to the host")
		g.Expect(memberWrites.list()).To(BeEmpty(), "writes to the members")
	}
	g.Consistently(noWrites).WithTimeout(15 * time.Second).WithPolling(time.Second).Should(Succeed())
	t.Logf("writes after the restart: %d to the host, %d to the members (%s of counting)",
		len(hostWrites.list()), len(memberWrites.list()), time.Since(restarted).Round(time.Second))

	// The counter does see writes. kfed created the copies with a plain create, so the first
	// change also hands kfed's fields over to server-side apply: two writes to each member that
	// holds the object. A second change is one write to each.
	cm := objs[0].(*v1alpha1.FederatedConfigMap)
	for i, want := range []int{2 * len(fed.Members), 3 * len(fed.Members)} {
		value := fmt.Sprint("changed-", i)
		updateHost(t, cm, func() { cm.Spec.Template.Data["index"] = value })
		g.Eventually(func(g Gomega) {
			for _, m := range fed.Members {
				g.Expect(memberConfigMap(g, m, ns, cm.Name).Data).To(HaveKeyWithValue("index", value))
			}
		}).WithTimeout(30 * time.Second).Should(Succeed())
		g.Eventually(func() int { return countMatching(memberWrites.list(), "PATCH", "/configmaps/"+cm.Name) }).
			WithTimeout(10*time.Second).Should(Equal(want), "PATCH requests to the members after change %d", i+1)
	}
}

func countMatching(writes []string, method, suffix string) int {
	n := 0
	for _, w := range writes {
		if strings.HasPrefix(w, method+" ") && strings.HasSuffix(w, suffix) {
			n++
		}
	}
	return n
}
