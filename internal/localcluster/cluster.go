package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kfed-io/kfed/controllers"
)

// Topology is where a member claims to be, through the labels of its nodes.
type Topology struct {
	Name, Region, Zone string
}

// Members are the member clusters of the Kubernetes 1.5 federation walkthrough, then two more.
var Members = []Topology{
	{Name: "cluster-us-east1-b", Region: "us-east1", Zone: "us-east1-b"},
	{Name: "cluster-europe-west1-b", Region: "europe-west1", Zone: "europe-west1-b"},
	{Name: "cluster-asia-east1-a", Region: "asia-east1", Zone: "asia-east1-a"},
	{Name: "cluster-us-central1-c", Region: "us-central1", Zone: "us-central1-c"},
	{Name: "cluster-australia-southeast1-a", Region: "australia-southeast1", Zone: "australia-southeast1-a"},
}

// ClusterOptions configure one cluster.
type ClusterOptions struct {
	Topology
	// Full adds kube-controller-manager, kube-scheduler and kwok.
	Full bool
	// Nodes to create (default 2 for a member, 0 for the host); kwok keeps them Ready in a full
	// member, and they are created Ready otherwise.
	Nodes int
	// CRDDirs are installed when the API server is up.
	CRDDirs []string
	// Dir holds the cluster's files (kubeconfig, logs, certificates); a new temporary one if empty.
	Dir string
	// ToolsDir holds the binaries `make tools` builds: etcd, kube-apiserver and, for a full
	// cluster, kube-controller-manager, kube-scheduler, kwok and kwok-stages.yaml (required).
	ToolsDir string
}

// Cluster is one running control plane.
type Cluster struct {
	Topology
	// Config reaches the API server as system:masters.
	Config *rest.Config
	// Client is a client of Config with kfed's scheme.
	Client client.Client
	// Kubeconfig is an admin kubeconfig (system:masters) of the cluster.
	Kubeconfig []byte
	// Dir holds the cluster's files.
	Dir string

	tools  string
	env    *envtest.Environment
	mu     sync.Mutex
	procs  []*exec.Cmd
	ownDir bool
}

// Tool returns the path of a binary in the tools folder.
func Tool(dir, name string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("no tools folder given to find %s in (the folder `make tools` builds into)", name)
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found in %s: run `make tools` first (it builds the pinned binaries into bin/)", name, dir)
	}
	return p, nil
}

// StartCluster starts a control plane and, for a full cluster, its controllers and kwok.
func StartCluster(ctx context.Context, o ClusterOptions) (_ *Cluster, retErr error) {
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if _, err := Tool(o.ToolsDir, name); err != nil {
			return nil, err
		}
	}
	c := &Cluster{Topology: o.Topology, Dir: o.Dir, tools: o.ToolsDir}
	if c.Dir == "" {
		dir, err := os.MkdirTemp("", "kfed-"+o.Name+"-")
		if err != nil {
			return nil, fmt.Errorf("creating the folder of cluster %s: %w", o.Name, err)
		}
		c.Dir, c.ownDir = dir, true
	}
	defer func() {
		if retErr != nil {
			_ = c.Stop()
		}
	}()
	certDir := filepath.Join(c.Dir, "certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", certDir, err)
	}
	c.env = &envtest.Environment{
		BinaryAssetsDirectory: o.ToolsDir,
		CRDDirectoryPaths:     o.CRDDirs,
		ErrorIfCRDPathMissing: len(o.CRDDirs) > 0,
	}
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		// envtest's 20 s is short when several API servers start at once on two cores (go test
		// runs two packages at a time, each starting a host and members).
		c.env.ControlPlaneStartTimeout = 2 * time.Minute
	}
	// A fixed certificate folder lets the API server restart with the same certificates.
	c.env.ControlPlane.APIServer = &envtest.APIServer{CertDir: certDir}
	// Close open watches at shutdown instead of waiting for them, so that a stop is prompt.
	c.env.ControlPlane.APIServer.Configure().Set("shutdown-watch-termination-grace-period", "1s")
	if _, err := c.env.Start(); err != nil {
		c.env = nil
		return nil, fmt.Errorf("starting the control plane of %s: %w", o.Name, err)
	}
	admin, err := c.env.AddUser(envtest.User{Name: "kfed-test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("adding an admin user to %s: %w", o.Name, err)
	}
	c.Config = admin.Config()
	if c.Kubeconfig, err = admin.KubeConfig(); err != nil {
		return nil, fmt.Errorf("writing the kubeconfig of %s: %w", o.Name, err)
	}
	scheme, err := controllers.NewScheme()
	if err != nil {
		return nil, err
	}
	if c.Client, err = client.New(c.Config, client.Options{Scheme: scheme}); err != nil {
		return nil, fmt.Errorf("creating a client of %s: %w", o.Name, err)
	}
	if o.Full {
		if err := c.startControllers(); err != nil {
			return nil, err
		}
	}
	if err := c.CreateNodes(ctx, o.Nodes, !o.Full); err != nil {
		return nil, err
	}
	return c, nil
}

