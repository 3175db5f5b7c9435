package member

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// WatchSpec is one consumer's watch of a kind in every member: its own selector, its own
// handler, its own cache. Two consumers' watches never share events, even of the same kind.
type WatchSpec struct {
	// Name identifies the watch among the Registry's (required, unique); it names the watch in
	// logs and errors.
	Name string
	// GVK is the kind watched (required).
	GVK schema.GroupVersionKind
	// Selector chooses the objects watched and cached; nil means every object of the kind.
	Selector labels.Selector
	// Handler hears of every add, update and delete of a selected object in every member; nil
	// for a watch that is only read through Reader. It must not block.
	Handler ObjectHandler
	// MetadataOnly caches and hands over *metav1.PartialObjectMetadata (no spec, no status): for
	// a consumer that reads only names, labels and annotations.
	MetadataOnly bool
	// Unstructured caches and hands over *unstructured.Unstructured even where the Registry's
	// scheme knows the kind: for a consumer that handles kinds generically. Not with MetadataOnly.
	Unstructured bool
	// KeepManagedFieldsOf names the field manager whose managedFields entries the cache keeps;
	// every other entry is dropped (all of them when empty).
	KeepManagedFieldsOf string
}

// Watch is a WatchSpec the Registry runs in every member, now and to come.
type Watch struct {
	reg  *Registry
	spec WatchSpec
}

// ErrWatchNotSynced is returned by a Watch's reader for a member where the watch has not started
// or not synced yet (the member joined a moment ago, or does not serve the kind).
var ErrWatchNotSynced = errors.New("member watch not synced")

// WatchFor starts spec's watch in every member, now and to come, and returns it. It returns at
// once; the watch starts in each member's own goroutines, and a member that does not serve the
// kind retries on later probes. Invalid specs and taken names are errors.
func (r *Registry) WatchFor(spec WatchSpec) (*Watch, error) {
	if err := validateWatchSpec(spec); err != nil {
		return nil, err
	}
	if spec.Selector == nil {
		spec.Selector = labels.Everything()
	}
	w := &Watch{reg: r, spec: spec}
	r.mu.Lock()
	if _, taken := r.watches[spec.Name]; taken {
		r.mu.Unlock()
		return nil, fmt.Errorf("member watch %q: the name is taken", spec.Name)
	}
	r.watches[spec.Name] = w
	r.mu.Unlock()
	r.nudgeMembers()
	return w, nil
}

func validateWatchSpec(spec WatchSpec) error {
	var problems []string
	if strings.TrimSpace(spec.Name) == "" {
		problems = append(problems, "no name")
	}
	if spec.GVK.Kind == "" || spec.GVK.Version == "" {
		problems = append(problems, fmt.Sprintf("kind %q is not a whole group/version/kind", spec.GVK.String()))
	}
	if spec.MetadataOnly && spec.Unstructured {
		problems = append(problems, "both metadata only and unstructured")
	}
	if strings.HasSuffix(spec.GVK.Kind, "List") {
		problems = append(problems, fmt.Sprintf("kind %q is a list; watch its items' kind", spec.GVK.Kind))
	}
	if len(problems) > 0 {
		return fmt.Errorf("member watch %q: %s", spec.Name, strings.Join(problems, "; "))
	}
	return nil
}

// Name is the watch's name.
func (w *Watch) Name() string { return w.spec.Name }

