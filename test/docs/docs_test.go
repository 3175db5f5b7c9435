// Package docs_test keeps README.md and docs/ honest: every shell command they show is one a
// test runs (or a make target), and every condition reason and phase kfed sets, and every reason
// of a replica plan, is in the tables that explain it.
package docs_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kfed-io/kfed/test/framework"
)

// known maps each command shown in README.md and docs/ to what runs it: "<package dir>
// <TestName>" for a test that runs that command (or the same with the test's own names and
// paths), "Makefile <target>" for a make target. A command added to the docs fails this test
// until it is added here with the test that runs it.
var known = map[string]string{
	"make demo":  "Makefile demo",
	"make test":  "Makefile test",
	"make tools": "Makefile tools",
	"make e2e":   "Makefile e2e",
	"make bench": "Makefile bench",
	"make build": "Makefile build",
	"KUBEBUILDER_ASSETS=$PWD/bin go test ./controllers/ -run TestDeadMemberReplicasMoveAndComeBack -v": "controllers TestDeadMemberReplicasMoveAndComeBack",
	"KFED_TEST_VERBOSE=1 KUBEBUILDER_ASSETS=$PWD/bin go test ./controllers/ -run TestRotated -v":       "controllers TestRotatedCredentialsArePickedUp",
	"kubectl apply --server-side -k config/default":                                                    "test/crd TestKubectlApplyNeedsServerSide",
	"helm install kfed charts/kfed --namespace kfed-system --create-namespace":                         "test/chart TestChartInstallUpgradeUninstall",
	"helm uninstall kfed --namespace kfed-system":                                                      "test/chart TestChartInstallUpgradeUninstall",
	"kfed join cluster-us-east1-b --cluster-context cluster-us-east1-b --host-context federation":      "test/e2e TestWalkthrough",
	"kfed unjoin cluster-us-east1-b --host-context federation":                                         "test/e2e TestWalkthrough",
	"kfed federate -f app.yaml | kubectl --context federation apply -f -":                              "internal/cli TestFederateFromStdin",
	"kubectl get fdeploy k8shserver":                                                                   "test/e2e TestWalkthrough",
	"kubectl wait --for=condition=Ready federateddeployment/k8shserver --timeout=5m":                   "controllers TestKubectlWaitForReadyOnEveryKind",
	"bin/kfed dev up":                          "test/e2e TestWalkthrough",
	"bin/kfed dev down":                        "test/e2e TestWalkthrough",
	"export KUBECONFIG=~/.kfed/dev/kubeconfig": "test/e2e TestWalkthrough",
	"helm install kfed charts/kfed --namespace kfed-system --create-namespace --take-ownership": "test/chart TestHelmIntoTheLocalFederation",
	"kubectl get kfed -A": "controllers TestKubectlWaitForReadyOnEveryKind",
	"KUBEBUILDER_ASSETS=$PWD/bin go test ./test/dnscontroller/ -v": "Makefile test",
	// TestInitDNSFlags runs init --dry-run with each provider's flags (builtin on 127.0.0.1:5353).
	"kfed init --dns-domain example.com --dns-provider builtin --dns-listen 0.0.0.0:5353":                        "internal/cli TestInitDNSFlags",
	"kfed init --dns-domain example.com --dns-provider coredns --dns-etcd-endpoints http://etcd:2379":            "internal/cli TestInitDNSFlags",
	"kfed init --dns-domain example.com --dns-provider rfc2136 --dns-server 10.0.0.53:53 --dns-tsig-secret tsig": "internal/cli TestInitDNSFlags",
	"kfed init --dns-domain example.com --dns-provider externaldns":                                              "internal/cli TestInitDNSFlags",
}

// docFiles are README.md and every page of docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(framework.RepoRoot(), "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join(framework.RepoRoot(), "README.md")}, pages...)
}

// shellLanguages are the fence languages whose lines are commands.
var shellLanguages = []string{"sh", "bash", "shell", "console"}

