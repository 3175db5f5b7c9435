package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/controllers"
	"github.com/kfed-io/kfed/test/framework"
)

// The walkthrough's app (config/samples/k8shserver.yaml) and where the suite puts it.
const (
	app       = "k8shserver"
	appNS     = "default"
	total     = 1000
	operator  = "kfed-system"
	hostCtx   = framework.HostContext
	sampleRel = "config/samples/k8shserver.yaml"
)

// kfedBin is the kfed binary TestMain builds from this tree: `kfed dev up` starts it again in
// the background, so it has to be a real binary.
var kfedBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(logr.Discard())
	// envtest gives a control plane 20 s to start by default: short on a busy two-core machine.
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		_ = os.Setenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT", "2m")
	}
	for _, tool := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwok-stages.yaml", "kubectl"} {
		if _, err := os.Stat(filepath.Join(framework.ToolsDir(), tool)); err != nil {
			fmt.Fprintf(os.Stderr, "%s not found in %s: run `make tools` first\n", tool, framework.ToolsDir())
			return 1
		}
	}
	dir, err := os.MkdirTemp("", "kfed-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	kfedBin = filepath.Join(dir, "kfed")
	build := exec.Command("go", "build", "-o", kfedBin, "./cmd/kfed")
	build.Dir = framework.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building kfed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// TestWalkthrough starts one local federation of three full members with `kfed dev up` and
// replays the walkthrough on it, step by step; a step that fails stops the steps after it, and
// the federation is always stopped with `kfed dev down`.
func TestWalkthrough(t *testing.T) {
	w := &walkthrough{dir: filepath.Join(t.TempDir(), "fed"), started: time.Now()}
	w.kubeconfig = filepath.Join(w.dir, "kubeconfig")
	t.Cleanup(func() {
		if !w.down {
			out, err := w.kfed(t, "dev", "down", "--dir", w.dir)
			t.Logf("kfed dev down (cleanup): %v\n%s", err, out)
		}
	})
	for _, step := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"dev up starts three members", w.up},
		{"status shows three Ready clusters with regions and zones", w.status},
		{"1000 replicas spread 334/333/333 and Ready", w.spread},
		{"the seed's Ingress has a global address: each client its region's cluster, then the survivors", w.globalAddress},
		{"a dead member's replicas move to the two others", w.memberFailure},
		{"join and unjoin a fourth cluster", w.joinUnjoin},
		{"dev down leaves no process", w.devDown},
	} {
		if !t.Run(step.name, step.fn) {
			t.Fatalf("step %q failed; not running the steps after it", step.name)
		}
	}
	t.Logf("walkthrough total (dev up to dev down): %s", time.Since(w.started).Round(time.Second))
}

// walkthrough is the state the steps share.
type walkthrough struct {
	dir, kubeconfig string
	started         time.Time
	down            bool
	host            client.Client
	members         map[string]client.Client
	// victim is the member whose API server the failure step kills.
	victim string
}

// kfed runs the kfed binary and returns what it printed (stdout and stderr).
func (w *walkthrough) kfed(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runCmd(t, nil, kfedBin, args...)
}

// kubectl runs bin/kubectl against the federation's kubeconfig.
func (w *walkthrough) kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runCmd(t, nil, filepath.Join(framework.ToolsDir(), "kubectl"), append([]string{"--kubeconfig", w.kubeconfig}, args...)...)
}

func runCmd(t *testing.T, env []string, bin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, args...) // no t.Context(): the cleanup runs `kfed dev down` after it ends
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	err := cmd.Run()
	t.Logf("$ %s %s  (%s)\n%s", filepath.Base(bin), strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), out.String())
	return out.String(), err
}

func (w *walkthrough) up(t *testing.T) {
	start := time.Now()
	out, err := w.kfed(t, "dev", "up", "--clusters", "3", "--dir", w.dir, "--tools-dir", framework.ToolsDir(), "--wait", "5m")
	if err != nil {
		t.Fatalf("kfed dev up: %v", err)
	}
	t.Logf("kfed dev up --clusters 3 took %s", time.Since(start).Round(100*time.Millisecond))
	for _, m := range framework.Members[:3] {
		if !strings.Contains(out, m.Name) {
			t.Errorf("want member %s named in the output of dev up", m.Name)
		}
	}
	var members map[string]client.Client
	w.host, members = w.clients(t)
	w.members = members
	if len(w.members) != 3 {
		t.Fatalf("want three member contexts in %s, got %d", w.kubeconfig, len(w.members))
	}
}