// Reader returns a reader of the watch's cache in a member: it reads only the watch's kind,
// in the watch's form (*metav1.PartialObjectMetadata when MetadataOnly, the typed object when
// the Registry's scheme knows the kind and not Unstructured, *unstructured.Unstructured
// otherwise), and sees only
// the objects the selector chooses. It fails fast with ErrClusterNotConnected for a member that
// is unknown or not connected, and ErrWatchNotSynced while the watch has not synced there.
func (w *Watch) Reader(cluster string) (client.Reader, error) {
	e := w.reg.get(cluster)
	if e == nil {
		return nil, fmt.Errorf("cluster %q: %w", cluster, ErrClusterNotConnected)
	}
	if _, err := e.connected(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	mw := e.watchCaches[w.spec.Name]
	e.mu.Unlock()
	if mw == nil || !mw.informer.HasSynced() {
		return nil, fmt.Errorf("watch %q in cluster %q: %w", w.spec.Name, cluster, ErrWatchNotSynced)
	}
	return watchReader{w: w, cluster: cluster, cache: mw.cache}, nil
}

// WaitReader is Reader, waiting up to wait for the watch to start and sync in the member (a
// kind new to the member takes a moment to look up and list). It still fails with
// ErrWatchNotSynced after wait: the kind is not served there, or the member is slow to list it.
func (w *Watch) WaitReader(ctx context.Context, cluster string, wait time.Duration) (client.Reader, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		r, err := w.Reader(cluster)
		if err == nil || !errors.Is(err, ErrWatchNotSynced) {
			return r, err
		}
		e := w.reg.get(cluster)
		if e == nil {
			return nil, fmt.Errorf("cluster %q: %w", cluster, ErrClusterNotConnected)
		}
		e.mu.Lock()
		mw := e.watchCaches[w.spec.Name]
		e.mu.Unlock()
		if mw != nil {
			// Running: wait for its sync (a list of the kind).
			if !toolscache.WaitForCacheSync(ctx.Done(), mw.informer.HasSynced) {
				return nil, err
			}
			continue
		}
		// Not started yet: the member's watch loop starts it when nudged.
		e.nudgeWatches()
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(watchStartPoll):
		}
	}
}

// watchStartPoll is how often WaitReader looks whether a member has started a watch.
const watchStartPoll = 50 * time.Millisecond

// newObject returns an empty object of the watch's kind in the form its cache holds.
func (w *Watch) newObject() client.Object {
	gvk := w.spec.GVK
	if w.spec.MetadataOnly {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(gvk)
		return m
	}
	if !w.spec.Unstructured {
		if obj, err := w.reg.opts.Scheme.New(gvk); err == nil {
			if o, ok := obj.(client.Object); ok {
				o.GetObjectKind().SetGroupVersionKind(gvk)
				return o
			}
		}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u
}

// memberWatch is a Watch running in one member: a cache of its own with one informer.
type memberWatch struct {
	cache    cache.Cache
	informer cache.Informer
	stop     context.CancelFunc
}

// restartConsumerWatches stops every consumer watch of a member that came back after being
// NotReady and starts them afresh: a new list at once, where the old watches would wait out
// client-go's reflector backoff (tens of seconds seen) before they heard of new objects. Until
// the new ones sync, their readers say ErrWatchNotSynced.
func (e *entry) restartConsumerWatches() {
	e.mu.Lock()
	old := e.watchCaches
	e.watchCaches = map[string]*memberWatch{}
	e.mu.Unlock()
	for _, mw := range old {
		mw.stop()
	}
	e.nudgeWatches()
}

func (r *Registry) watchList() []*Watch {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Watch, 0, len(r.watches))
	for _, w := range r.watches {
		out = append(out, w)
	}
	return out
}

// nudgeWatches asks the member's watch loop to start the watches it does not run yet.
func (e *entry) nudgeWatches() {
	select {
	case e.watchNow <- struct{}{}:
	default:
	}
}

// ensureConsumerWatches starts, in a synced member, every consumer watch it does not run yet.
// It does not wait for them to sync: Reader says when they have not.
func (e *entry) ensureConsumerWatches() {
	e.mu.Lock()
	synced := e.synced
	e.mu.Unlock()
	if !synced {
		return
	}
	for _, w := range e.reg.watchList() {
		e.mu.Lock()
		running := e.watchCaches[w.spec.Name] != nil
		e.mu.Unlock()
		if running {
			continue
		}
		mw, err := e.startWatch(w)
		if err != nil {
			// Typically a kind the member does not serve (its CRD is missing); retried later.
			e.log.V(1).Info("Not running a member watch yet", "watch", w.spec.Name, "kind", w.spec.GVK.String(), "reason", err.Error())
			continue
		}
		e.mu.Lock()
		e.watchCaches[w.spec.Name] = mw
		e.mu.Unlock()
	}
}

