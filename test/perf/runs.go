package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/internal/member"
	"github.com/kfed-io/kfed/test/framework"
	"github.com/kfed-io/kfed/test/gen"
)

// result is one run's timings.
type result struct {
	// latencies from each object's creation to its copy seen in every member, sorted.
	latencies []time.Duration
	// span is from the first creation to the last object reaching its last member.
	span time.Duration
	// writes kfed made to members during the run (0 for the floor, which writes once per copy).
	writes float64
	// requests is kfed's reconciles and API requests per object (empty for the floor).
	requests string
	// workers is kfed's concurrent reconciles of the bench's kinds (0 for the floor).
	workers int
}

// unlimited returns a client of cfg without a client-side rate limit, as kfed's host client.
func unlimited(cfg *rest.Config) (client.Client, error) {
	return limited(cfg, -1, 0)
}

// memberClient returns a client of a member with the client-side rate limit of kfed's member
// clients, so that the floors and kfed write to members under the same limits.
func memberClient(cfg *rest.Config) (client.Client, error) {
	return limited(cfg, member.DefaultQPS, member.DefaultBurst)
}

func limited(cfg *rest.Config, qps float32, burst int) (client.Client, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = qps, burst
	s, err := controllers.NewScheme()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: s})
}

// joinAll joins every member with a kubeconfig Secret and waits until kfed is connected to each.
func joinAll(ctx context.Context, fed *framework.Federation, mgr *framework.Manager) error {
	for _, m := range fed.Members {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: m.Name},
			Data:       map[string][]byte{v1alpha1.SecretKeyKubeconfig: m.Kubeconfig},
		}
		fc := &v1alpha1.FederatedCluster{
			ObjectMeta: metav1.ObjectMeta{Name: m.Name},
			Spec:       v1alpha1.FederatedClusterSpec{SecretRef: v1alpha1.ObjectReference{Name: m.Name}},
		}
		for _, o := range []client.Object{secret, fc} {
			if err := fed.Host.Client.Create(ctx, o); err != nil {
				return fmt.Errorf("joining %s: %w", m.Name, err)
			}
		}
	}
	deadline := time.Now().Add(time.Minute)
	for _, m := range fed.Members {
		for {
			fc := &v1alpha1.FederatedCluster{}
			err := fed.Host.Client.Get(ctx, client.ObjectKey{Name: m.Name}, fc)
			_, connErr := mgr.Registry.Client(m.Name)
			if err == nil && connErr == nil && meta.IsStatusConditionTrue(fc.Status.Conditions, v1alpha1.ConditionReady) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("member %s did not become Ready within a minute", m.Name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// The kinds of the bench objects, as the member watches name them.
const (
	kindConfigMap  = "ConfigMap"
	kindDeployment = "Deployment"
)

// object is one bench object: a ConfigMap or a Deployment with one replica per member.
type object struct {
	kind, name string
}

func (o object) key(ns string) string { return o.kind + "/" + ns + "/" + o.name }

func objects(n int) []object {
	out := make([]object, n)
	for i := range out {
		if i%2 == 0 {
			out[i] = object{kind: kindConfigMap, name: fmt.Sprintf("cm-%05d", i)}
		} else {
			out[i] = object{kind: kindDeployment, name: fmt.Sprintf("deploy-%05d", i)}
		}
	}
	return out
}

var benchLabels = map[string]string{benchLabel: "true"}

func configMapData(name string) map[string]string {
	return map[string]string{"name": name, "settings": "color=blue\nsize=m\n"}
}

// federated is the federated object the bench creates in the host for o.
func federated(o object, ns string, members int) client.Object {
	if o.kind == kindConfigMap {
		return gen.FederatedConfigMap(ns, o.name, configMapData(o.name), gen.TemplateLabels(benchLabels))
	}
	return gen.FederatedDeployment(ns, o.name, int32(members), gen.TemplateLabels(benchLabels)) //nolint:gosec // a handful of members
}

// native is the object the floor writes into each member for o.
func native(o object, ns string) client.Object {
	meta := metav1.ObjectMeta{Namespace: ns, Name: o.name, Labels: benchLabels}
	if o.kind == kindConfigMap {
		return &corev1.ConfigMap{ObjectMeta: meta, Data: configMapData(o.name)}
	}
	return &appsv1.Deployment{ObjectMeta: meta, Spec: gen.DeploymentSpec(o.name, 1)}
}

// createAll runs create for every object, c at a time, and returns when each creation began.
func createAll(ctx context.Context, objs []object, ns string, c int, create func(context.Context, object) error) (map[string]time.Time, error) {
	var mu sync.Mutex
	created := make(map[string]time.Time, len(objs))
	work := make(chan object)
	errs := make(chan error, c)
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for o := range work {
				at := time.Now()
				if err := create(ctx, o); err != nil {
					errs <- fmt.Errorf("creating %s: %w", o.key(ns), err)
					return
				}
				mu.Lock()
				created[o.key(ns)] = at
				mu.Unlock()
			}
		})
	}
	var err error
feed:
	for _, o := range objs {
		select {
		case work <- o:
		case err = <-errs:
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	return created, err
}

// oneAtATime makes create, in a phase that waits for each object, return only once the object
// reached every member (or the run's timeout passed), so that one object is in flight.
func oneAtATime(ph phase, c config, w *seen, ns string, members int, create func(context.Context, object) error) func(context.Context, object) error {
	if !ph.waitEach {
		return create
	}
	return func(ctx context.Context, o object) error {
		if err := create(ctx, o); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		_, err := w.waitAll(ctx, []string{o.key(ns)}, members)
		return err
	}
}

// runKfed creates the federated objects in the host and times them into every member.
func runKfed(ctx context.Context, ph phase, c config, fed *framework.Federation, w *seen) (result, error) {
	ns := "perf-kfed-" + ph.name
	host, err := unlimited(fed.Host.Config)
	if err != nil {
		return result{}, err
	}
	if err := host.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return result{}, fmt.Errorf("creating namespace %s in the host: %w", ns, err)
	}
	objs := objects(ph.objects)
	fmt.Printf("kfed, %s: creating %d federated objects in the host, %d at a time...\n", ph.name, len(objs), ph.inFlight)
	before, err := takeSnapshot()
	if err != nil {
		return result{}, err
	}
	if c.cpuprofile != "" && !ph.waitEach {
		stop, err := startCPUProfile(c.cpuprofile)
		if err != nil {
			return result{}, err
		}
		defer stop()
	}
	created, err := createAll(ctx, objs, ns, ph.inFlight, oneAtATime(ph, c, w, ns, len(fed.Members), func(ctx context.Context, o object) error {
		return host.Create(ctx, federated(o, ns, len(fed.Members)))
	}))
	if err != nil {
		return result{}, err
	}
	r, err := collect(ctx, c, w, objs, ns, created, len(fed.Members))
	if err != nil {
		return result{}, fmt.Errorf("kfed: %w", err)
	}
	after, err := takeSnapshot()
	if err != nil {
		return result{}, err
	}
	r.writes = after[memberWritesKey] - before[memberWritesKey]
	r.workers = after.workers()
	var b strings.Builder
	printRequests(&b, before, after, len(objs), fed)
	r.requests = b.String()
	return r, nil
}

// runFloor writes the same objects straight into every member, in parallel. With withHost
// (the federation floor), each object also makes the calls a federation cannot do without:
// its creation in the host, its finalizer and one status write there, around the member creates.
func runFloor(ctx context.Context, ph phase, c config, fed *framework.Federation, w *seen, withHost bool) (result, error) {
	ns, what := "perf-floor-"+ph.name, "floor, "+ph.name
	if withHost {
		ns, what = "perf-federation-floor-"+ph.name, "federation floor, "+ph.name
	}
	host, err := unlimited(fed.Host.Config)
	if err != nil {
		return result{}, err
	}
	members := make([]client.Client, len(fed.Members))
	for i, m := range fed.Members {
		if members[i], err = memberClient(m.Config); err != nil {
			return result{}, err
		}
	}
	written := members
	if withHost {
		written = append([]client.Client{host}, members...)
	}
	for _, cl := range written {
		if err := cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return result{}, fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	finalizer := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":["`+v1alpha1.FinalizerCleanup+`"]}}`))
	status := client.RawPatch(types.MergePatchType, []byte(`{"status":{"observedGeneration":1,"clusterCount":3,"clusters":[`+
		`{"name":"a","phase":"Propagated","replicas":1},{"name":"b","phase":"Propagated","replicas":1},{"name":"c","phase":"Propagated","replicas":1}],`+
		`"conditions":[{"type":"Ready","status":"True","reason":"Propagated","message":"3 of 3 replicas ready","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`))
	objs := objects(ph.objects)
	fmt.Printf("%s: the same %d objects straight into each member, %d at a time...\n", what, len(objs), ph.inFlight)
	created, err := createAll(ctx, objs, ns, ph.inFlight, oneAtATime(ph, c, w, ns, len(members), func(ctx context.Context, o object) error {
		var fo client.Object
		if withHost {
			fo = federated(o, ns, len(members))
			if err := host.Create(ctx, fo); err != nil {
				return err
			}
			if err := host.Patch(ctx, fo, finalizer); err != nil {
				return err
			}
		}
		errs := make([]error, len(members))
		var wg sync.WaitGroup
		for i, cl := range members {
			wg.Go(func() { errs[i] = cl.Create(ctx, native(o, ns)) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil || !withHost {
			return err
		}
		return host.Status().Patch(ctx, fo, status)
	}))
	if err != nil {
		return result{}, err
	}
	r, err := collect(ctx, c, w, objs, ns, created, len(fed.Members))
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", what, err)
	}
	return r, nil
}

// collect waits until every object is in every member and computes the run's timings.
func collect(ctx context.Context, c config, w *seen, objs []object, ns string, created map[string]time.Time, members int) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.key(ns)
	}
	done, err := w.waitAll(ctx, keys, members)
	if err != nil {
		return result{}, err
	}
	var r result
	var first, last time.Time
	for _, k := range keys {
		r.latencies = append(r.latencies, done[k].Sub(created[k]))
		if first.IsZero() || created[k].Before(first) {
			first = created[k]
		}
		if done[k].After(last) {
			last = done[k]
		}
	}
	slices.Sort(r.latencies)
	r.span = last.Sub(first)
	return r, nil
}

// quantile returns the q-quantile (nearest rank) of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func throughput(r result, objects, members int) float64 {
	return float64(objects*members) / r.span.Seconds()
}

// report prints each phase's runs side by side, with kfed's ratios to the floor and to the
// federation floor, then the limits both sides ran under.
func report(out io.Writer, c config, phases []phase, runs []phaseRuns) {
	p := func(format string, args ...any) { _, _ = fmt.Fprintf(out, format, args...) }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	for i, ph := range phases {
		k, f, ff := runs[i].kfed, runs[i].floor, runs[i].fedFloor
		row := func(name string, q float64) {
			kq, fq, ffq := quantile(k.latencies, q), quantile(f.latencies, q), quantile(ff.latencies, q)
			p("%-40s %10s %10s %11s %11.2fx %11.2fx\n", name, ms(kq), ms(fq), ms(ffq), float64(kq)/float64(fq), float64(kq)/float64(ffq))
		}
		how := fmt.Sprintf("%d created at a time", ph.inFlight)
		if ph.waitEach {
			how = "one in flight (each created once the last reached every member)"
		}
		p("\n%s: %d objects (half ConfigMaps, half Deployments) over %d members, %s\n", ph.name, ph.objects, c.members, how)
		p("%-40s %10s %10s %11s %12s %12s\n", "", "kfed", "floor", "fed. floor", "kfed/floor", "kfed/fed.")
		row("p50 latency (created -> in every member)", 0.5)
		row("p99 latency", 0.99)
		kt, ft, fft := throughput(k, ph.objects, c.members), throughput(f, ph.objects, c.members), throughput(ff, ph.objects, c.members)
		p("%-40s %10.0f %10.0f %11.0f %11.0f%% %11.0f%%\n", "throughput (object x cluster writes/s)", kt, ft, fft, 100*kt/ft, 100*kt/fft)
		p("%-40s %10.2f %10d %11d\n", "member writes per object", k.writes/float64(ph.objects), c.members, c.members)
		p("%s", k.requests)
	}
	p("\n(kfed's member writes include the namespace it creates in each member once. The federation floor\n")
	p("also creates each object in the host, adds its finalizer and writes its status once: the calls a\n")
	p("federation cannot do without, made by a plain client-go program with no controller in between.)\n")
	p("Limits, the same on both sides: member clients QPS %d, burst %d (per member, client and kind: kfed's\n",
		member.DefaultQPS, member.DefaultBurst)
	p("defaults, given to the floors' clients); host clients unlimited. In flight: the floors have the phase's\n")
	p("objects in flight, each written to its members in parallel; kfed's user creates as many, and kfed\n")
	if len(runs) > 0 && runs[len(runs)-1].kfed.workers > 0 {
		p("reconciles up to %d objects at a time (its workers of the two kinds), each written to its members in parallel.\n",
			runs[len(runs)-1].kfed.workers)
	} else {
		p("reconciles them with its own workers (count not read from its metrics).\n")
	}
}

// startCPUProfile writes a CPU profile of this process to path until the returned func is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting the CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
