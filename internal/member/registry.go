package member

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/kfed-io/kfed/api/v1alpha1"
)

// ErrClusterNotConnected is returned for a member that is unknown, NotReady or not yet synced.
var ErrClusterNotConnected = errors.New("member cluster not connected")

// Connection is how to reach a member.
type Connection struct {
	// Config reaches the member's API server with the member's credentials.
	Config *rest.Config
	// Fingerprint changes whenever the endpoint or the credentials change; a new fingerprint
	// makes the Registry drop the old connection and start a new one.
	Fingerprint string
	// Credentials names where the credentials came from, for messages; never the credentials.
	Credentials string
	// Probe says how to probe the member.
	Probe ProbeSettings
}

// Options tune a Registry.
type Options struct {
	// Scheme of the member clients and caches.
	Scheme *runtime.Scheme
	// Logger for the Registry's goroutines; each member adds its name.
	Logger logr.Logger
	// RequestTimeout bounds every request a member client makes (default 15s), so that a
	// write to a member that dies mid-request fails instead of hanging.
	RequestTimeout time.Duration
	// SyncTimeout bounds the wait for a member's cache to sync (default 30s).
	SyncTimeout time.Duration
	// QPS and Burst of member clients (defaults DefaultQPS and DefaultBurst).
	QPS   float32
	Burst int
	// WrapTransport, when set, wraps the transport of every request to a member (probes,
	// caches, clients): for metrics or tests that count requests.
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// The client-side rate limit of member clients and caches when Options leave it unset: per
// member, per client and per kind (controller-runtime gives each kind's REST client its own).
const (
	DefaultQPS   = 50
	DefaultBurst = 100
)

// Registry keeps one entry per member cluster. It is a manager.Runnable: members run from Start
// until the manager stops, and only on the leader.
type Registry struct {
	opts    Options
	started chan struct{}
	base    context.Context //nolint:containedctx // the lifetime of every member's goroutines

	mu          sync.Mutex
	members     map[string]*entry
	subscribers []func(cluster string)
	watches     map[string]*Watch

	goroutines atomic.Int64
}

// NewRegistry returns a Registry; add it to a manager (mgr.Add) to start it.
func NewRegistry(opts Options) *Registry {
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 15 * time.Second
	}
	if opts.SyncTimeout == 0 {
		opts.SyncTimeout = 30 * time.Second
	}
	if opts.QPS == 0 {
		opts.QPS, opts.Burst = DefaultQPS, DefaultBurst
	}
	return &Registry{opts: opts, started: make(chan struct{}), members: map[string]*entry{}, watches: map[string]*Watch{}}
}

// Start runs the Registry until ctx ends, then stops every member and waits for them.
func (r *Registry) Start(ctx context.Context) error {
	r.base = ctx
	close(r.started)
	<-ctx.Done()
	r.mu.Lock()
	all := make([]*entry, 0, len(r.members))
	for name, e := range r.members {
		all = append(all, e)
		delete(r.members, name)
	}
	r.mu.Unlock()
	for _, e := range all {
		e.stop()
	}
	return nil
}