func (e *entry) startWatch(w *Watch) (*memberWatch, error) {
	e.mu.Lock()
	httpClient, mapper := e.httpClient, e.mapper
	e.mu.Unlock()
	c, err := cache.New(e.cacheConfig(), cache.Options{
		HTTPClient:                  httpClient,
		Mapper:                      mapper,
		Scheme:                      e.reg.opts.Scheme,
		DefaultLabelSelector:        w.spec.Selector,
		DefaultTransform:            trimManagedFields(w.spec.KeepManagedFieldsOf),
		ReaderFailOnMissingInformer: true,
	})
	if err != nil {
		return nil, fmt.Errorf("creating the cache of watch %q in cluster %q: %w", w.spec.Name, e.name, err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	informer, err := c.GetInformer(ctx, w.newObject(), cache.BlockUntilSynced(false))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watching %s in cluster %q for %q: %w", w.spec.GVK, e.name, w.spec.Name, err)
	}
	if w.spec.Handler != nil {
		if _, err := informer.AddEventHandler(forwardTo(e.name, w.spec.Handler)); err != nil {
			cancel()
			return nil, fmt.Errorf("watching %s in cluster %q for %q: %w", w.spec.GVK, e.name, w.spec.Name, err)
		}
	}
	e.goroutine(func() {
		defer cancel()
		if err := c.Start(ctx); err != nil {
			e.log.Error(err, "Member watch stopped", "watch", w.spec.Name)
		}
	})
	return &memberWatch{cache: c, informer: informer, stop: cancel}, nil
}

// forwardTo turns informer events into calls of an ObjectHandler; a delete whose final state is
// unknown hands over the last state the cache held.
func forwardTo(cluster string, fn ObjectHandler) toolscache.ResourceEventHandler {
	forward := func(obj any) {
		if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if o, ok := obj.(client.Object); ok {
			fn(cluster, o)
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    forward,
		UpdateFunc: func(_, obj any) { forward(obj) },
		DeleteFunc: forward,
	}
}

// watchReader reads one Watch's cache in one member, refusing other kinds and forms with a
// message that says what to read instead.
type watchReader struct {
	w       *Watch
	cluster string
	cache   cache.Cache
}

var _ client.Reader = watchReader{}

func (r watchReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := r.check(obj, false); err != nil {
		return err
	}
	if err := r.cache.Get(ctx, key, obj, opts...); err != nil {
		return fmt.Errorf("reading %s %s from watch %q of cluster %q: %w", r.w.spec.GVK.Kind, key, r.w.spec.Name, r.cluster, err)
	}
	return nil
}

func (r watchReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if err := r.check(list, true); err != nil {
		return err
	}
	if err := r.cache.List(ctx, list, opts...); err != nil {
		return fmt.Errorf("listing %s from watch %q of cluster %q: %w", r.w.spec.GVK.Kind, r.w.spec.Name, r.cluster, err)
	}
	return nil
}

// check refuses an object (or list) that is not of the watch's kind in the watch's form.
func (r watchReader) check(obj runtime.Object, isList bool) error {
	want := r.w.newObject()
	gvk, err := apiutil.GVKForObject(obj, r.w.reg.opts.Scheme)
	if err != nil {
		return fmt.Errorf("reading from watch %q: %w", r.w.spec.Name, err)
	}
	if isList {
		gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	}
	if gvk != r.w.spec.GVK || formOf(obj) != formOf(want) {
		return fmt.Errorf("watch %q of cluster %q holds %s as %s, not %s as %s", r.w.spec.Name, r.cluster,
			r.w.spec.GVK, formOf(want), gvk, formOf(obj))
	}
	return nil
}

// formOf names how an object or list is held: metadata only, unstructured or typed.
func formOf(obj runtime.Object) string {
	switch obj.(type) {
	case *metav1.PartialObjectMetadata, *metav1.PartialObjectMetadataList:
		return "metadata only"
	case *unstructured.Unstructured, *unstructured.UnstructuredList:
		return "unstructured"
	default:
		return "typed"
	}
}
