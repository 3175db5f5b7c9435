// Package framework is a thin testing wrapper over internal/localcluster: it starts real
// clusters on loopback for kfed's tests, a host and members, with the binaries `make tools`
// builds found in ToolsDir() ($KFED_TOOLS_DIR, $KUBEBUILDER_ASSETS, else bin/ of this
// repository), and kfed's CRDs installed in the host by default. The types are
// localcluster's; see there for what a cluster runs and how it stops.
//
// envtest's etcd and API servers live under the test's temporary directory, which `make test`
// sweeps after a run that was killed.
package framework
