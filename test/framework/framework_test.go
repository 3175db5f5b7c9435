package framework_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/test/framework"
)

// processesUnder lists the command lines of running processes that mention dir.
func processesUnder(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if s := strings.ReplaceAll(string(cmdline), "\x00", " "); strings.Contains(s, dir) {
			found = append(found, e.Name()+": "+s)
		}
	}
	return found
}

func TestFullMemberRunsADeploymentAndStopsClean(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	c, err := framework.StartCluster(ctx, framework.ClusterOptions{Topology: framework.Members[2], Full: true, Nodes: 2, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop()
		}
	}()
	if len(processesUnder(t, dir)) < 3 {
		t.Fatalf("want the controller manager, scheduler and kwok running, got %v", processesUnder(t, dir))
	}

	replicas := int32(20)
	labels := map[string]string{"app": "k8shserver"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "k8shserver"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "k8shserver:1.0"}}},
			},
		},
	}
	if err := c.Client.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
			t.Fatal(err)
		}
		if d.Status.ReadyReplicas == replicas {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Deployment has %d of %d replicas Ready after 2 minutes", d.Status.ReadyReplicas, replicas)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%d replicas Ready %s after creation", replicas, time.Since(start).Round(100*time.Millisecond))

	var pods corev1.PodList
	if err := c.Client.List(ctx, &pods, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if !strings.HasPrefix(p.Spec.NodeName, c.Name+"-node-") {
			t.Fatalf("pod %s is on node %q, not one of the fake nodes", p.Name, p.Spec.NodeName)
		}
	}

	stopped = true
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if left := processesUnder(t, dir); len(left) > 0 {
		t.Fatalf("processes left after Stop: %v", left)
	}
}

func TestStartWithoutToolsSaysHowToBuildThem(t *testing.T) {
	t.Setenv("KFED_TOOLS_DIR", t.TempDir())
	_, err := framework.StartCluster(context.Background(), framework.ClusterOptions{Topology: framework.Members[0]})
	if err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("want an error that says to run make tools, got %v", err)
	}
}
