package member_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/internal/propagate"
	"github.com/kfed-io/kfed/test/framework"
)

// Bounds of the waits: generous, for a loaded two-core machine; no test asserts a timing.
const (
	eventually   = 30 * time.Second
	consistently = 3 * time.Second
)

var configMapGVK = corev1.SchemeGroupVersion.WithKind("ConfigMap")

func TestWatchForRejectsBadSpecs(t *testing.T) {
	reg := member.NewRegistry(member.Options{})
	ok := member.WatchSpec{Name: "dns", GVK: configMapGVK}
	if _, err := reg.WatchFor(ok); err != nil {
		t.Fatalf("a valid spec: %v", err)
	}
	for _, tc := range []struct {
		name string
		spec member.WatchSpec
	}{
		{"no name", member.WatchSpec{GVK: configMapGVK}},
		{"no kind", member.WatchSpec{Name: "x", GVK: schema.GroupVersionKind{Version: "v1"}}},
		{"no version", member.WatchSpec{Name: "x", GVK: schema.GroupVersionKind{Kind: "ConfigMap"}}},
		{"a list kind", member.WatchSpec{Name: "x", GVK: corev1.SchemeGroupVersion.WithKind("ConfigMapList")}},
		{"two forms", member.WatchSpec{Name: "x", GVK: configMapGVK, MetadataOnly: true, Unstructured: true}},
		{"a taken name", ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if w, err := reg.WatchFor(tc.spec); err == nil {
				t.Errorf("WatchFor(%+v) = %v, want an error", tc.spec, w.Name())
			}
		})
	}
}

// startRegistry runs a Registry until the test ends.
func startRegistry(t *testing.T, opts member.Options) *member.Registry {
	t.Helper()
	scheme, err := controllers.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	opts.Scheme, opts.Logger = scheme, log.FromContext(t.Context())
	reg := member.NewRegistry(opts)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- reg.Start(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("registry: %v", err)
		}
	})
	return reg
}

// join adds a member to the Registry and waits until it is connected.
func join(t *testing.T, g Gomega, reg *member.Registry, m *framework.Cluster) {
	t.Helper()
	g.Expect(reg.Ensure(t.Context(), m.Name, member.Connection{
		Config: m.Config, Fingerprint: "1", Credentials: "test",
		Probe: member.ProbeSettings{Period: time.Second, Timeout: 5 * time.Second, FailureThreshold: 3, SuccessThreshold: 1},
	})).To(Succeed())
	g.Eventually(func() error { _, err := reg.Client(m.Name); return err }).WithTimeout(eventually).Should(Succeed())
}

func startMember(t *testing.T, g Gomega, topo framework.Topology) *framework.Cluster {
	t.Helper()
	m, err := framework.StartCluster(t.Context(), framework.ClusterOptions{Topology: topo, Nodes: 1})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stopping %s: %v", m.Name, err)
		}
	})
	return m
}

func configMap(name string, lbls map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: lbls}, Data: map[string]string{"k": "v"}}
}

