// Package framework starts real clusters on loopback for kfed's tests: a host and members, each
// an envtest control plane (etcd + kube-apiserver built by `make tools`). A "full" member adds
// kube-controller-manager, kube-scheduler and kwok with fake nodes, so that Deployments make
// Pods that get scheduled and become Ready. A member's API server can be stopped and started
// again on the same address with the same data, which is a real cluster failure and recovery.
//
// Every process it starts is stopped by Stop. Processes of its own (controller manager,
// scheduler, kwok) also die with the test binary (SIGKILL on parent death); envtest's etcd and
// API servers live under the test's temporary directory, which `make test` sweeps after a run
// that was killed.
package framework
