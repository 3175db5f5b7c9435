package dev_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/kfed-io/kfed/internal/cli/dev"
	"github.com/kfed-io/kfed/test/framework"
)

// buildKfed builds the kfed binary: `dev up` starts it again in the background.
func buildKfed(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "kfed")
	cmd := exec.Command("go", "build", "-o", exe, "./cmd/kfed")
	cmd.Dir = framework.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building kfed: %v\n%s", err, out)
	}
	return exe
}

func run(t *testing.T, exe string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestUpAndDown starts a local federation of one member with the kfed binary, checks it from a
// second process through the kubeconfig it wrote, stops it, and checks no process is left.
func TestUpAndDown(t *testing.T) {
	if err := dev.CheckTools(framework.ToolsDir()); err != nil {
		t.Fatal(err)
	}
	exe := buildKfed(t)
	dir := filepath.Join(t.TempDir(), "fed")
	down := func() {
		if out, err := run(t, exe, "dev", "down", "--dir", dir); err != nil {
			t.Errorf("kfed dev down: %v\n%s", err, out)
		}
	}
	start := time.Now()
	port, err := framework.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	lbPort, err := framework.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(t, exe, "dev", "up", "--clusters", "1", "--dir", dir, "--tools-dir", framework.ToolsDir(), "--wait", "4m", "--dns-listen", listen,
		"--lb-port", strconv.Itoa(lbPort))
	t.Logf("kfed dev up --clusters 1 took %s:\n%s", time.Since(start).Round(100*time.Millisecond), out)
	if err != nil {
		down()
		t.Fatalf("kfed dev up: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			down()
		}
	}()
	// The summary says what is simulated, and where.
	for _, want := range []string{"Load balancers (SIMULATION", fmt.Sprintf("HTTP on port %d", lbPort),
		"geo table (SIMULATED client networks", "us-east1 10.1.0.0/16,2001:db8:1::/48"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in the output of dev up", want)
		}
	}
	if len(dev.ProcessesUnder(dir)) < 6 {
		t.Errorf("want etcd, API server, controller manager, scheduler and kwok running under %s, got %v", dir, dev.ProcessesUnder(dir))
	}
	out, err = run(t, exe, "dev", "up", "--clusters", "1", "--dir", dir, "--tools-dir", framework.ToolsDir())
	if err == nil || !strings.Contains(out, "already runs in") {
		t.Errorf("want a second up refused, got %v:\n%s", err, out)
	}
	kc := filepath.Join(dir, dev.KubeconfigFile)
	out, err = run(t, exe, "--kubeconfig", kc, "status")
	if err != nil {
		t.Fatalf("kfed status: %v\n%s", err, out)
	}
	if !strings.Contains(out, "cluster-us-east1-b   True    us-east1   us-east1-b") {
		t.Errorf("want the member Ready with its region and zone, got:\n%s", out)
	}

	// The FederatedDomain example.com is served by kfed's builtin server.
	if rcode, soa, err := framework.Answer(listen, dev.DNSDomain, dns.TypeSOA); err != nil || rcode != "NOERROR" {
		t.Errorf("SOA of %s at %s: %s %v %v", dev.DNSDomain, listen, rcode, soa, err)
	}
	// A member's API server killed and started again, through the running federation.
	for _, action := range []string{dev.ActionStop, dev.ActionStart} {
		if out, err := run(t, exe, "dev", "apiserver", action, "cluster-us-east1-b", "--dir", dir); err != nil {
			t.Errorf("kfed dev apiserver %s: %v\n%s", action, err, out)
		}
	}
	if out, err := run(t, exe, "dev", "apiserver", "stop", "no-such-member", "--dir", dir); err == nil || !strings.Contains(out, "is not a member") {
		t.Errorf("want an unknown member refused, got %v:\n%s", err, out)
	}

	stopped = true
	out, err = run(t, exe, "dev", "down", "--dir", dir)
	if err != nil {
		t.Fatalf("kfed dev down: %v\n%s", err, out)
	}
	if left := dev.ProcessesUnder(dir); len(left) > 0 {
		t.Fatalf("processes left after down: %v", left)
	}
	out, err = run(t, exe, "dev", "down", "--dir", dir)
	if err == nil || !strings.Contains(out, "no local federation runs in") {
		t.Errorf("want a second down to say nothing runs, got %v:\n%s", err, out)
	}
}

func TestUpWithoutToolsSaysHowToBuildThem(t *testing.T) {
	err := dev.Up(t.Context(), dev.Options{Dir: t.TempDir(), Clusters: 3, ToolsDir: t.TempDir()}, "kfed", time.Second, os.Stdout)
	if err == nil || !strings.Contains(err.Error(), "make tools") || !strings.Contains(err.Error(), "kube-apiserver") {
		t.Fatalf("want an error naming the missing binaries and make tools, got %v", err)
	}
}

func TestUpRefusesAClusterCountOutOfRange(t *testing.T) {
	err := dev.Up(t.Context(), dev.Options{Dir: t.TempDir(), Clusters: 6, ToolsDir: t.TempDir()}, "kfed", time.Second, os.Stdout)
	if err == nil || !strings.Contains(err.Error(), "--clusters must be from 1 to 5") {
		t.Fatalf("got %v", err)
	}
}

func TestUpRefusesALoadBalancerPortOutOfRange(t *testing.T) {
	err := dev.Up(t.Context(), dev.Options{Dir: t.TempDir(), Clusters: 3, ToolsDir: t.TempDir(), LBPort: 70000}, "kfed", time.Second, os.Stdout)
	if err == nil || !strings.Contains(err.Error(), "--lb-port must be from 1 to 65535, not 70000") {
		t.Fatalf("got %v", err)
	}
}
