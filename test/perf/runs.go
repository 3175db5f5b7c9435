package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/test/framework"
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
}

// unlimited returns a client of cfg without a client-side rate limit.
func unlimited(cfg *rest.Config) (client.Client, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS = -1
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

func deploymentSpec(name string, replicas int32) appsv1.DeploymentSpec {
	labels := map[string]string{"app": name}
	return appsv1.DeploymentSpec{
		Replicas: ptr.To(replicas),
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
		},
	}
}

// federated is the federated object the bench creates in the host for o.
func federated(o object, ns string, members int) client.Object {
	meta := metav1.ObjectMeta{Namespace: ns, Name: o.name}
	if o.kind == kindConfigMap {
		return &v1alpha1.FederatedConfigMap{ObjectMeta: meta, Spec: v1alpha1.FederatedConfigMapSpec{
			Template: v1alpha1.ConfigMapTemplate{Metadata: v1alpha1.TemplateMeta{Labels: benchLabels}, Data: configMapData(o.name)},
		}}
	}
	return &v1alpha1.FederatedDeployment{ObjectMeta: meta, Spec: v1alpha1.FederatedDeploymentSpec{
		Template: v1alpha1.DeploymentTemplate{
			Metadata: v1alpha1.TemplateMeta{Labels: benchLabels},
			Spec:     deploymentSpec(o.name, int32(members)), //nolint:gosec // a handful of members
		},
	}}
}

// native is the object the floor writes into each member for o.
func native(o object, ns string) client.Object {
	meta := metav1.ObjectMeta{Namespace: ns, Name: o.name, Labels: benchLabels}
	if o.kind == kindConfigMap {
		return &corev1.ConfigMap{ObjectMeta: meta, Data: configMapData(o.name)}
	}
	return &appsv1.Deployment{ObjectMeta: meta, Spec: deploymentSpec(o.name, 1)}
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

// runKfed creates the federated objects in the host and times them into every member.
func runKfed(ctx context.Context, c config, fed *framework.Federation, w *seen) (result, error) {
	const ns = "perf-kfed"
	host, err := unlimited(fed.Host.Config)
	if err != nil {
		return result{}, err
	}
	if err := host.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return result{}, fmt.Errorf("creating namespace %s in the host: %w", ns, err)
	}
	objs := objects(c.objects)
	fmt.Printf("kfed: creating %d federated objects in the host, %d at a time...\n", len(objs), c.concurrency)
	before, err := memberWrites()
	if err != nil {
		return result{}, err
	}
	snapBefore, err := takeSnapshot()
	if err != nil {
		return result{}, err
	}
	if c.cpuprofile != "" {
		stop, err := startCPUProfile(c.cpuprofile)
		if err != nil {
			return result{}, err
		}
		defer stop()
	}
	created, err := createAll(ctx, objs, ns, c.concurrency, func(ctx context.Context, o object) error {
		return host.Create(ctx, federated(o, ns, len(fed.Members)))
	})
	if err != nil {
		return result{}, err
	}
	r, err := collect(ctx, c, w, objs, ns, created, len(fed.Members))
	if err != nil {
		return result{}, fmt.Errorf("kfed: %w", err)
	}
	after, err := memberWrites()
	if err != nil {
		return result{}, err
	}
	r.writes = after - before
	snapAfter, err := takeSnapshot()
	if err != nil {
		return result{}, err
	}
	var b strings.Builder
	printRequests(&b, snapBefore, snapAfter, len(objs), fed)
	r.requests = b.String()
	return r, nil
}

// runFloor writes the same objects straight into every member, in parallel.
func runFloor(ctx context.Context, c config, fed *framework.Federation, w *seen) (result, error) {
	const ns = "perf-floor"
	members := make([]client.Client, len(fed.Members))
	for i, m := range fed.Members {
		cl, err := unlimited(m.Config)
		if err != nil {
			return result{}, err
		}
		if err := cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return result{}, fmt.Errorf("creating namespace %s in member %s: %w", ns, m.Name, err)
		}
		members[i] = cl
	}
	objs := objects(c.objects)
	fmt.Printf("floor: creating the same %d objects straight in each member, %d at a time...\n", len(objs), c.concurrency)
	created, err := createAll(ctx, objs, ns, c.concurrency, func(ctx context.Context, o object) error {
		errs := make([]error, len(members))
		var wg sync.WaitGroup
		for i, cl := range members {
			wg.Go(func() { errs[i] = cl.Create(ctx, native(o, ns)) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return result{}, err
	}
	r, err := collect(ctx, c, w, objs, ns, created, len(fed.Members))
	if err != nil {
		return result{}, fmt.Errorf("floor: %w", err)
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

// memberWrites sums kfed_member_writes_total of the manager running in this process.
func memberWrites() (float64, error) {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return 0, fmt.Errorf("reading kfed's metrics: %w", err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() == "kfed_member_writes_total" {
			sum += sumCounters(f.GetMetric())
		}
	}
	return sum, nil
}

func sumCounters(ms []*dto.Metric) float64 {
	var sum float64
	for _, m := range ms {
		sum += m.GetCounter().GetValue()
	}
	return sum
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

// report prints both runs side by side, with kfed's ratios to the floor.
func report(out io.Writer, c config, k, f result) {
	kt, ft := throughput(k, c.objects, c.members), throughput(f, c.objects, c.members)
	kp99, fp99 := quantile(k.latencies, 0.99), quantile(f.latencies, 0.99)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	p := func(format string, args ...any) { _, _ = fmt.Fprintf(out, format, args...) }
	p("\n%d objects (half ConfigMaps, half Deployments) over %d members, %d created at a time\n", c.objects, c.members, c.concurrency)
	p("%-38s %12s %12s %12s\n", "", "kfed", "floor", "kfed/floor")
	p("%-38s %12s %12s %11.2fx\n", "p50 latency (created -> in every member)", ms(quantile(k.latencies, 0.5)), ms(quantile(f.latencies, 0.5)),
		float64(quantile(k.latencies, 0.5))/float64(quantile(f.latencies, 0.5)))
	p("%-38s %12s %12s %11.2fx\n", "p99 latency", ms(kp99), ms(fp99), float64(kp99)/float64(fp99))
	p("%-38s %12.0f %12.0f %11.0f%%\n", "throughput (object x cluster writes/s)", kt, ft, 100*kt/ft)
	p("%-38s %12.2f %12d\n", "member writes per object", k.writes/float64(c.objects), c.members)
	p("(the member writes of kfed include the namespace it creates in each member once)\n")
	p("%s", k.requests)
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