// startControllers runs kube-controller-manager, kube-scheduler and kwok against the cluster.
func (c *Cluster) startControllers() error {
	kubeconfig := filepath.Join(c.Dir, "admin.kubeconfig")
	if err := os.WriteFile(kubeconfig, c.Kubeconfig, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", kubeconfig, err)
	}
	stages, err := Tool(c.tools, "kwok-stages.yaml")
	if err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		args []string
	}{
		{"kube-controller-manager", []string{"--kubeconfig=" + kubeconfig, "--controllers=*,-serviceaccount-token",
			"--leader-elect=false", "--secure-port=0", "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
			"--kube-api-qps=500", "--kube-api-burst=1000"}},
		{"kube-scheduler", []string{"--kubeconfig=" + kubeconfig, "--leader-elect=false", "--secure-port=0",
			"--kube-api-qps=500", "--kube-api-burst=1000"}},
		// kwok renews a Lease per node (the node-heartbeat-with-lease stage writes node status
		// only every 10 min): without leases, nodes go NotReady after the controller manager's
		// 50 s grace period and their pods lose Ready.
		{"kwok", []string{"--kubeconfig=" + kubeconfig, "--manage-all-nodes=true", "--server-address=127.0.0.1:0",
			"--node-lease-duration-seconds=40", "--config=" + stages}},
	} {
		if err := c.startProcess(p.name, p.args...); err != nil {
			return err
		}
	}
	return nil
}

// startProcess runs a tool with its output in <Dir>/<name>.log; it dies with the test binary.
func (c *Cluster) startProcess(name string, args ...string) error {
	path, err := Tool(c.tools, name)
	if err != nil {
		return err
	}
	logPath := filepath.Join(c.Dir, name+".log")
	logFile, err := os.Create(logPath) //nolint:gosec // in the cluster's own folder
	if err != nil {
		return fmt.Errorf("creating %s: %w", logPath, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("starting %s for %s: %w", name, c.Name, err)
	}
	_ = logFile.Close() // the child holds its own descriptor
	c.mu.Lock()
	c.procs = append(c.procs, cmd)
	c.mu.Unlock()
	return nil
}

// CreateNodes makes sure the cluster has nodes 0 to n-1 (it creates those missing), labelled with the cluster's region and zone, each allocating
// 32 cpu, 256Gi memory and 500 pods. ready marks them Ready at once, as a kubelet would; without
// it kwok does that.
func (c *Cluster) CreateNodes(ctx context.Context, n int, ready bool) error {
	for i := range n {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-node-%d", c.Name, i),
				Labels: map[string]string{
					corev1.LabelHostname:       fmt.Sprintf("%s-node-%d", c.Name, i),
					corev1.LabelTopologyRegion: c.Region,
					corev1.LabelTopologyZone:   c.Zone,
					"type":                     "kwok",
				},
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			},
			Status: corev1.NodeStatus{
				Allocatable: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("32"),
					corev1.ResourceMemory: resource.MustParse("256Gi"),
					corev1.ResourcePods:   resource.MustParse("500"),
				},
			},
		}
		node.Status.Capacity = node.Status.Allocatable.DeepCopy()
		if ready {
			node.Status.Conditions = []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(),
			}}
		}
		if err := c.Client.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating node %s in %s: %w", node.Name, c.Name, err)
		}
	}
	return nil
}

// StopAPIServer stops the cluster's API server (etcd keeps running): a real cluster failure.
func (c *Cluster) StopAPIServer() error {
	if err := c.env.ControlPlane.APIServer.Stop(); err != nil {
		return fmt.Errorf("stopping the API server of %s: %w", c.Name, err)
	}
	return nil
}

// StartAPIServer starts the API server again on the same address with the same data and
// certificates: a real recovery.
func (c *Cluster) StartAPIServer() error {
	if err := c.env.ControlPlane.APIServer.Start(); err != nil {
		return fmt.Errorf("restarting the API server of %s: %w", c.Name, err)
	}
	return nil
}

// Host returns the API server's URL.
func (c *Cluster) Host() string { return c.Config.Host }

// Stop stops every process of the cluster and removes its folder if the framework made it.
func (c *Cluster) Stop() error {
	var errs []error
	c.mu.Lock()
	procs := c.procs
	c.procs = nil
	c.mu.Unlock()
	for _, p := range procs {
		StopProcess(p)
	}
	if c.env != nil {
		if err := c.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping the control plane of %s: %w", c.Name, err))
		}
	}
	if c.ownDir {
		errs = append(errs, os.RemoveAll(c.Dir))
	}
	return errors.Join(errs...)
}

// StopProcess asks a process to stop, kills it after 5 s, and reaps it. Its exit status is of
// no interest: it was told to stop.
func StopProcess(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// String names the cluster.
func (c *Cluster) String() string { return strings.TrimSpace(c.Name) }
