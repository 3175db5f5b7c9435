package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/test/framework"
)

// costCalls is how many calls of each kind the cost table averages, after costWarmUp calls.
const costCalls, costWarmUp = 100, 20

// cost is what one kind of API call costs this machine.
type cost struct {
	name string
	// cpu is the machine's CPU time per call (all processes: client, API server, etcd), less
	// what the machine spends idle over the same wall time; wall is the call's duration.
	cpu, wall time.Duration
}

// busyTicks returns the machine's non-idle CPU time so far, from /proc/stat (clock ticks of
// 10 ms).
func busyTicks() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("/proc/stat has no cpu line")
	}
	var busy int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading /proc/stat: %w", err)
		}
		busy += n
	}
	return busy, nil
}

// measureCost makes costCalls calls one after another and returns their cost, less the idle
// rate (busy CPU per second of wall time with no call made).
func measureCost(name string, idle float64, call func(i int) error) (cost, error) {
	b0, err := busyTicks()
	if err != nil {
		return cost{}, err
	}
	start := time.Now()
	for i := range costCalls {
		if err := call(i); err != nil {
			return cost{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	wall := time.Since(start)
	b1, err := busyTicks()
	if err != nil {
		return cost{}, err
	}
	cpu := time.Duration(b1-b0)*10*time.Millisecond - time.Duration(idle*float64(wall))
	return cost{name: name, cpu: max(cpu, 0) / costCalls, wall: wall / costCalls}, nil
}

// costs measures, one call at a time on otherwise quiet clusters, the API calls a federation
// makes per object and those the floor makes. It runs before the kfed manager starts, and
// removes what it created in the host, so that the manager never sees it.
func costs(ctx context.Context, fed *framework.Federation) ([]cost, error) {
	const ns = "perf-costs"
	host, err := unlimited(fed.Host.Config)
	if err != nil {
		return nil, err
	}
	m, err := unlimited(fed.Members[0].Config)
	if err != nil {
		return nil, err
	}
	for _, c := range []client.Client{host, m} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	defer func() {
		for _, o := range []client.Object{&v1alpha1.FederatedConfigMap{}, &v1alpha1.FederatedDeployment{}} {
			_ = host.DeleteAllOf(context.WithoutCancel(ctx), o, client.InNamespace(ns))
		}
	}()

	name := func(prefix string, i int) string { return fmt.Sprintf("%s-%03d", prefix, i) }
	cm := func(i int) object { return object{kind: kindConfigMap, name: name("cm", i)} }
	deploy := func(i int) object { return object{kind: kindDeployment, name: name("deploy", i)} }
	apply := func(o client.Object, gvk schema.GroupVersionKind) error {
		raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{Object: raw}
		u.SetGroupVersionKind(gvk)
		return m.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("perf"), client.ForceOwnership)
	}
	status := []byte(`{"status":{"observedGeneration":1,"clusterCount":3,"clusters":[` +
		`{"name":"a","phase":"Propagated","replicas":1},{"name":"b","phase":"Propagated","replicas":1},{"name":"c","phase":"Propagated","replicas":1}],` +
		`"conditions":[{"type":"Ready","status":"True","reason":"Propagated","message":"3 of 3 replicas ready","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`)
	finalizer := []byte(`{"metadata":{"finalizers":["` + v1alpha1.FinalizerCleanup + `"]}}`)
	calls := []struct {
		name string
		call func(i int) error
	}{
		{"host: create FederatedConfigMap", func(i int) error { return host.Create(ctx, federated(cm(i), ns, 3)) }},
		{"host: create FederatedDeployment", func(i int) error { return host.Create(ctx, federated(deploy(i), ns, 3)) }},
		{"host: add a finalizer (merge patch)", func(i int) error {
			return host.Patch(ctx, federated(deploy(i), ns, 3), client.RawPatch(types.MergePatchType, finalizer))
		}},
		{"host: status (merge patch)", func(i int) error {
			return host.Status().Patch(ctx, federated(deploy(i), ns, 3), client.RawPatch(types.MergePatchType, status))
		}},
		{"member: create ConfigMap", func(i int) error { return m.Create(ctx, native(cm(i), ns)) }},
		{"member: create Deployment", func(i int) error { return m.Create(ctx, native(deploy(i), ns)) }},
		{"member: get a missing object", func(i int) error {
			return client.IgnoreNotFound(m.Get(ctx, client.ObjectKey{Namespace: ns, Name: name("none", i)}, &corev1.ConfigMap{}))
		}},
		{"member: server-side apply a new ConfigMap", func(i int) error {
			return apply(native(object{kind: kindConfigMap, name: name("ssa-cm", i)}, ns), corev1.SchemeGroupVersion.WithKind(kindConfigMap))
		}},
		{"member: server-side apply a new Deployment", func(i int) error {
			return apply(native(object{kind: kindDeployment, name: name("ssa-deploy", i)}, ns), appsv1.SchemeGroupVersion.WithKind(kindDeployment))
		}},
	}
	// Unmeasured calls first: the API servers' first calls of a kind cost more.
	for _, c := range calls {
		for i := range costWarmUp {
			if err := c.call(costCalls + i); err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
		}
	}
	b0, err := busyTicks()
	if err != nil {
		return nil, err
	}
	const idleFor = 3 * time.Second
	time.Sleep(idleFor)
	b1, err := busyTicks()
	if err != nil {
		return nil, err
	}
	idle := float64(b1-b0) * float64(10*time.Millisecond) / float64(idleFor)

	out := make([]cost, 0, len(calls))
	for _, c := range calls {
		r, err := measureCost(c.name, idle, c.call)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// reportCosts prints the cost table and what it bounds: the CPU per bench object (half
// ConfigMaps, half Deployments over members clusters) of the floor, and of the fewest calls
// kfed can make (the user's create in the host, the finalizer, one status write, one create per
// member). On a machine where the host, the members and kfed share the CPU, the ratio of the
// two bounds kfed's throughput against the floor.
func reportCosts(out io.Writer, cs []cost, members int) {
	p := func(format string, args ...any) { _, _ = fmt.Fprintf(out, format, args...) }
	by := map[string]time.Duration{}
	p("\nCost of one API call on this machine (CPU of every process, less idle; %d calls each, one at a time):\n", costCalls)
	for _, c := range cs {
		by[c.name] = c.cpu
		p("  %-45s %6.2f ms CPU %6.2f ms wall\n", c.name, ms(c.cpu), ms(c.wall))
	}
	avg := func(a, b string) time.Duration { return (by[a] + by[b]) / 2 }
	memberCreate := avg("member: create ConfigMap", "member: create Deployment")
	floor := time.Duration(members) * memberCreate
	least := avg("host: create FederatedConfigMap", "host: create FederatedDeployment") +
		by["host: add a finalizer (merge patch)"] + by["host: status (merge patch)"] + floor
	p("per bench object over %d members: the floor %.1f ms CPU (a create in each member); a federation at least %.1f ms\n",
		members, ms(floor), ms(least))
	p("(the create in the host, the finalizer, one status write and a create in each member): at most %.0f%% of the floor's throughput here\n",
		100*float64(floor)/float64(least))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
