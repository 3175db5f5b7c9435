package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeDeadContext writes the test kubeconfig plus a context "dead", the current one, which points
// at a port nothing listens on.
func writeDeadContext(t *testing.T) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clusters["dead"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	cfg.AuthInfos["dead"] = &clientcmdapi.AuthInfo{Token: "not-a-real-token"}
	cfg.Contexts["dead"] = &clientcmdapi.Context{Cluster: "dead", AuthInfo: "dead"}
	cfg.CurrentContext = "dead"
	path := filepath.Join(t.TempDir(), "dead.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEveryCommandHasHelpWithAnExample(t *testing.T) {
	for _, cmd := range []string{"", "version", "init", "join", "unjoin", "federate", "status", "dev", "dev up", "dev down"} {
		t.Run("kfed "+cmd, func(t *testing.T) {
			args := strings.Fields(cmd + " --help")
			r := kfed(t, "", args...)
			wantOK(t, r)
			if !strings.Contains(r.out, "Examples:") || !strings.Contains(r.out, "Usage:") {
				t.Errorf("help has no Examples or Usage:\n%s", r.out)
			}
		})
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	dead := writeDeadContext(t)
	tests := []struct {
		name  string
		args  []string
		parts []string
	}{
		{"unknown flag", []string{"join", "x", "--cluster-context", "c", "--bogus"}, []string{"unknown flag: --bogus", "kfed join --help"}},
		{"missing flag", []string{"join", "x"}, []string{`required flag(s) "cluster-context" not set`}},
		{"missing name", []string{"unjoin"}, []string{"unjoin takes exactly one cluster NAME"}},
		{"bad duration", []string{"unjoin", "x", "--wait", "soon"}, []string{`invalid argument "soon"`}},
		{"unknown command", []string{"jion"}, []string{`unknown command "jion"`}},
		{"bad access", []string{"join", "x", "--cluster-context", "c", "--access", "admin"}, []string{`--access must be "all"`}},
		{"unknown host context", []string{"status", "--host-context", "nowhere"}, []string{`context "nowhere" not found`}},
		{"unreachable host", []string{"--kubeconfig", dead, "status"}, []string{`host cluster of context "dead" (https://127.0.0.1:1) is unreachable`}},
		{"unreachable host for init", []string{"--kubeconfig", dead, "init", "--wait", "0"}, []string{"is unreachable"}},
		{"missing kubeconfig", []string{"--kubeconfig", "/nonexistent/kubeconfig", "status"}, []string{"/nonexistent/kubeconfig"}},
		{"federate without a file", []string{"federate"}, []string{"federate needs -f FILE"}},
		{"federate of a missing file", []string{"federate", "-f", "/nonexistent.yaml"}, []string{"reading /nonexistent.yaml"}},
		{"bad output format", []string{"federate", "-f", "-", "-o", "xml"}, []string{`unknown output format "xml"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := kfed(t, "", tt.args...)
			wantError(t, r, tt.parts...)
			if strings.Contains(r.out+r.errOut, "Usage:") || strings.Contains(r.errOut, "goroutine") {
				t.Errorf("want no usage dump or stack trace, got:\n%s", r)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := kfed(t, "", "version")
	wantOK(t, r)
	if !strings.HasPrefix(r.out, "kfed ") {
		t.Errorf("got %q", r.out)
	}
}

func TestFederateFromStdin(t *testing.T) {
	in := `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: web}
data: {mode: prod}
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: web}
stringData: {password: hunter2-very-secret}
`
	r := kfed(t, in, "federate", "-f", "-")
	wantOK(t, r)
	for _, want := range []string{"kind: FederatedConfigMap", "mode: prod", "kind: FederatedSecret", "secretRef:"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out+r.errOut, "hunter2") {
		t.Errorf("secret data was printed:\n%s", r)
	}
	if !strings.Contains(r.errOut, "Note: Secret web/db") {
		t.Errorf("want a note about the Secret on stderr, got:\n%s", r.errOut)
	}
	if strings.Contains(r.out, "status:") || strings.Contains(r.out, "creationTimestamp") {
		t.Errorf("output carries an empty status or creationTimestamp:\n%s", r.out)
	}
}

func TestRunsAsAKubectlPlugin(t *testing.T) {
	// The display name comes from the program name, as kubectl runs kubectl-kfed.
	exe := filepath.Join(t.TempDir(), "kubectl-kfed")
	if err := os.WriteFile(exe, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := kfedAs(t, exe, "join", "--help")
	wantOK(t, r)
	if !strings.Contains(r.out, "kubectl kfed join NAME") {
		t.Errorf("want usage as kubectl kfed, got:\n%s", r.out)
	}
}

// containsCollapsed says whether s contains want, with runs of spaces in both taken as one.
func containsCollapsed(s, want string) bool {
	collapse := func(x string) string {
		return strings.Join(strings.Split(strings.Join(strings.Fields(x), " "), "\n"), " ")
	}
	return strings.Contains(collapse(s), collapse(want))
}
