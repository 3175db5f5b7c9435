package dev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kfed-io/kfed/internal/localcluster"
)

// startTimeoutEnv is how long envtest waits for each control-plane process to start.
const startTimeoutEnv = "KUBEBUILDER_CONTROLPLANE_START_TIMEOUT"

// validate checks the numbers of o.
func (o Options) validate() error {
	if o.Clusters < 1 || o.Clusters > MaxClusters {
		return fmt.Errorf("--clusters must be from 1 to %d (the walkthrough has 3 or 5), not %d", MaxClusters, o.Clusters)
	}
	if o.LBPort < 1 || o.LBPort > 65535 {
		return fmt.Errorf("--lb-port must be from 1 to 65535, not %d", o.LBPort)
	}
	return nil
}

// Up starts the federation in a background process (its own session, so that it survives the
// shell), waits until every member is joined and Ready, and prints how to use it. executable is
// the kfed binary, run as `kfed dev serve`.
func Up(ctx context.Context, o Options, executable string, wait time.Duration, out io.Writer) error {
	if o.LBPort == 0 {
		o.LBPort = DefaultLBPort
	}
	if err := o.validate(); err != nil {
		return err
	}
	if err := CheckTools(o.ToolsDir); err != nil {
		return err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("resolving --dir %s: %w", o.Dir, err)
	}
	if pid, ok := running(dir); ok {
		return fmt.Errorf("a local federation already runs in %s (pid %d): use it (export KUBECONFIG=%s) or stop it first with `kfed dev down --dir %s`",
			dir, pid, filepath.Join(dir, KubeconfigFile), dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	// What a federation stopped earlier left here cannot be reused (its etcd data is gone), and
	// envtest does not load the certificates it finds in a cluster's folder: start clean.
	old := []string{readyFile, errorFile, pidFile, KubeconfigFile, "tmp", "host", controlDir}
	for _, m := range localcluster.Members {
		old = append(old, m.Name)
	}
	for _, f := range old {
		if err := os.RemoveAll(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("removing the old %s: %w", f, err)
		}
	}
	logPath := filepath.Join(dir, logFile)
	logf, err := os.Create(logPath) //nolint:gosec // the user's own folder
	if err != nil {
		return fmt.Errorf("creating %s: %w", logPath, err)
	}
	defer func() { _ = logf.Close() }()
	start := time.Now()
	cmd := exec.Command(executable, "dev", "serve", "--dir", dir, "--clusters", strconv.Itoa(o.Clusters), //nolint:gosec // kfed itself
		"--tools-dir", o.ToolsDir, "--dns-listen", o.DNSListen, "--lb-port", strconv.Itoa(o.LBPort))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	// The control planes keep their data under dir, so that Down finds every process by it.
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", tmp, err)
	}
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	// envtest gives each API server and etcd 20 s to start by default: too short for four
	// control planes starting at once on a busy two-core laptop.
	if os.Getenv(startTimeoutEnv) == "" {
		cmd.Env = append(cmd.Env, startTimeoutEnv+"=2m")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the background process: %w", err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing the pid file: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	_, _ = fmt.Fprintf(out, "Starting a local federation of %d members in %s (background process %d, log %s)\n", o.Clusters, dir, pid, logPath)

	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(wait)
	for {
		select {
		case err := <-exited:
			// A crash skips the background process's cleanup: no cluster process may outlive it.
			reap(dir)
			msg, _ := os.ReadFile(filepath.Join(dir, errorFile)) //nolint:gosec // the user's own folder
			return fmt.Errorf("the background process exited (%v): %s; see %s", err, strings.TrimSpace(string(msg)), logPath)
		case <-deadline:
			return fmt.Errorf("the local federation is not up after %s; it keeps starting in the background: see %s, stop it with `kfed dev down --dir %s`",
				wait, logPath, dir)
		case <-ctx.Done():
			return fmt.Errorf("waiting for the local federation: %w", ctx.Err())
		case <-tick.C:
		}
		if msg, err := os.ReadFile(filepath.Join(dir, errorFile)); err == nil { //nolint:gosec // the user's own folder
			// The background process stops what it started, then exits; whatever is left goes.
			exit := errors.New("killed: still running a minute later")
			select {
			case exit = <-exited:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
			}
			reap(dir)
			return fmt.Errorf("the local federation failed to start: %s (background process: %v); see %s", strings.TrimSpace(string(msg)), exit, logPath)
		}
		ready, err := os.ReadFile(filepath.Join(dir, readyFile)) //nolint:gosec // the user's own folder
		if err != nil {
			continue
		}
		_ = cmd.Process.Release()
		_, _ = fmt.Fprintf(out, "%sUp in %s.\n\n", ready, time.Since(start).Round(100*time.Millisecond))
		kc := filepath.Join(dir, KubeconfigFile)
		_, _ = fmt.Fprintf(out, `Try it:
  export KUBECONFIG=%s
  kfed status
  kubectl --context federation get federatedclusters
  kfed federate -f app.yaml | kubectl --context federation apply -f -
Stop it (no process is left behind):
  kfed dev down --dir %s
`, kc, dir)
		return nil
	}
}