// OnChange registers fn to be called with a cluster's name whenever its Health changes. fn must
// not block.
func (r *Registry) OnChange(fn func(cluster string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subscribers = append(r.subscribers, fn)
}

func (r *Registry) notify(cluster string) {
	r.mu.Lock()
	subs := slices.Clone(r.subscribers)
	r.mu.Unlock()
	for _, fn := range subs {
		fn(cluster)
	}
}

// firstProbeGrace is how long Ensure waits, beyond the probe timeout, for a new member's first
// probe and cache sync.
const firstProbeGrace = 10 * time.Second

// Ensure makes the Registry hold a member with this connection: it starts one, keeps a running
// one whose fingerprint is unchanged (taking new probe settings), or replaces one whose
// fingerprint changed. A member it starts is probed once (and, when Ready, its cache synced)
// before Ensure returns (waiting at most the probe timeout plus firstProbeGrace), so that its
// Health is a verdict rather than "probing": after an operator restart the status of a healthy
// member reads as it did before, and is not rewritten.
func (r *Registry) Ensure(ctx context.Context, name string, conn Connection) error {
	select {
	case <-r.started:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the member registry to start: %w", ctx.Err())
	}
	r.mu.Lock()
	old := r.members[name]
	if old != nil && old.conn.Fingerprint == conn.Fingerprint {
		old.setProbe(conn.Probe)
		r.mu.Unlock()
		return nil
	}
	e, err := r.newEntry(name, conn)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	r.members[name] = e
	r.mu.Unlock()
	if old != nil {
		old.stop()
	}
	e.start()
	// A cache that is slow to sync does not hold the caller for long: its Health says so.
	wait := time.NewTimer(conn.Probe.Timeout + firstProbeGrace)
	defer wait.Stop()
	select {
	case <-e.firstProbe:
	case <-wait.C:
	case <-ctx.Done():
	}
	return nil
}

// Remove stops a member's goroutines, cache and client and forgets it; it returns once they
// have all exited. Removing an unknown member does nothing.
func (r *Registry) Remove(name string) {
	r.mu.Lock()
	e := r.members[name]
	delete(r.members, name)
	r.mu.Unlock()
	if e != nil {
		e.stop()
		forgetMetrics(name)
	}
}

// Health reports what is known of a member; false when it is not in the Registry.
func (r *Registry) Health(name string) (Health, bool) {
	e := r.get(name)
	if e == nil {
		return Health{}, false
	}
	return e.health(), true
}

// Client returns a client of a Ready, synced member; its reads come from the member's cache once
// the kind's informer has synced, from the API server until then (see syncedReader).
func (r *Registry) Client(name string) (client.Client, error) {
	e := r.get(name)
	if e == nil {
		return nil, fmt.Errorf("cluster %q: %w", name, ErrClusterNotConnected)
	}
	return e.connected()
}

// DirectClient returns a client of a Ready, synced member that reads from its API server: for
// objects the cache does not hold (those kfed does not manage).
func (r *Registry) DirectClient(name string) (client.Client, error) {
	e := r.get(name)
	if e == nil {
		return nil, fmt.Errorf("cluster %q: %w", name, ErrClusterNotConnected)
	}
	if _, err := e.connected(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.direct, nil
}

// Cache returns the cache of a Ready, synced member, for adding informers.
func (r *Registry) Cache(name string) (cache.Cache, error) {
	e := r.get(name)
	if e == nil {
		return nil, fmt.Errorf("cluster %q: %w", name, ErrClusterNotConnected)
	}
	if _, err := e.connected(); err != nil {
		return nil, err
	}
	return e.cache, nil
}

// Members returns the names of the members held, sorted.
func (r *Registry) Members() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.members))
	for n := range r.members {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Goroutines is the number of goroutines the Registry's members are running now; zero when it
// holds no member.
func (r *Registry) Goroutines() int64 { return r.goroutines.Load() }

func (r *Registry) get(name string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.members[name]
}

func (r *Registry) newEntry(name string, conn Connection) (*entry, error) {
	conn.Config = rest.CopyConfig(conn.Config)
	if r.opts.WrapTransport != nil {
		conn.Config.Wrap(r.opts.WrapTransport)
	}
	probeCfg := rest.CopyConfig(conn.Config)
	probeCfg.Timeout = conn.Probe.Timeout
	dc, err := discovery.NewDiscoveryClientForConfig(probeCfg)
	if err != nil {
		return nil, fmt.Errorf("creating the probe client of cluster %q: %w", name, err)
	}
	ctx, cancel := context.WithCancel(r.base)
	return &entry{
		reg:       r,
		name:      name,
		conn:      conn,
		discovery: dc,
		ctx:       ctx,
		cancel:    cancel,
		log:       r.opts.Logger.WithValues("cluster", name),
		probe:     conn.Probe,
		prober:    newProber(),
		probeNow:  make(chan struct{}, 1),
		watchNow:  make(chan struct{}, 1),

		watchCaches: map[string]*memberWatch{},
	}, nil
}

// entry is one member: a prober goroutine and, once Ready, a cache and a client.
type entry struct {
	reg       *Registry
	name      string
	conn      Connection
	discovery *discovery.DiscoveryClient
	ctx       context.Context //nolint:containedctx // the lifetime of this member's goroutines
	cancel    context.CancelFunc
	log       logr.Logger
	wg        sync.WaitGroup
	probeNow  chan struct{}
	watchNow  chan struct{}

	// firstProbe is closed when the first probe (and cache start) is done, or the member stops.
	firstProbe chan struct{}

	mu        sync.Mutex
	probe     ProbeSettings
	prober    prober
	version   string
	nodes     NodeSummary
	synced    bool
	syncErr   string
	cache     cache.Cache
	client    client.Client
	direct    client.Client      // reads from the API server, for objects outside the cache
	stopCache context.CancelFunc // the cache also stops with ctx; this only makes it explicit

	// What the member's caches share once it is synced: one HTTP client (its connections) and
	// one REST mapper (its discovery).
	httpClient *http.Client
	mapper     meta.RESTMapper
	// watchCaches are the consumer watches (WatchFor) running in the member, by name.
	watchCaches map[string]*memberWatch
}

func (e *entry) health() Health {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Health{
		Ready: e.prober.ready, Reason: e.prober.reason, Message: e.prober.message,
		KubernetesVersion: e.version, Nodes: e.nodes, Synced: e.synced, SyncError: e.syncErr,
	}
}

func (e *entry) connected() (client.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.prober.ready || !e.synced {
		return nil, fmt.Errorf("cluster %q: %w", e.name, ErrClusterNotConnected)
	}
	return e.client, nil
}

func (e *entry) setProbe(p ProbeSettings) {
	e.mu.Lock()
	changed := e.probe != p
	e.probe = p
	e.mu.Unlock()
	if changed {
		select {
		case e.probeNow <- struct{}{}:
		default:
		}
	}
}

func (e *entry) goroutine(fn func()) {
	e.wg.Add(1)
	e.reg.goroutines.Add(1)
	go func() {
		defer e.reg.goroutines.Add(-1)
		defer e.wg.Done()
		fn()
	}()
}

func (e *entry) start() {
	e.firstProbe = make(chan struct{})
	e.goroutine(e.probeLoop)
	e.goroutine(e.watchLoop)
}

// watchLoop starts the watches the member does not run yet whenever it is nudged (after every
// probe, and when a kind or consumer is added).
func (e *entry) watchLoop() {
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-e.watchNow:
			e.ensureConsumerWatches()
		}
	}
}