// clients returns a client of the host and one per member context of the federation's kubeconfig.
func (w *walkthrough) clients(t *testing.T) (client.Client, map[string]client.Client) {
	t.Helper()
	raw, err := clientcmd.LoadFromFile(w.kubeconfig)
	if err != nil {
		t.Fatalf("reading %s: %v", w.kubeconfig, err)
	}
	members := map[string]client.Client{}
	var host client.Client
	for name := range raw.Contexts {
		c := newClient(t, *raw, name)
		if name == hostCtx {
			host = c
		} else {
			members[name] = c
		}
	}
	if host == nil {
		t.Fatalf("no context %q in %s", hostCtx, w.kubeconfig)
	}
	return host, members
}

func newClient(t *testing.T, raw clientcmdapi.Config, contextName string) client.Client {
	t.Helper()
	cfg, err := clientcmd.NewNonInteractiveClientConfig(raw, contextName, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		t.Fatalf("context %s: %v", contextName, err)
	}
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit: the test polls
	cfg.Timeout = 10 * time.Second
	scheme, err := controllers.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("client of context %s: %v", contextName, err)
	}
	return c
}

// statusRow matches the row of a cluster in the clusters table of `kfed status`; ready is a
// regular expression.
func statusRow(name, ready, region, zone string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s+` + ready + `\s+` + regexp.QuoteMeta(region) + `\s+` + regexp.QuoteMeta(zone) + `\s`)
}

func (w *walkthrough) status(t *testing.T) {
	g := NewWithT(t)
	out, err := w.kfed(t, "--kubeconfig", w.kubeconfig, "status")
	g.Expect(err).NotTo(HaveOccurred())
	for _, m := range framework.Members[:3] {
		g.Expect(out).To(MatchRegexp(statusRow(m.Name, "True", m.Region, m.Zone).String()))
	}
	var clusters v1alpha1.FederatedClusterList
	g.Expect(w.host.List(t.Context(), &clusters)).To(Succeed())
	g.Expect(clusters.Items).To(HaveLen(3))
	for _, fc := range clusters.Items {
		g.Expect(meta.IsStatusConditionTrue(fc.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue(), "cluster %s Ready", fc.Name)
		g.Expect(fc.Status.Region).NotTo(BeEmpty(), "cluster %s has its region discovered", fc.Name)
		g.Expect(fc.Status.Nodes).To(BeNumerically(">", 0), "cluster %s counts its nodes", fc.Name)
	}
}

// memberDeployments returns, per member, the app's Deployment (desired and ready replicas) in
// the members it can read.
func (w *walkthrough) memberDeployments(g Gomega, names ...string) map[string][2]int32 {
	got := map[string][2]int32{}
	for _, name := range names {
		d := &appsv1.Deployment{}
		g.Expect(w.members[name].Get(context.Background(), client.ObjectKey{Namespace: appNS, Name: app}, d)).To(Succeed(), "member %s", name)
		g.Expect(d.Spec.Replicas).NotTo(BeNil())
		got[name] = [2]int32{*d.Spec.Replicas, d.Status.ReadyReplicas}
	}
	return got
}

func (w *walkthrough) memberNames() []string {
	names := make([]string, 0, len(w.members))
	for _, m := range framework.Members[:3] {
		names = append(names, m.Name)
	}
	return names
}

func (w *walkthrough) spread(t *testing.T) {
	g := NewWithT(t)
	applied := time.Now()
	_, err := w.kubectl(t, "--context", hostCtx, "apply", "-f", filepath.Join(framework.RepoRoot(), sampleRel))
	g.Expect(err).NotTo(HaveOccurred())

	g.Eventually(func(g Gomega) {
		got := w.memberDeployments(g, w.memberNames()...)
		var sum int32
		for name, n := range got {
			g.Expect(n[0]).To(BeElementOf(int32(333), int32(334)), "desired replicas in %s", name)
			g.Expect(n[1]).To(Equal(n[0]), "Ready replicas in %s", name)
			sum += n[0]
		}
		g.Expect(sum).To(Equal(int32(total)))
	}).WithTimeout(3*time.Minute).WithPolling(time.Second).Should(Succeed(), "1,000 replicas spread 334/333/333 and Ready")
	t.Logf("1,000 replicas spread and Ready %s after kubectl apply", time.Since(applied).Round(100*time.Millisecond))

	fd := &v1alpha1.FederatedDeployment{}
	g.Eventually(func(g Gomega) {
		g.Expect(w.host.Get(context.Background(), client.ObjectKey{Namespace: appNS, Name: app}, fd)).To(Succeed())
		g.Expect(fd.Status.ReadyReplicas).To(Equal(int32(total)))
		g.Expect(meta.IsStatusConditionTrue(fd.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
	}).WithTimeout(time.Minute).Should(Succeed(), "the FederatedDeployment reports 1,000 Ready")
	_, _ = w.kubectl(t, "--context", hostCtx, "get", "fdeploy", app)

	// The FederatedService: a LoadBalancer Service in every member, with a simulated address.
	g.Eventually(func(g Gomega) {
		for i, name := range w.memberNames() {
			svc := &corev1.Service{}
			g.Expect(w.members[name].Get(context.Background(), client.ObjectKey{Namespace: appNS, Name: app}, svc)).To(Succeed(), "member %s", name)
			g.Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeLoadBalancer))
			g.Expect(svc.Status.LoadBalancer.Ingress).To(ContainElement(
				HaveField("IP", HavePrefix(fmt.Sprintf("127.0.%d.", 10+i)))), "simulated address in %s", name)
		}
	}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
	out, err := w.kfed(t, "--kubeconfig", w.kubeconfig, "status")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("FederatedDeployment"))
}

// apiServerPID returns the pid of the kube-apiserver that `kfed dev` runs for member name: the
// one whose certificates are in the member's folder under the federation's.
func apiServerPID(t *testing.T, dir, name string) int {
	t.Helper()
	certDir := "--cert-dir=" + filepath.Join(dir, name, "certs")
	var pids []int
	for _, p := range processesUnder(dir) {
		if strings.Contains(p.cmdline, "kube-apiserver") && strings.Contains(p.cmdline, certDir+" ") {
			pids = append(pids, p.pid)
		}
	}
	if len(pids) != 1 {
		t.Fatalf("want one kube-apiserver with %s, found %v", certDir, pids)
	}
	return pids[0]
}

func (w *walkthrough) memberFailure(t *testing.T) {
	g := NewWithT(t)
	names := w.memberNames()
	w.victim = names[2]
	others := names[:2]
	pid := apiServerPID(t, w.dir, w.victim)
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the API server of %s (pid %d): %v", w.victim, pid, err)
	}
	t.Logf("killed the API server of %s (pid %d)", w.victim, pid)

	g.Eventually(func(g Gomega) {
		fc := &v1alpha1.FederatedCluster{}
		g.Expect(w.host.Get(context.Background(), client.ObjectKey{Name: w.victim}, fc)).To(Succeed())
		g.Expect(meta.IsStatusConditionFalse(fc.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
	}).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(Succeed(), "the dead member is not Ready")
	t.Logf("%s NotReady %s after its API server died", w.victim, time.Since(killed).Round(100*time.Millisecond))

	var moved time.Duration
	g.Eventually(func(g Gomega) {
		got := w.memberDeployments(g, others...)
		for _, name := range others {
			g.Expect(got[name][0]).To(Equal(int32(500)), "desired replicas in %s", name)
		}
		if moved == 0 {
			moved = time.Since(killed)
		}
		for _, name := range others {
			g.Expect(got[name][1]).To(Equal(int32(500)), "Ready replicas in %s", name)
		}
	}).WithTimeout(3*time.Minute).WithPolling(time.Second).Should(Succeed(), "500/500 on the two live members, Ready")
	t.Logf("500/500 desired on %v %s after the API server of %s died; Ready %s after",
		others, moved.Round(100*time.Millisecond), w.victim, time.Since(killed).Round(100*time.Millisecond))

	out, err := w.kfed(t, "--kubeconfig", w.kubeconfig, "status")
	g.Expect(err).NotTo(HaveOccurred())
	victim := framework.Members[2]
	g.Expect(out).To(MatchRegexp(statusRow(victim.Name, `False \(\w+\)`, victim.Region, victim.Zone).String()))
}

func (w *walkthrough) joinUnjoin(t *testing.T) {
	g := NewWithT(t)
	fourth := framework.Members[3]
	start := time.Now()
	c, err := framework.StartCluster(t.Context(), framework.ClusterOptions{Topology: fourth, Full: true, Nodes: 2, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stopping %s: %v", fourth.Name, err)
		}
	}()
	t.Logf("started %s in %s", fourth.Name, time.Since(start).Round(100*time.Millisecond))

	// The user's kubeconfig: the federation's, plus a file with the new cluster's context.
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	g.Expect(writeContext(c.Kubeconfig, fourth.Name, kc)).To(Succeed())
	env := []string{"KUBECONFIG=" + w.kubeconfig + string(os.PathListSeparator) + kc}

	start = time.Now()
	_, err = runCmd(t, env, kfedBin, "join", fourth.Name, "--cluster-context", fourth.Name, "--host-context", hostCtx)
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("kfed join %s: Ready in %s", fourth.Name, time.Since(start).Round(100*time.Millisecond))
	out, err := runCmd(t, env, kfedBin, "status", "--host-context", hostCtx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(statusRow(fourth.Name, "True", fourth.Region, fourth.Zone).String()))
	out, err = runCmd(t, env, kfedBin, "join", fourth.Name, "--cluster-context", fourth.Name, "--host-context", hostCtx)
	g.Expect(err).To(HaveOccurred(), "a second join of the same name is refused")
	g.Expect(out).To(ContainSubstring("cluster " + fourth.Name + " is already joined"))

	// No --cluster-context: unjoin finds the member by the context whose server is its endpoint.
	_, err = runCmd(t, env, kfedBin, "unjoin", fourth.Name, "--host-context", hostCtx)
	g.Expect(err).NotTo(HaveOccurred())
	err = w.host.Get(t.Context(), client.ObjectKey{Name: fourth.Name}, &v1alpha1.FederatedCluster{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the FederatedCluster is gone: %v", err)
	err = w.host.Get(t.Context(), client.ObjectKey{Namespace: operator, Name: fourth.Name}, &corev1.Secret{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the credential Secret is gone: %v", err)
	err = c.Client.Get(t.Context(), client.ObjectKey{Namespace: operator, Name: "kfed-member-" + fourth.Name}, &corev1.ServiceAccount{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the member's ServiceAccount is gone: %v", err)
	out, err = w.kfed(t, "--kubeconfig", w.kubeconfig, "status")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).NotTo(ContainSubstring(fourth.Name))
	// The walkthrough's app did not move: the two live members still carry it all.
	g.Expect(w.memberDeployments(g, w.memberNames()[:2]...)).To(HaveEach([2]int32{500, 500}))
}

// writeContext writes a kubeconfig whose only context, cluster and user are all named name.
func writeContext(kubeconfig []byte, name, path string) error {
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return err
	}
	kctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return fmt.Errorf("the kubeconfig of %s has no current context", name)
	}
	out := clientcmdapi.NewConfig()
	out.Clusters[name] = cfg.Clusters[kctx.Cluster]
	out.AuthInfos[name] = cfg.AuthInfos[kctx.AuthInfo]
	out.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	return clientcmd.WriteToFile(*out, path)
}

func (w *walkthrough) devDown(t *testing.T) {
	if len(processesUnder(w.dir)) < 3*5 {
		t.Errorf("want the federation's processes running before down, got %v", processesUnder(w.dir))
	}
	w.down = true
	start := time.Now()
	if _, err := w.kfed(t, "dev", "down", "--dir", w.dir); err != nil {
		t.Fatalf("kfed dev down: %v", err)
	}
	t.Logf("kfed dev down took %s", time.Since(start).Round(100*time.Millisecond))
	if left := processesUnder(w.dir); len(left) > 0 {
		t.Fatalf("processes left under %s after kfed dev down: %v", w.dir, left)
	}
}

// process is one running process.
type process struct {
	pid     int
	cmdline string
}

func (p process) String() string { return strconv.Itoa(p.pid) + ": " + p.cmdline }

// processesUnder reads /proc for the processes whose command line contains dir (this test's
// own process excepted).
func processesUnder(dir string) []process {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var found []process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		if cmdline := strings.ReplaceAll(string(raw), "\x00", " "); strings.Contains(cmdline, dir) {
			found = append(found, process{pid: pid, cmdline: cmdline})
		}
	}
	return found
}
