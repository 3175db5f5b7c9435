package localcluster

import "syscall"

// childProcAttr puts a child in its own process group and kills it when the test binary (or
// `kfed dev`) dies.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
