package framework

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Kubectl runs bin/kubectl against c as a user would, and returns its output; a failure ends
// the test with kubectl's own words.
func Kubectl(t *testing.T, c *Cluster, args ...string) string {
	t.Helper()
	out, err := KubectlRun(t, c, args...)
	if err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
	return out
}

// KubectlRun is Kubectl that returns the error instead of ending the test.
func KubectlRun(t *testing.T, c *Cluster, args ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(ToolsDir(), "kubectl")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("kubectl not found in %s: run `make tools` first", ToolsDir())
	}
	kubeconfig := filepath.Join(t.TempDir(), "cluster.kubeconfig")
	if err := os.WriteFile(kubeconfig, c.Kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), bin, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
	return string(out), err
}

// TableCell reads the cell under column of the one row of kubectl get's table: cells start
// where their header starts, so an empty cell reads as "".
func TableCell(t *testing.T, out, column string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("kubectl get: want a header and one row, got:\n%s", out)
	}
	header, row := lines[0], lines[1]
	start := strings.Index(" "+header+" ", " "+column+" ")
	if start < 0 {
		t.Fatalf("kubectl get: no column %s in:\n%s", column, out)
	}
	end := len(row)
	if next := strings.IndexFunc(header[start+len(column):], func(r rune) bool { return r != ' ' }); next >= 0 {
		end = min(end, start+len(column)+next)
	}
	if start >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[start:end])
}
