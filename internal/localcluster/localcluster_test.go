package localcluster_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kfed-io/kfed/internal/localcluster"
)

// The tools folder is always given: none, or one without the binaries, is a clear error
// before anything starts.
func TestStartNeedsTheToolsFolder(t *testing.T) {
	empty := t.TempDir()
	// etcd alone: kube-apiserver is still missing.
	if err := os.WriteFile(filepath.Join(empty, "etcd"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tools, want string
	}{
		{"no folder", "", "no tools folder given"},
		{"missing binaries", empty, "kube-apiserver not found in " + empty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := localcluster.StartCluster(t.Context(), localcluster.ClusterOptions{
				Topology: localcluster.Members[0], ToolsDir: tc.tools, Dir: t.TempDir(),
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("StartCluster with tools %q: %v, want an error containing %q", tc.tools, err, tc.want)
			}
			_, err = localcluster.Start(t.Context(), localcluster.Options{Members: 1, ToolsDir: tc.tools})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Start with tools %q: %v, want an error containing %q", tc.tools, err, tc.want)
			}
		})
	}
	if _, err := localcluster.Start(t.Context(), localcluster.Options{Members: len(localcluster.Members) + 1, ToolsDir: empty}); err == nil {
		t.Errorf("Start with more members than there are names: no error")
	}
}