// firstProbeDone closes firstProbe once; only the probe loop calls it.
func (e *entry) firstProbeDone() {
	select {
	case <-e.firstProbe:
	default:
		close(e.firstProbe)
	}
}

func (e *entry) stop() {
	e.mu.Lock()
	if e.stopCache != nil {
		e.stopCache()
	}
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

// update applies fn to the entry under its lock and notifies subscribers when Health changed.
func (e *entry) update(fn func()) {
	before := e.health()
	e.mu.Lock()
	fn()
	e.mu.Unlock()
	if !before.equal(e.health()) {
		e.reg.notify(e.name)
	}
}

func (e *entry) probeLoop() {
	defer e.firstProbeDone()
	for {
		e.probeOnce()
		// Watches start in their own goroutine: starting one asks the member's API server (for
		// the kind's mapping), and a member that hangs must never hold up its own probes.
		e.nudgeWatches()
		e.firstProbeDone()
		if !e.waitForNextProbe() {
			return
		}
	}
}

// waitForNextProbe sleeps one period; false when the member is stopping.
func (e *entry) waitForNextProbe() bool {
	e.mu.Lock()
	timer := time.NewTimer(e.probe.Period)
	e.mu.Unlock()
	defer timer.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return false
		case <-e.probeNow:
			return true
		case <-timer.C:
			return true
		}
	}
}

func (e *entry) probeOnce() {
	e.mu.Lock()
	settings := e.probe
	e.mu.Unlock()

	ctx, cancel := context.WithTimeout(e.ctx, settings.Timeout)
	start := time.Now()
	err := e.discovery.RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	elapsed := time.Since(start)
	cancel()
	if e.ctx.Err() != nil {
		return // stopping: this result says nothing of the member
	}
	observeProbe(e.name, elapsed, err)

	var reason, message string
	if err != nil {
		reason, message = classify(err, e.conn.Config.Host, e.conn.Credentials, settings.Timeout)
	}
	var becameReady bool
	e.update(func() {
		flipped := e.prober.observe(settings, err, reason, message)
		becameReady = flipped && e.prober.ready
		if flipped && !e.prober.ready {
			e.log.Info("Member is not ready", "reason", reason, "message", message)
		}
	})
	h := e.health()
	setReadyMetric(e.name, h.Ready)
	if becameReady {
		e.log.Info("Member is ready")
		if h.Synced {
			// Back after being NotReady (the first Ready has no cache yet).
			e.restartConsumerWatches()
		}
		if v, err := e.discovery.ServerVersion(); err != nil {
			e.log.Error(err, "Reading the member's version")
		} else {
			e.update(func() { e.version = v.GitVersion })
		}
	}
	if h.Ready && !h.Synced {
		// The first time the member is Ready, and again after a failed start: a member whose
		// cache cannot sync stays Ready by its probes but not connected (Health.Synced false).
		err := e.startCache()
		if err != nil {
			e.log.Error(err, "Starting the member's cache; retrying after the next probe")
		}
		e.update(func() {
			e.syncErr = ""
			if err != nil {
				e.syncErr = err.Error()
			}
		})
	}
}

