package localcluster

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
)

// HostName is the name of a Federation's host cluster (and of its folder under Options.Dir).
const HostName = "host"

// Options configure a Federation.
type Options struct {
	// Members is how many members to start (at most len(Members)).
	Members int
	// Full members run a controller manager, a scheduler and kwok.
	Full bool
	// NodesPerMember (default 2).
	NodesPerMember int
	// HostCRDDirs are installed in the host (none when empty).
	HostCRDDirs []string
	// Dir, when set, holds each cluster's files in Dir/<cluster name>; otherwise each cluster
	// gets a temporary folder that Stop removes.
	Dir string
	// ToolsDir holds the binaries `make tools` builds (required).
	ToolsDir string
}

// Federation is a host and its members, all running.
type Federation struct {
	Host    *Cluster
	Members []*Cluster
}

// Start starts the host and the members side by side. On error, whatever started is stopped.
func Start(ctx context.Context, o Options) (*Federation, error) {
	if o.Members > len(Members) {
		return nil, fmt.Errorf("at most %d members, not %d", len(Members), o.Members)
	}
	if o.NodesPerMember == 0 {
		o.NodesPerMember = 2
	}
	dir := func(name string) string {
		if o.Dir == "" {
			return ""
		}
		return filepath.Join(o.Dir, name)
	}
	f := &Federation{Members: make([]*Cluster, o.Members)}
	errs := make([]error, o.Members+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		f.Host, errs[0] = StartCluster(ctx, ClusterOptions{Topology: Topology{Name: HostName}, CRDDirs: o.HostCRDDirs,
			Dir: dir(HostName), ToolsDir: o.ToolsDir})
	})
	for i := range o.Members {
		wg.Go(func() {
			f.Members[i], errs[i+1] = StartCluster(ctx, ClusterOptions{Topology: Members[i], Full: o.Full, Nodes: o.NodesPerMember,
				Dir: dir(Members[i].Name), ToolsDir: o.ToolsDir})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = f.Stop()
		return nil, err
	}
	return f, nil
}

// Member returns the member with that name, or nil.
func (f *Federation) Member(name string) *Cluster {
	for _, m := range f.Members {
		if m != nil && m.Name == name {
			return m
		}
	}
	return nil
}

// Stop stops every cluster.
func (f *Federation) Stop() error {
	var errs []error
	for _, c := range append([]*Cluster{f.Host}, f.Members...) {
		if c != nil {
			errs = append(errs, c.Stop())
		}
	}
	return errors.Join(errs...)
}
