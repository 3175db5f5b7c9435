package framework

import (
	"context"
	"os"
	"path/filepath"
	"runtime"

	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/internal/localcluster"
)

// The types of localcluster, under the names the tests use.
type (
	// Topology is where a member claims to be, through the labels of its nodes.
	Topology = localcluster.Topology
	// ClusterOptions configure one cluster; StartCluster fills ToolsDir when it is empty.
	ClusterOptions = localcluster.ClusterOptions
	// Cluster is one running control plane.
	Cluster = localcluster.Cluster
	// Options configure a Federation; Start fills ToolsDir and HostCRDDirs when they are empty.
	Options = localcluster.Options
	// Federation is a host and its members, all running.
	Federation = localcluster.Federation
	// Manager is the kfed manager running in the test process against a host.
	Manager = localcluster.Manager
)

// Members are the member clusters of the Kubernetes 1.5 federation walkthrough, then two more.
var Members = localcluster.Members

// HostContext is the kubeconfig context of the host in Federation.WriteKubeconfig's file.
const HostContext = localcluster.HostContext

// ToolsDir returns the folder with the binaries `make tools` builds: $KFED_TOOLS_DIR, else
// $KUBEBUILDER_ASSETS, else bin/ at the root of the repository.
func ToolsDir() string {
	for _, env := range []string{"KFED_TOOLS_DIR", "KUBEBUILDER_ASSETS"} {
		if d := os.Getenv(env); d != "" {
			return d
		}
	}
	return filepath.Join(RepoRoot(), "bin")
}

// RepoRoot returns the root of the kfed repository.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CRDDir is the folder of kfed's generated CRDs.
func CRDDir() string { return filepath.Join(RepoRoot(), "config", "crd", "bases") }

// StartCluster starts a control plane and, for a full cluster, its controllers and kwok, with
// the tools of ToolsDir() unless o names a folder.
func StartCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	if o.ToolsDir == "" {
		o.ToolsDir = ToolsDir()
	}
	return localcluster.StartCluster(ctx, o)
}

// Start starts the host (with kfed's CRDs unless o names others) and the members side by side,
// with the tools of ToolsDir() unless o names a folder.
func Start(ctx context.Context, o Options) (*Federation, error) {
	if o.ToolsDir == "" {
		o.ToolsDir = ToolsDir()
	}
	if o.HostCRDDirs == nil {
		o.HostCRDDirs = []string{CRDDir()}
	}
	return localcluster.Start(ctx, o)
}

// StartManager runs the kfed manager (every controller, no metrics or probe endpoints) in the
// test process against host, with the operator namespace o.Namespace (created when missing).
func StartManager(ctx context.Context, host *Cluster, o controllers.Options) (*Manager, error) {
	return localcluster.StartManager(ctx, host, o)
}
