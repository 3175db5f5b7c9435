package install_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kfed-io/kfed/config"
	"github.com/kfed-io/kfed/internal/cli/install"
)

// TestManifestsHoldEveryConfigFile checks that what kfed init installs is every CRD of
// config/crd/bases plus RBAC, admission policies and the manager, CRDs and namespaces first.
func TestManifestsHoldEveryConfigFile(t *testing.T) {
	objs, err := install.Manifests(config.FS, config.Root)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRD files found: %v", err)
	}
	var crds []string
	kinds := make([]string, 0, len(objs))
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
		if o.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, o.GetName())
		}
	}
	if len(crds) != len(files) {
		t.Errorf("want %d CRDs (one per file in config/crd/bases), got %d: %v", len(files), len(crds), crds)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The file name is <group>_<plural>.yaml and the CRD's name is <plural>.<group>.
		base := filepath.Base(f)
		group, plural := base[:len(base)-len(filepath.Ext(base))], ""
		if i := slices.Index([]byte(group), '_'); i >= 0 {
			group, plural = group[:i], group[i+1:]
		}
		if !slices.Contains(crds, plural+"."+group) {
			t.Errorf("CRD %s.%s (%s, %d bytes) is not installed", plural, group, f, len(raw))
		}
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy",
		"ValidatingAdmissionPolicyBinding", "Deployment"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("no %s among %v", k, kinds)
		}
	}
	if kinds[0] != "CustomResourceDefinition" || kinds[len(kinds)-1] != "Deployment" {
		t.Errorf("want CRDs first and the Deployment last, got %v", kinds)
	}
}
