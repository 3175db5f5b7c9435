package controllers_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/test/framework"
	"github.com/kfed-io/kfed/test/gen"
)

// apiServerPID finds the process of a cluster's kube-apiserver by its secure port.
func apiServerPID(t *testing.T, c *framework.Cluster) int {
	t.Helper()
	u, err := url.Parse(c.Host())
	if err != nil {
		t.Fatal(err)
	}
	want := "--secure-port=" + u.Port()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		raw, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(raw), "\x00")
		if len(args) > 0 && strings.HasSuffix(args[0], "kube-apiserver") && slices.Contains(args, want) {
			var pid int
			if _, err := fmt.Sscan(filepath.Base(d), &pid); err == nil {
				return pid
			}
		}
	}
	t.Fatalf("no kube-apiserver process with %s", want)
	return 0
}

// arrival creates a FederatedConfigMap and returns how long it took to reach every member that
// readers read.
func arrival(t *testing.T, ns, name string, readers []client.Client) time.Duration {
	t.Helper()
	g := NewWithT(t)
	fcm := gen.FederatedConfigMap(ns, name, map[string]string{"k": "v"})
	start := time.Now()
	g.Expect(fed.Host.Client.Create(context.Background(), fcm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		for _, c := range readers {
			cm := &corev1.ConfigMap{}
			g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm)).To(Succeed())
		}
	}).WithTimeout(30 * time.Second).WithPolling(5 * time.Millisecond).Should(Succeed())
	return time.Since(start)
}

// unthrottled returns a client of a cluster without the test clients' 5 requests/s, so that
// polling every 5 ms measures kfed, not the test's rate limit.
func unthrottled(t *testing.T, c *framework.Cluster) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS = -1
	cl, err := client.New(cfg, client.Options{Scheme: c.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestHungMemberCostsTheOthersNothing stops (SIGSTOP) one member's API server, so that requests
// to it hang as in a partition, and creates new objects one after another meanwhile: they reach
// the two healthy members without waiting for the hung one. The figures (the median arrival
// before and during the hang) are logged; the pass/fail bound is a generous one.
func TestHungMemberCostsTheOthersNothing(t *testing.T) {
	g := NewWithT(t)
	joinAll(t)
	ns := hostNamespace(t, "hung")
	hung := fed.Members[0] // readers[1:] read the healthy ones
	const n = 15
	normal, during := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	readers := make([]client.Client, len(fed.Members))
	for i, m := range fed.Members {
		readers[i] = unthrottled(t, m)
	}
	for i := range n {
		normal = append(normal, arrival(t, ns, fmt.Sprintf("before-%02d", i), readers))
	}
	// A kind no member serves: kfed keeps trying to watch it in every member, and that must not
	// hold up the hung member's probes (it once did: starting a watch asks the API server).
	widget := &v1alpha1.FederatedObject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "widget"}}
	widget.Spec.Template.Raw = []byte(`{"apiVersion": "widgets.example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "` + ns + `"}}`)
	g.Expect(fed.Host.Client.Create(t.Context(), widget)).To(Succeed())
	t.Cleanup(func() { deleteAndWait(t, widget) })
	pid := apiServerPID(t, hung)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	defer resume()
	hungAt := time.Now()
	for i := range n {
		during = append(during, arrival(t, ns, fmt.Sprintf("during-%02d", i), readers[1:]))
	}
	hungFor := time.Since(hungAt)
	resume()
	t.Logf("median arrival in the healthy members: %s before, %s while %s hung (%d objects each, the hang lasting %s); slowest during: %s",
		median(normal).Round(time.Millisecond), median(during).Round(time.Millisecond), hung.Name, n, hungFor.Round(time.Millisecond),
		slices.Max(during).Round(time.Millisecond))
	// Generous: a reconcile waits for a hung member at most memberWriteBudget (2 s) or
	// memberReadBudget (5 s), and once;
	// before, each new object waited for the member's request timeout (15 s) behind the others.
	g.Expect(median(during)).To(BeNumerically("<", 3*time.Second), "new objects do not wait for the hung member")

	// Once it answers again, the objects written meanwhile reach it too.
	g.Eventually(func(g Gomega) {
		for i := range n {
			g.Expect(memberConfigMap(g, hung, ns, fmt.Sprintf("during-%02d", i))).NotTo(BeNil())
		}
	}).WithTimeout(90 * time.Second).WithPolling(time.Second).Should(Succeed())
}
