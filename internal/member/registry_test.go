package member_test

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/test/framework"
)

// heard records the objects a Registry reported, by cluster/namespace/name.
type heard struct {
	mu   sync.Mutex
	seen map[string]int
}

func (h *heard) add(cluster string, obj client.Object) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen[cluster+"/"+obj.GetNamespace()+"/"+obj.GetName()]++
}

func (h *heard) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[key]
}

func TestWatchRoutesManagedObjectsOfEveryMember(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	m, err := framework.StartCluster(ctx, framework.ClusterOptions{Topology: framework.Members[0], Nodes: 1})
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = m.Stop() }()

	scheme, err := controllers.NewScheme()
	g.Expect(err).NotTo(HaveOccurred())
	reg := member.NewRegistry(member.Options{Scheme: scheme, Logger: log.FromContext(ctx)})
	regCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- reg.Start(regCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("registry: %v", err)
		}
	}()

	h := &heard{seen: map[string]int{}}
	reg.OnObject(h.add)
	// A kind the member does not serve must not stop the others.
	reg.Watch(schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"})
	g.Expect(reg.Ensure(ctx, m.Name, member.Connection{
		Config: m.Config, Fingerprint: "1", Credentials: "test",
		Probe: member.ProbeSettings{Period: time.Second, Timeout: 500 * time.Millisecond, FailureThreshold: 1, SuccessThreshold: 1},
	})).To(Succeed())
	g.Eventually(func() error { _, err := reg.Client(m.Name); return err }).WithTimeout(eventually).Should(Succeed())
	reg.Watch(corev1.SchemeGroupVersion.WithKind("ConfigMap"))

	managed := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "managed",
		Labels: map[string]string{v1alpha1.LabelManaged: "true"}}}
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "not-managed"}}
	// The watch starts asynchronously; an informer reports what exists when it starts.
	g.Expect(m.Client.Create(ctx, other)).To(Succeed())
	g.Expect(m.Client.Create(ctx, managed)).To(Succeed())
	g.Eventually(func() int { return h.count(m.Name + "/default/managed") }).WithTimeout(eventually).Should(BeNumerically(">=", 1))

	before := h.count(m.Name + "/default/managed")
	g.Expect(m.Client.Delete(ctx, managed)).To(Succeed())
	g.Eventually(func() int { return h.count(m.Name + "/default/managed") }).WithTimeout(eventually).Should(BeNumerically(">", before), "the deletion is reported")
	g.Consistently(func() int { return h.count(m.Name + "/default/not-managed") }).WithTimeout(2*time.Second).Should(BeZero(),
		"objects kfed does not manage are neither cached nor reported")

	// The cached client reads managed objects; the direct client reads the rest.
	c, err := reg.Client(m.Name)
	g.Expect(err).NotTo(HaveOccurred())
	direct, err := reg.DirectClient(m.Name)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(direct.Get(ctx, client.ObjectKeyFromObject(other), &corev1.ConfigMap{})).To(Succeed())
	var cached corev1.ConfigMapList
	g.Expect(c.List(ctx, &cached, client.InNamespace("default"))).To(Succeed())
	for _, cm := range cached.Items {
		g.Expect(cm.Name).NotTo(Equal("not-managed"))
	}
}