// commands returns the commands of the shell blocks of a Markdown file, continuation lines
// joined, prompts and trailing comments dropped, spaces collapsed. An opening fence without a
// language is an error: a command must not hide in a block this test does not read.
func commands(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var cmds []string
	inBlock, shell, pending := false, false, ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if inBlock {
				inBlock = false
				continue
			}
			lang := strings.TrimPrefix(trimmed, "```")
			if lang == "" {
				t.Errorf("%s:%d: a code block without a language (```sh for commands, ```text for output)", filepath.Base(path), n)
			}
			inBlock, shell = true, slices.Contains(shellLanguages, lang)
			continue
		}
		if !inBlock || !shell || trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		trimmed = strings.TrimPrefix(trimmed, "$ ")
		if i := strings.Index(trimmed, " # "); i >= 0 {
			trimmed = trimmed[:i]
		}
		if strings.HasSuffix(trimmed, `\`) {
			pending += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		cmds = append(cmds, strings.Join(strings.Fields(pending+trimmed), " "))
		pending = ""
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}

func TestEveryDocumentedCommandIsKnown(t *testing.T) {
	used := map[string]bool{}
	for _, path := range docFiles(t) {
		for _, cmd := range commands(t, path) {
			used[cmd] = true
			if _, ok := known[cmd]; !ok {
				t.Errorf("%s shows a command no test is known to run: %q; run it in a test and add it to known in test/docs", filepath.Base(path), cmd)
			}
		}
	}
	makefile, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for cmd, by := range known {
		if !used[cmd] {
			t.Errorf("known lists %q, which no page shows any more: remove it", cmd)
		}
		where, name, _ := strings.Cut(by, " ")
		if where == "Makefile" {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `:`).Match(makefile) {
				t.Errorf("%q: the Makefile has no target %s", cmd, name)
			}
			continue
		}
		if !hasTest(t, filepath.Join(framework.RepoRoot(), where), name) {
			t.Errorf("%q is said to be run by %s in %s, which has no such test", cmd, name, where)
		}
	}
}

// hasTest tells whether a package folder has a test function of that name.
func hasTest(t *testing.T, dir, name string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "func "+name+"(t *testing.T)") {
			return true
		}
	}
	return false
}

// stringConstants returns the values of the string constants of a package folder whose names
// start with one of prefixes (tests excluded).
func stringConstants(t *testing.T, dir string, prefixes ...string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) || !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name.Name, p) }) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					values[name.Name] = v
				}
			}
		}
	}
	return values
}

// tableKeys returns the first cells of the table rows of a Markdown file, backticks removed.
func tableKeys(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || strings.TrimSpace(cells[0]) != "" {
			continue
		}
		keys[strings.Trim(strings.TrimSpace(cells[1]), "`")] = true
	}
	return keys
}

// TestEveryReasonHasItsRow fails when docs/troubleshooting.md has no row for a condition reason
// or a phase of api/v1alpha1, or docs/replicas.md none for a reason of status.plan, so that a
// reason added later is explained.
func TestEveryReasonHasItsRow(t *testing.T) {
	for _, tc := range []struct {
		pkg      string
		prefixes []string
		doc      string
		atLeast  int
	}{
		{"api/v1alpha1", []string{"Reason", "Phase"}, "docs/troubleshooting.md", 20},
		{"internal/scheduler", []string{"Reason"}, "docs/replicas.md", 5},
	} {
		reasons := stringConstants(t, filepath.Join(framework.RepoRoot(), tc.pkg), tc.prefixes...)
		if len(reasons) < tc.atLeast {
			t.Fatalf("found only %d reasons in %s: %v", len(reasons), tc.pkg, reasons)
		}
		rows := tableKeys(t, filepath.Join(framework.RepoRoot(), tc.doc))
		for name, value := range reasons {
			if !rows[value] {
				t.Errorf("%s has no row for %s.%s (%q): say what it means and what to do", tc.doc, tc.pkg, name, value)
			}
		}
		t.Logf("%s: %d reasons of %s, each with a row", tc.doc, len(reasons), tc.pkg)
	}
}
