package member

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// syncedReader reads a kind from the member's cache when the cache's informer of that kind has
// synced, waiting at most SyncWait for it, and from the API server otherwise. A cache read of a
// kind whose informer cannot sync (one kfed's identity may not list, or that the member does not
// serve) would wait for a sync that never comes; read directly, it fails with the reason
// (Forbidden, no match). A kind that can be listed syncs within the wait, so reads keep the
// cache's view (managed objects only).
type syncedReader struct {
	ctx    context.Context //nolint:containedctx // the member's: its informers live as long as it does
	cache  cache.Cache
	direct client.Reader
	scheme *runtime.Scheme
}

var _ client.Reader = syncedReader{}

func (r syncedReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if r.synced(ctx, obj) {
		return r.cache.Get(ctx, key, obj, opts...)
	}
	return r.direct.Get(ctx, key, obj, opts...)
}

func (r syncedReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if item, err := r.itemOf(list); err == nil && r.synced(ctx, item) {
		return r.cache.List(ctx, list, opts...)
	}
	return r.direct.List(ctx, list, opts...)
}

// SyncWait bounds how long a read (through Client) waits for the informer of its kind to sync.
const SyncWait = 3 * time.Second

// synced tells whether the cache's informer of obj's kind has synced, starting the informer when
// there is none yet and waiting up to SyncWait for it.
func (r syncedReader) synced(ctx context.Context, obj client.Object) bool {
	informer, err := r.cache.GetInformer(r.ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return false
	}
	if informer.HasSynced() {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, SyncWait)
	defer cancel()
	return toolscache.WaitForCacheSync(ctx.Done(), informer.HasSynced)
}

// itemOf returns an empty object of the kind a list holds, typed or unstructured like the list.
func (r syncedReader) itemOf(list client.ObjectList) (client.Object, error) {
	gvk, err := apiutil.GVKForObject(list, r.scheme)
	if err != nil {
		return nil, fmt.Errorf("finding the kind of a list: %w", err)
	}
	gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	if _, ok := list.(*unstructured.UnstructuredList); ok {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		return u, nil
	}
	obj, err := r.scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("making an object of kind %s: %w", gvk, err)
	}
	o, ok := obj.(client.Object)
	if !ok {
		return nil, fmt.Errorf("kind %s is not an object", gvk)
	}
	return o, nil
}
