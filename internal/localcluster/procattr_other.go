//go:build !linux

package localcluster

import "syscall"

// childProcAttr puts a child in its own process group. Only Linux can tie a child's life to
// its parent's (Pdeathsig); elsewhere (kubectl-kfed on macOS) Stop must end the children.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
