// Package dev runs a local federation on this machine for trying kfed: a host and full members
// (controller manager, scheduler, kwok with fake nodes) on loopback, the operator running against
// the host, every member joined. It runs in the background until Down.
//
// Everything runs from the binaries `make tools` builds; nothing is downloaded. Services of type
// LoadBalancer and Ingresses get addresses from a dev-only SIMULATION of load balancers (no
// cloud assigns them here), and those addresses answer HTTP from the dev process, as the
// walkthrough's k8shserver would (loadbalancer.go). The FederatedDomain's geo table maps each
// member's region to SIMULATED client networks (geo.go).
package dev

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Files in the federation's folder.
const (
	pidFile        = "dev.pid"
	logFile        = "dev.log"
	readyFile      = "ready"
	errorFile      = "error"
	KubeconfigFile = "kubeconfig"
)

// Tools are the binaries a local federation needs, in the tools folder.
var Tools = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwok-stages.yaml"}

// MaxClusters is the number of walkthrough members there are names for.
const MaxClusters = 5

// Options of Up, Serve and Down.
type Options struct {
	// Dir holds the federation's files, processes' data and logs.
	Dir string
	// Clusters is the number of members (1 to MaxClusters; the walkthrough has 3 or 5).
	Clusters int
	// ToolsDir holds the binaries `make tools` builds.
	ToolsDir string
	// DNSListen is where the builtin DNS server of the FederatedDomain example.com answers.
	DNSListen string
	// LBPort is the port every simulated load-balancer address answers HTTP on (a SIMULATION:
	// see simulateLoadBalancers); DefaultLBPort when 0.
	LBPort int
}

// The local federation's FederatedDomain: kfed's builtin DNS server on DefaultDNSListen.
const (
	DNSDomain        = "example.com"
	DNSFederation    = "myfed"
	DefaultDNSListen = "127.0.0.1:15353"
)

// DefaultDir is ~/.kfed/dev.
func DefaultDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "kfed-dev")
	}
	return filepath.Join(home, ".kfed", "dev")
}

// DefaultToolsDir is $KFED_TOOLS_DIR, else the folder of the kfed binary (make builds both into bin/).
func DefaultToolsDir() string {
	if d := os.Getenv("KFED_TOOLS_DIR"); d != "" {
		return d
	}
	exe, err := os.Executable()
	if err != nil {
		return "bin"
	}
	return filepath.Dir(exe)
}

// CheckTools says which binaries are missing and how to build them.
func CheckTools(dir string) error {
	var missing []string
	for _, t := range Tools {
		if _, err := os.Stat(filepath.Join(dir, t)); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not found in %s: run `make tools` in the kfed repository (it builds them into bin/, a few minutes the first time), "+
			"or pass --tools-dir", strings.Join(missing, ", "), dir)
	}
	return nil
}

// running returns the pid of the federation's background process when it runs.
func running(dir string) (int, bool) {
	raw, err := os.ReadFile(filepath.Join(dir, pidFile)) //nolint:gosec // the user's own folder
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, alive(pid)
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ProcessesUnder lists "pid: command line" of the running processes whose command line names dir.
func ProcessesUnder(dir string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := strconv.Itoa(os.Getpid())
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if s := strings.ReplaceAll(string(cmdline), "\x00", " "); strings.Contains(s, dir) {
			found = append(found, e.Name()+": "+strings.TrimSpace(s))
		}
	}
	return found
}
