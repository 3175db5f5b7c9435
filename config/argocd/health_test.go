package argocd_test

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"

	"github.com/kfed-io/kfed/config/argocd"
)

// repoRoot is where the generated paths are relative to; tests run in config/argocd.
const repoRoot = "../.."

// runHealth runs a health script on obj as Argo CD runs a check set in argocd-cm: a gopher-lua
// state with only the base and table libraries open, the object in the global obj, a
// one-second deadline, and the table the script returns read for status and message.
func runHealth(script string, obj map[string]any) (argocd.HealthStatus, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		l.Push(l.NewFunction(lib.open))
		l.Push(lua.LString(lib.name))
		if err := l.PCall(1, 0, nil); err != nil {
			return argocd.HealthStatus{}, fmt.Errorf("opening the %q library: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return argocd.HealthStatus{}, fmt.Errorf("running the script: %w", err)
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return argocd.HealthStatus{}, fmt.Errorf("the script returned a %s, not a table", l.Get(-1).Type())
	}
	status, ok := ret.RawGetString("status").(lua.LString)
	if !ok {
		return argocd.HealthStatus{}, fmt.Errorf("the script returned no string status but %s", ret.RawGetString("status").Type())
	}
	hs := argocd.HealthStatus{Status: string(status)}
	switch m := ret.RawGetString("message").(type) {
	case lua.LString:
		hs.Message = string(m)
	case *lua.LNilType:
	default:
		return argocd.HealthStatus{}, fmt.Errorf("the script returned a %s message, not a string", m.Type())
	}
	return hs, nil
}

// toLua converts decoded JSON into Lua values: objects and arrays become tables, numbers
// LNumber (as Argo CD does for the int64 and float64 it gets from the API server).
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for key, item := range v {
			t.RawSetString(key, toLua(l, item))
		}
		return t
	}
	panic(fmt.Sprintf("toLua: unexpected %T in decoded YAML", v))
}

func readYAML(t *testing.T, file string, into any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// TestHealthChecks runs every committed health.lua on every case of its health_test.yaml.
func TestHealthChecks(t *testing.T) {
	tests, err := filepath.Glob(filepath.Join(argocd.Group, "*", "health_test.yaml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no health_test.yaml under %s (%v)", argocd.Group, err)
	}
	cases := 0
	seen := map[string]bool{}
	for _, testFile := range tests {
		dir := filepath.Dir(testFile)
		kind := filepath.Base(dir)
		script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
		if err != nil {
			t.Fatalf("%s has a health_test.yaml but no health.lua: %v", kind, err)
		}
		var tf argocd.TestFile
		readYAML(t, testFile, &tf)
		if len(tf.Tests) == 0 {
			t.Errorf("%s lists no tests", testFile)
		}
		for _, tc := range tf.Tests {
			t.Run(kind+"/"+strings.TrimSuffix(filepath.Base(tc.InputPath), ".yaml"), func(t *testing.T) {
				var obj map[string]any
				readYAML(t, filepath.Join(dir, tc.InputPath), &obj)
				if obj["kind"] != kind {
					t.Fatalf("%s is a %v, not a %s", tc.InputPath, obj["kind"], kind)
				}
				got, err := runHealth(string(script), obj)
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.HealthStatus {
					t.Errorf("got %+v, want %+v", got, tc.HealthStatus)
				}
			})
			cases++
			seen[kind+"/"+filepath.Base(tc.InputPath)] = true
		}
	}
	// The situations the issue names, for the kinds that have them.
	for _, must := range []string{
		"FederatedDeployment/healthy_converged.yaml", "FederatedDeployment/progressing_no_status.yaml",
		"FederatedDeployment/progressing_generation_behind.yaml", "FederatedDeployment/progressing_reconciling.yaml",
		"FederatedDeployment/degraded_stalled_invalid.yaml", "FederatedCluster/degraded_probe_failed.yaml",
	} {
		if !seen[must] {
			t.Errorf("no case %s", must)
		}
	}
	t.Logf("%d cases in %d health_test.yaml files", cases, len(tests))
}

// TestEveryKindHasAHealthCheck checks that every CRD kfed ships has a check, so a new kind
// cannot land without one.
func TestEveryKindHasAHealthCheck(t *testing.T) {
	crds, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs (%v)", err)
	}
	for _, f := range crds {
		var crd struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
			} `json:"spec"`
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		kind := crd.Spec.Names.Kind
		if crd.Spec.Group != argocd.Group || !slices.ContainsFunc(argocd.Kinds, func(k argocd.Kind) bool { return k.Name == kind }) {
			t.Errorf("CRD %s (%s/%s) has no Argo CD health check: add it to Kinds in config/argocd/argocd.go and run `make argocd`",
				filepath.Base(f), crd.Spec.Group, kind)
			continue
		}
		if _, err := os.Stat(filepath.Join(argocd.Group, kind, "health.lua")); err != nil {
			t.Errorf("kind %s: %v (run `make argocd`)", kind, err)
		}
	}
}