// TestWatchForGivesEachConsumerItsOwnObjects: two consumers watch ConfigMaps with different
// selectors, and a third EndpointSlices by their Service label, in two members, one joined
// before the watches were asked for and one after; each hears of and reads only the objects its
// own selector chooses, in every member, in its own form.
func TestWatchForGivesEachConsumerItsOwnObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	early := startMember(t, g, framework.Members[0])
	late := startMember(t, g, framework.Members[1])
	reg := startRegistry(t, member.Options{})
	join(t, g, reg, early)

	// Consumer a: full objects with label app=a, keeping the field manager "owner"'s entries.
	// Consumer b: the metadata of objects that have a label "b" (any value).
	heardA, heardB := &heard{seen: map[string]int{}}, &heard{seen: map[string]int{}}
	a, err := reg.WatchFor(member.WatchSpec{Name: "a", GVK: configMapGVK, Handler: heardA.add,
		Selector: labels.SelectorFromSet(labels.Set{"app": "a"}), KeepManagedFieldsOf: "owner"})
	g.Expect(err).NotTo(HaveOccurred())
	hasB, err := labels.Parse("b")
	g.Expect(err).NotTo(HaveOccurred())
	b, err := reg.WatchFor(member.WatchSpec{Name: "b", GVK: configMapGVK, Handler: heardB.add, Selector: hasB, MetadataOnly: true})
	g.Expect(err).NotTo(HaveOccurred())
	// Consumer c: EndpointSlices of any Service (kfed does not label them), unstructured.
	heardC := &heard{seen: map[string]int{}}
	ofService, err := labels.Parse(discoveryv1.LabelServiceName)
	g.Expect(err).NotTo(HaveOccurred())
	sliceGVK := discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice")
	cw, err := reg.WatchFor(member.WatchSpec{Name: "c", GVK: sliceGVK, Handler: heardC.add, Selector: ofService, Unstructured: true})
	g.Expect(err).NotTo(HaveOccurred())
	join(t, g, reg, late)

	for _, m := range []*framework.Cluster{early, late} {
		g.Expect(m.Client.Create(ctx, configMap("for-a", map[string]string{"app": "a"}), client.FieldOwner("owner"))).To(Succeed())
		g.Expect(m.Client.Create(ctx, configMap("for-b", map[string]string{"b": "yes"}))).To(Succeed())
		g.Expect(m.Client.Create(ctx, configMap("for-none", nil))).To(Succeed())
		// Another writer adds a label to a's object: its managedFields entry must not be cached.
		patch := client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"x":"1"}}}`))
		g.Expect(m.Client.Patch(ctx, configMap("for-a", nil), patch, client.FieldOwner("someone-else"))).To(Succeed())
		for name, lbls := range map[string]map[string]string{"web-1": {discoveryv1.LabelServiceName: "web"}, "loose": nil} {
			g.Expect(m.Client.Create(ctx, &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: name, Labels: lbls},
				AddressType: discoveryv1.AddressTypeIPv4,
				// An address of TEST-NET-1 (RFC 5737): data only, nothing is sent to it.
				Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"192.0.2.1"}}},
			})).To(Succeed())
		}
	}
	for _, m := range []*framework.Cluster{early, late} {
		g.Eventually(func() int { return heardA.count(m.Name + "/default/for-a") }).WithTimeout(eventually).Should(BeNumerically(">=", 1),
			"consumer a hears of its object in %s", m.Name)
		g.Eventually(func() int { return heardB.count(m.Name + "/default/for-b") }).WithTimeout(eventually).Should(BeNumerically(">=", 1),
			"consumer b hears of its object in %s", m.Name)
		g.Eventually(func() int { return heardC.count(m.Name + "/default/web-1") }).WithTimeout(eventually).Should(BeNumerically(">=", 1),
			"consumer c hears of the EndpointSlice of a Service in %s", m.Name)
	}
	g.Consistently(func() []int {
		others := make([]int, 0, 16)
		for _, m := range []*framework.Cluster{early, late} {
			others = append(others, heardA.count(m.Name+"/default/for-b"), heardA.count(m.Name+"/default/for-none"),
				heardB.count(m.Name+"/default/for-a"), heardB.count(m.Name+"/default/for-none"),
				heardC.count(m.Name+"/default/loose"), heardC.count(m.Name+"/default/for-a"),
				heardA.count(m.Name+"/default/web-1"), heardB.count(m.Name+"/default/web-1"))
		}
		return others
	}).WithTimeout(consistently).Should(HaveEach(0), "no consumer hears of another's objects")

	for _, m := range []*framework.Cluster{early, late} {
		var ra, rb client.Reader
		g.Eventually(func() (err error) { ra, err = a.Reader(m.Name); return err }).WithTimeout(eventually).Should(Succeed())
		g.Eventually(func() (err error) { rb, err = b.Reader(m.Name); return err }).WithTimeout(eventually).Should(Succeed())

		// a reads its object, typed, with only the managedFields of "owner".
		var cm corev1.ConfigMap
		g.Eventually(func() map[string]string {
			_ = ra.Get(ctx, client.ObjectKey{Namespace: "default", Name: "for-a"}, &cm)
			return cm.Labels
		}).WithTimeout(eventually).Should(HaveKey("x"), "a's cache follows the update")
		g.Expect(cm.Data).To(Equal(map[string]string{"k": "v"}))
		g.Expect(cm.ManagedFields).NotTo(BeEmpty())
		for _, e := range cm.ManagedFields {
			g.Expect(e.Manager).To(Equal("owner"), "the cache keeps only the managedFields of the manager asked for")
		}
		var list corev1.ConfigMapList
		g.Expect(ra.List(ctx, &list, client.InNamespace("default"))).To(Succeed())
		g.Expect(names(list.Items)).To(ConsistOf("for-a"), "a's cache holds only what its selector chooses")
		err := ra.Get(ctx, client.ObjectKey{Namespace: "default", Name: "for-b"}, &corev1.ConfigMap{})
		g.Expect(err).To(HaveOccurred(), "b's object is not in a's cache")

		// b reads metadata only, without managedFields; a typed read is refused.
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(configMapGVK)
		g.Expect(rb.Get(ctx, client.ObjectKey{Namespace: "default", Name: "for-b"}, meta)).To(Succeed())
		g.Expect(meta.Labels).To(HaveKeyWithValue("b", "yes"))
		g.Expect(meta.ManagedFields).To(BeEmpty())
		metaList := &metav1.PartialObjectMetadataList{}
		metaList.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
		g.Expect(rb.List(ctx, metaList)).To(Succeed())
		g.Expect(metaList.Items).To(HaveLen(1))
		g.Expect(rb.Get(ctx, client.ObjectKey{Namespace: "default", Name: "for-b"}, &corev1.ConfigMap{})).
			To(MatchError(ContainSubstring("metadata only")), "a read in another form than the watch's is refused")
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		g.Expect(ra.Get(ctx, client.ObjectKey{Namespace: "default", Name: "x"}, u)).To(HaveOccurred(), "another kind is refused")

		// c reads unstructured EndpointSlices of Services only.
		var rc client.Reader
		g.Eventually(func() (err error) { rc, err = cw.Reader(m.Name); return err }).WithTimeout(eventually).Should(Succeed())
		slices := &unstructured.UnstructuredList{}
		slices.SetGroupVersionKind(discoveryv1.SchemeGroupVersion.WithKind("EndpointSliceList"))
		g.Expect(rc.List(ctx, slices, client.InNamespace("default"))).To(Succeed())
		sliceNames := make([]string, 0, len(slices.Items))
		for _, it := range slices.Items {
			sliceNames = append(sliceNames, it.GetName())
		}
		// The API server's own Service, kubernetes, has one too.
		g.Expect(sliceNames).To(ContainElement("web-1"))
		g.Expect(sliceNames).NotTo(ContainElement("loose"))
		g.Expect(rc.List(ctx, &discoveryv1.EndpointSliceList{})).To(MatchError(ContainSubstring("unstructured")), "typed reads are refused")
	}

	// What a's cache keeps of the managedFields (KeepManagedFieldsOf) is enough for
	// propagate.ApplyOwnership to see that the fields "owner" wrote with a plain create must be
	// handed over to its apply entry.
	ra, err := a.Reader(early.Name)
	g.Expect(err).NotTo(HaveOccurred())
	var cached corev1.ConfigMap
	g.Expect(ra.Get(ctx, client.ObjectKey{Namespace: "default", Name: "for-a"}, &cached)).To(Succeed())
	_, handOver, err := propagate.ApplyOwnership(cached.ManagedFields, "owner")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(handOver).To(BeTrue(), "the trimmed cache still tells that a hand-over is needed")

	_, err = a.Reader("no-such-cluster")
	g.Expect(errors.Is(err, member.ErrClusterNotConnected)).To(BeTrue(), "an unknown member: %v", err)
}

func names(cms []corev1.ConfigMap) []string {
	out := make([]string, 0, len(cms))
	for _, cm := range cms {
		out = append(out, cm.Name)
	}
	return out
}

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

// TestWatchForFollowsManagedObjects: a watch of managed objects (propagation's) hears of their
// changes and deletion and never of the others, while a watch of a kind the member does not
// serve stops nothing; Client reads managed objects from its cache, DirectClient the rest.
func TestWatchForFollowsManagedObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := t.Context()
	m := startMember(t, g, framework.Members[0])
	reg := startRegistry(t, member.Options{})
	h := &heard{seen: map[string]int{}}
	managedOnly := labels.SelectorFromSet(labels.Set{v1alpha1.LabelManaged: "true"})
	// A kind the member does not serve must not stop the others.
	unserved, err := reg.WatchFor(member.WatchSpec{Name: "widgets", GVK: schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"},
		Selector: managedOnly, Handler: h.add, Unstructured: true})
	g.Expect(err).NotTo(HaveOccurred())
	join(t, g, reg, m)
	_, err = reg.WatchFor(member.WatchSpec{Name: "configmaps", GVK: configMapGVK, Selector: managedOnly, Handler: h.add, Unstructured: true})
	g.Expect(err).NotTo(HaveOccurred())

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
	g.Consistently(func() int { return h.count(m.Name + "/default/not-managed") }).WithTimeout(consistently).Should(BeZero(),
		"objects kfed does not manage are neither cached nor reported")

	// The watch of the unserved kind never syncs: WaitReader says so after its wait.
	_, err = unserved.WaitReader(ctx, m.Name, 200*time.Millisecond)
	g.Expect(errors.Is(err, member.ErrWatchNotSynced)).To(BeTrue(), "an unserved kind: %v", err)

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
