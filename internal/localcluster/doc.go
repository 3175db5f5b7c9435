// Package localcluster starts real Kubernetes clusters on loopback, from the binaries `make
// tools` builds (nothing is downloaded): a host and members, each an envtest control plane (etcd
// and kube-apiserver with their certificates), and an admin kubeconfig per cluster. A "full"
// member adds kube-controller-manager, kube-scheduler and kwok with fake nodes, so that
// Deployments make Pods that get scheduled and become Ready. A member's API server can be
// stopped and started again on the same address with the same data: a real cluster failure and
// recovery. StartManager runs the kfed manager in this process against a host.
//
// `kfed dev` runs its local federation with it, and test/framework wraps it for tests. The
// folder of the tools is always passed in (ClusterOptions.ToolsDir, Options.ToolsDir), never
// derived from where the source was.
//
// Every process it starts is stopped by Stop. Processes of its own (controller manager,
// scheduler, kwok) also die with this process (SIGKILL on parent death); envtest's etcd and API
// servers keep their data under $TMPDIR or the cluster's folder.
package localcluster