// cacheConfig is the config of the member's caches: the Registry's rate limits.
func (e *entry) cacheConfig() *rest.Config {
	cfg := rest.CopyConfig(e.conn.Config)
	cfg.QPS, cfg.Burst = e.reg.opts.QPS, e.reg.opts.Burst
	return cfg
}

func (e *entry) startCache() error {
	cfg := e.cacheConfig()
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return fmt.Errorf("creating the HTTP client of cluster %q: %w", e.name, err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return fmt.Errorf("creating the REST mapper of cluster %q: %w", e.name, err)
	}
	// This cache holds what Client reads: objects kfed manages (informers start on a first read)
	// and every node (for the cluster's capacity and topology). Nobody reads their managedFields.
	c, err := cache.New(cfg, cache.Options{
		HTTPClient:           httpClient,
		Mapper:               mapper,
		Scheme:               e.reg.opts.Scheme,
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{v1alpha1.LabelManaged: "true"}),
		DefaultTransform:     trimManagedFields(""),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Node{}: {Label: labels.Everything()},
		},
	})
	if err != nil {
		return fmt.Errorf("creating the cache of cluster %q: %w", e.name, err)
	}
	informer, err := c.GetInformer(e.ctx, &corev1.Node{})
	if err != nil {
		return fmt.Errorf("watching the nodes of cluster %q: %w", e.name, err)
	}
	refresh := func(any) { e.refreshNodes(c) }
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: refresh, UpdateFunc: func(_, o any) { refresh(o) }, DeleteFunc: refresh,
	}); err != nil {
		return fmt.Errorf("watching the nodes of cluster %q: %w", e.name, err)
	}
	cacheCtx, stopCache := context.WithCancel(e.ctx)
	e.goroutine(func() {
		if err := c.Start(cacheCtx); err != nil {
			e.log.Error(err, "Member cache stopped")
		}
	})
	syncCtx, cancel := context.WithTimeout(e.ctx, e.reg.opts.SyncTimeout)
	defer cancel()
	if !c.WaitForCacheSync(syncCtx) {
		stopCache()
		if e.ctx.Err() != nil {
			return nil // the member is being removed
		}
		return fmt.Errorf("kfed could not list and watch the nodes of cluster %q within %s (may its identity list nodes?)",
			e.name, e.reg.opts.SyncTimeout)
	}
	clientCfg := rest.CopyConfig(cfg)
	clientCfg.Timeout = e.reg.opts.RequestTimeout
	direct, err := client.New(clientCfg, client.Options{Scheme: e.reg.opts.Scheme})
	if err != nil {
		stopCache()
		return fmt.Errorf("creating the client of cluster %q: %w", e.name, err)
	}
	reader := syncedReader{ctx: e.ctx, cache: c, direct: direct, scheme: e.reg.opts.Scheme}
	cl, err := client.New(clientCfg, client.Options{Scheme: e.reg.opts.Scheme, Cache: &client.CacheOptions{Reader: reader, Unstructured: true}})
	if err != nil {
		stopCache()
		return fmt.Errorf("creating the client of cluster %q: %w", e.name, err)
	}
	e.update(func() {
		e.cache, e.client, e.direct, e.synced, e.stopCache = c, cl, direct, true, stopCache
		e.httpClient, e.mapper = httpClient, mapper
	})
	e.refreshNodes(c)
	return nil
}

func (e *entry) refreshNodes(c cache.Cache) {
	var nodes corev1.NodeList
	if err := c.List(e.ctx, &nodes); err != nil {
		if e.ctx.Err() == nil {
			e.log.Error(err, "Listing the member's nodes from its cache")
		}
		return
	}
	summary := summarizeNodes(nodes.Items)
	e.update(func() { e.nodes = summary })
}