// TestGeneratedFilesAreCurrent fails when the committed checks, cases or docs/argocd.md differ
// from what `make argocd` writes, or when a generated folder holds a file it would not write.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	files, err := argocd.Files()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s: %v (run `make argocd`)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what `make argocd` writes: run it and commit the result", name)
		}
	}
	err = filepath.WalkDir(argocd.Group, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, ok := files[filepath.ToSlash(filepath.Join(argocd.Dir, p))]; !ok {
			t.Errorf("%s is not generated by `make argocd`: remove it or add it to config/argocd/argocd.go", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// progressReasons are the Ready reasons of api/v1alpha1 that mean "not yet": the script must
// call Ready=False with them Progressing, and Degraded with every other reason.
var progressReasons = []string{"ProbeSucceeded", "Probing", "Propagated", "Propagating", "NoClusters", "Published", "Disabled", "ProviderReady",
	"AddressReady", "WaitingForAddress", "UIDNotShared", "NoHealthyCluster"}

// TestEveryReasonIsClassified runs the script on Ready=False with each Reason constant of
// api/v1alpha1, so a reason added to the API is classified here before it ships.
func TestEveryReasonIsClassified(t *testing.T) {
	reasons := apiReasons(t)
	if len(reasons) < 10 {
		t.Fatalf("found only %d reasons in api/v1alpha1: %v", len(reasons), reasons)
	}
	for _, reason := range reasons {
		want := "Degraded"
		if slices.Contains(progressReasons, reason) {
			want = "Progressing"
		}
		obj := map[string]any{
			"kind": "FederatedDeployment", "metadata": map[string]any{"generation": float64(1)},
			"status": map[string]any{"observedGeneration": float64(1), "conditions": []any{
				map[string]any{"type": "Ready", "status": "False", "reason": reason, "message": "m"},
			}},
		}
		got, err := runHealth(argocd.Script, obj)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != want {
			t.Errorf("Ready=False reason %s: got %s, want %s (a reason someone must act on belongs in failureReasons of "+
				"config/argocd/health.lua; one that means \"not yet\" in progressReasons of this test)", reason, got.Status, want)
		}
	}
}

// apiReasons returns the values of the Reason* string constants of api/v1alpha1.
func apiReasons(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(repoRoot, "api", "v1alpha1", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range spec.Names {
				if !strings.HasPrefix(name.Name, "Reason") || i >= len(spec.Values) {
					continue
				}
				if lit, ok := spec.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					reasons = append(reasons, v)
				}
			}
			return true
		})
	}
	return reasons
}

// TestRunnerOpensOnlyBaseAndTable proves the runner is as strict as Argo CD: a script that
// reaches for the string library fails.
func TestRunnerOpensOnlyBaseAndTable(t *testing.T) {
	if _, err := runHealth(`return {status = string.upper("healthy")}`, map[string]any{}); err == nil {
		t.Fatal("a script using the string library ran; the runner must open only base and table")
	}
	got, err := runHealth(`local t = {} table.insert(t, "Healthy") return {status = t[1], message = tostring(#t)}`, map[string]any{})
	if err != nil || got != (argocd.HealthStatus{Status: "Healthy", Message: "1"}) {
		t.Fatalf("a script using base and table: got %+v, %v", got, err)
	}
}
