package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kfed-io/kfed/test/framework"
)

// benchLabel marks every object the bench creates, in the host and in the members.
const benchLabel = "perf.kfed.io/bench"

// seen records when each bench object was first seen in each member.
type seen struct {
	mu sync.Mutex
	// at is keyed by "<kind>/<namespace>/<name>", then by member.
	at map[string]map[string]time.Time
	// changed is signalled (without blocking) on every new sighting.
	changed chan struct{}
}

// watchMembers watches the bench's ConfigMaps and Deployments in every member.
func watchMembers(ctx context.Context, members []*framework.Cluster) (*seen, error) {
	s := &seen{at: map[string]map[string]time.Time{}, changed: make(chan struct{}, 1)}
	for _, m := range members {
		cs, err := kubernetes.NewForConfig(m.Config)
		if err != nil {
			return nil, fmt.Errorf("a client of member %s: %w", m.Name, err)
		}
		factory := informers.NewSharedInformerFactoryWithOptions(cs, 0,
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = benchLabel }))
		for kind, inf := range map[string]cache.SharedIndexInformer{
			kindConfigMap:  factory.Core().V1().ConfigMaps().Informer(),
			kindDeployment: factory.Apps().V1().Deployments().Informer(),
		} {
			if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
				if o, ok := obj.(metav1.Object); ok {
					s.record(kind+"/"+o.GetNamespace()+"/"+o.GetName(), m.Name, time.Now())
				}
			}}); err != nil {
				return nil, fmt.Errorf("watching %ss in member %s: %w", kind, m.Name, err)
			}
		}
		factory.Start(ctx.Done())
		for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
			if !ok {
				return nil, fmt.Errorf("watching %v in member %s: the cache did not sync", typ, m.Name)
			}
		}
	}
	return s, nil
}

func (s *seen) record(key, member string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byMember := s.at[key]
	if byMember == nil {
		byMember = map[string]time.Time{}
		s.at[key] = byMember
	}
	if _, ok := byMember[member]; !ok {
		byMember[member] = at
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
}

// waitAll waits until every key was seen in n members, and returns for each key the time it
// was last of those first seen (when it reached the last member).
func (s *seen) waitAll(ctx context.Context, keys []string, n int) (map[string]time.Time, error) {
	for {
		s.mu.Lock()
		done := make(map[string]time.Time, len(keys))
		for _, k := range keys {
			if len(s.at[k]) < n {
				continue
			}
			var last time.Time
			for _, t := range s.at[k] {
				if t.After(last) {
					last = t
				}
			}
			done[k] = last
		}
		s.mu.Unlock()
		if len(done) == len(keys) {
			return done, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d objects reached every member before giving up: %w", len(done), len(keys), ctx.Err())
		case <-s.changed:
		case <-time.After(time.Second):
		}
	}
}
